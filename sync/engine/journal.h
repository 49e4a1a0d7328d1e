// The target-side journal that makes interrupted runs recoverable. Before a
// run drops a foreign key or an index or disables a trigger, it records how to
// restore it in _freshet.journal in the same transaction; the entry is deleted
// in the transaction that restores it. Restore() (run at the end of every
// sync, at the start of the next one if a run died, and by `freshet repair`)
// puts back whatever is recorded. Not thread-safe: one Journal per target
// control connection (Restore opens its own extra connections).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "copy/connection.h"
#include "sync/engine/plan.h"

namespace freshet {

// One journal row: something a run set aside and how to put it back.
struct JournalEntry {
  int64_t id = 0;
  std::string kind;  // foreign_key, trigger, index, validate, row_security
  QualifiedName table;
  std::string object;      // constraint, trigger or index name
  std::string definition;  // foreign_key: pg_get_constraintdef; index: pg_get_indexdef
  bool validate = false;
  char enabled = 'O';
  std::string constraint_name;  // index backing a constraint
  std::string constraint_definition;
  bool clustered = false;
  int64_t bytes = 0;
  std::optional<QualifiedName> referenced;  // foreign_key (journals before 0.2 lack it)
  std::vector<PartitionIndex> partitions;   // index on a partitioned table

  std::string Describe() const;
};

struct RestoreOutcome {
  std::vector<std::string> restored;  // human-readable, one per entry
  std::vector<std::string> problems;  // constraints that could not be validated, etc.
};

class Journal {
 public:
  // `target` must outlive the Journal.
  Journal(Connection& target, std::string run_id) : target_(target), run_id_(std::move(run_id)) {}

  // Creates _freshet.journal if missing (needs CREATE on the database).
  void Ensure();
  // True when entries from any run are waiting to be restored.
  bool HasEntries();
  // True when something is still set aside (not only foreign keys waiting
  // for validation).
  bool HasSetAsideEntries();

  // The snapshot files recorded as loaded into this target for `snapshot`
  // (path -> digest of the rows sent), by an earlier restore.
  std::map<std::string, std::string> RestoredFiles(const std::string& snapshot);
  // Forgets every loaded file: the target's tables are truncated again (in
  // the caller's transaction when it has one).
  void ClearRestoredFiles();

  // In the caller's open transaction: record what is about to be set aside
  // (the caller then makes the change, several in one statement where
  // PostgreSQL allows).
  void RecordConstraint(const DeferredConstraint& constraint);
  void RecordTrigger(const TriggerToDisable& trigger);
  void RecordIndex(const DeferredIndex& index);
  void RecordForceRowSecurity(const QualifiedName& table);

  // Every entry still to restore, oldest first.
  std::vector<JournalEntry> Entries();

  // Foreign keys that are back but NOT VALID only because an earlier
  // validation failed: the next load must validate them again.
  std::vector<std::pair<QualifiedName, std::string>> PendingValidations();

  // Restores every entry (any run) on up to `jobs` connections to
  // `target_url`, as RestoreTasks schedules it (sync/restore_tasks.h). What
  // cannot be restored stays journaled and is returned as a problem, never
  // thrown.
  RestoreOutcome Restore(const std::string& target_url, int jobs);

 private:
  Connection& target_;
  std::string run_id_;
};

// In the caller's open transaction on `target` (the one of the file's
// COPY): records that snapshot file `path` is loaded.
void RecordRestoredFile(Connection& target, const std::string& snapshot, const std::string& path,
                        const std::string& row_digest);

// A target connection for rebuild work: sync settings pinned, memory for
// index builds, no waiting for WAL flushes at commit.
Connection OpenRebuildTarget(const std::string& target_url);

}  // namespace freshet
