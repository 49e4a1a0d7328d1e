// Streams one COPY from a source connection into a COPY on a target
// connection: `COPY ... TO STDOUT` buffers are handed to `COPY ... FROM STDIN`
// as libpq returns them, never decoded and never written to disk. A
// RunCopyPipeline (copy_pipeline.h) with one server source and one server
// sink, phrased for sync. Thread-compatible: each relay uses its own pair of connections.
#pragma once

#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "copy/copy_stream.h"

namespace freshet {

struct RelayResult {
  uint64_t rows = 0;   // rows the target reports loaded (COPY command tag)
  uint64_t bytes = 0;  // stream bytes relayed
};

// Runs `copy_out_sql` on `source` and `copy_in_sql` on `target` and relays
// the stream. `what` names the table in errors. A stop request cancels both
// sides. On any failure the target COPY is ended with an error (so nothing of
// it is kept) and Error is thrown naming `what`, the side and the server's
// message. Both connections are idle afterwards, even on failure.
// `transforms` change each row on the way (masking); none: the stream's
// pieces pass as they are.
RelayResult RelayCopy(Connection& source, const std::string& copy_out_sql, Connection& target,
                      const std::string& copy_in_sql, const std::string& what,
                      StreamCounters* counters, std::stop_token stop,
                      std::vector<RowTransform*> transforms = {});

}  // namespace freshet
