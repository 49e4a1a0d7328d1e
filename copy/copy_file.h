// COPY streams to and from snapshot data files: a source's COPY ... TO STDOUT
// into a SnapshotFileWriter, and a SnapshotFileReader into COPY ... FROM STDIN
// on one or more targets at once (decompressed once, sent to each). Each call
// uses its own connections; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "copy/copy_relay.h"
#include "copy/copy_rows.h"
#include "copy/snapshot_file.h"

namespace freshet {

struct CaptureResult {
  uint64_t rows = 0;  // from the source's COPY command tag
  RowDigest digest;   // of the rows as captured
  FileDigest file;
};

// Runs `copy_out_sql` on `source` and writes the stream to `writer`, then
// finishes the file. COPY yields one row per message, so rows are digested
// without being parsed (the binary header is split off the first one). A stop
// request cancels the source. Throws Error naming `what`; on failure the
// writer is left unfinished (its destructor removes the file).
// `transforms` change each row before it is written and digested (masking).
CaptureResult CaptureCopy(Connection& source, const std::string& copy_out_sql, StreamFormat format,
                          SnapshotFileWriter& writer, const std::string& what,
                          StreamCounters* counters, std::stop_token stop,
                          std::vector<RowTransform*> transforms = {});

struct RestoreTarget {
  Connection* connection = nullptr;
  std::string copy_in_sql;
  uint64_t rows = 0;                            // set by RestoreCopy: the target's COPY command tag
  std::optional<Error> failure = std::nullopt;  // set by RestoreCopy when this target failed
};

// What one target's failure does to the others in a RestoreCopy.
enum class OnTargetFailure {
  kAbortAll,    // every target's COPY ends with an error; RestoreCopy throws it
  kDropTarget,  // that target's COPY ends (its `failure` says why), the rest go on
};

// Streams `reader` into every target's COPY ... FROM STDIN. When `keep` is
// given (and does not keep every field), rows are projected first; then
// `transforms` (masking) change each row, so every target gets the same rows.
// `projected` (if not null) receives the digest of the rows sent, projected
// and transformed or not (asking for it makes a plain restore parse the
// rows). A corrupt or truncated file or a stop request ends every target's
// COPY with an error (nothing of it is kept) and throws Error naming `what`
// and the reason. A failing target (naming `what`, the target and the
// server's reason in its `failure`) either does the same to all (kAbortAll,
// and RestoreCopy throws its error) or leaves alone (kDropTarget: RestoreCopy
// returns normally, even if every target failed; check each `failure`). All
// connections are idle afterwards. One case is out of reach for kAbortAll: a
// target that fails only when its COPY is ended cannot undo the other
// targets' COPYs, which completed; callers that need all or nothing run the
// restore inside a transaction on each target. Without projection or
// transforms the file is sent as it is, in pieces of about 1 MB (counted as
// `counters` messages). The transforms must outlive the call; they are used
// from the calling thread only.
void RestoreCopy(SnapshotFileReader& reader, StreamFormat format,
                 const std::optional<std::vector<bool>>& keep, std::vector<RestoreTarget>& targets,
                 const std::string& what, StreamCounters* counters, std::stop_token stop,
                 RowDigest* projected = nullptr,
                 OnTargetFailure on_failure = OnTargetFailure::kAbortAll,
                 std::vector<RowTransform*> transforms = {});

// Digest of the rows `copy_out_sql` yields on `connection` (for verifying a
// restored table against the manifest). Throws Error naming `what`.
RowDigest DigestCopy(Connection& connection, const std::string& copy_out_sql, StreamFormat format,
                     const std::string& what, std::stop_token stop);

}  // namespace freshet
