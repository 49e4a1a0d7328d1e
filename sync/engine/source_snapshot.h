// The source side of a run: one REPEATABLE READ, READ ONLY transaction that
// exports its snapshot, and worker connections that join it with SET
// TRANSACTION SNAPSHOT, so every table is read as of the same instant while
// the source keeps taking writes. The exporting transaction stays open until
// Finish() or destruction. Not thread-safe itself; OpenWorker may be called
// from any thread as it only reads immutable state.
#pragma once

#include <string>

#include "copy/connection.h"

namespace freshet {

class SourceSnapshot {
 public:
  // Connects, begins the transaction and exports the snapshot. Throws Error.
  explicit SourceSnapshot(const std::string& url);

  Connection& control() { return control_; }
  const std::string& snapshot_id() const { return snapshot_id_; }

  // A new connection whose open transaction sees exactly the exported snapshot.
  Connection OpenWorker() const;

  // Ends the exporting transaction (the snapshot becomes unusable).
  void Finish();

 private:
  std::string url_;
  Connection control_;
  std::string snapshot_id_;
};

// Session settings freshet adds on top of Connection's pinned ones: reads and
// writes fail instead of being silently filtered by row-level security.
void PinSyncSettings(Connection& connection);

// PinSyncSettings for connections whose rows' text must read the same on any
// server (the source, and a target read back to verify): search_path is
// pg_catalog alone, so values naming objects (regclass, regproc, ...) come
// out schema-qualified, as names the other side resolves to the same object.
void PinReadSettings(Connection& connection);

}  // namespace freshet
