// The one data path of freshet: a COPY stream read from a source, passed row
// by row through a chain of pure transforms, and written to one or more
// sinks (copy_stream.h). Sync relays a server's COPY OUT into a server's COPY
// IN, capture writes one to a file, restore sends a file to several servers,
// verification digests a stream into no sink at all; masking and filters are
// transforms.
//
// Rows are framed only when something needs them (a transform, or a digest);
// otherwise the source's pieces go to the sinks as they are. Waits happen on
// the sockets with the stop token, never inside libpq, so a stop ends the
// stream at once from the thread running it; memory stays bounded (one
// source piece, a batch of transformed rows, and each sink's backlog),
// because reading waits while a sink is backlogged.
//
// RunCopyPipeline reports failures as values; the callers (copy_relay.h,
// copy_file.h) phrase them. Not thread-safe: one thread runs a pipeline,
// whose parts must outlive the call.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "copy/copy_rows.h"
#include "copy/copy_stream.h"
#include "copy/error.h"

namespace freshet {

// What one sink's failure does to the others.
enum class OnSinkFailure {
  kAbortAll,  // every sink's stream ends with an error; the pipeline fails
  kDropSink,  // that sink's stream ends (its failure is recorded); the others go on
};

struct CopyPipelineOptions {
  StreamFormat format = StreamFormat::kBinary;
  std::vector<RowTransform*> transforms;  // applied in order to every row
  RowDigest* digest = nullptr;            // if set: receives the digest of the rows sent
  StreamCounters* counters = nullptr;     // advanced per source piece
  OnSinkFailure on_sink_failure = OnSinkFailure::kAbortAll;
  std::string what = "the COPY stream";  // names the stream in row errors
};

// Why a pipeline stopped before its end.
struct PipelineFailure {
  enum class Stage {
    kSource,   // the source failed (a server's error, an unreadable file)
    kRows,     // a row could not be framed or transformed
    kSink,     // a sink failed, under kAbortAll
    kStopped,  // a stop was requested
  };
  Stage stage;
  size_t sink = 0;  // kSink: which one
  Error error;
};

struct SinkOutcome {
  uint64_t rows = 0;             // what the sink reports taking (a server's COPY tag)
  std::optional<Error> failure;  // why this sink's stream ended early
};

struct CopyPipelineResult {
  uint64_t bytes = 0;                   // stream bytes read from the source
  std::optional<uint64_t> source_rows;  // what the source reported (a server's COPY tag)
  std::vector<SinkOutcome> sinks;       // one per sink
  std::optional<PipelineFailure> failure;
};

// Runs the stream to its end or its first failure. Every sink's stream either
// completed or was ended with an error (so a server keeps nothing of it), and
// every handle is idle afterwards. Under kDropSink the pipeline goes on while
// any sink is left and returns no failure for the sinks it dropped (see each
// SinkOutcome). A sink that fails only when its stream is ended cannot undo
// the other sinks' completed streams; callers that need all or nothing run
// each sink's stream inside a transaction.
CopyPipelineResult RunCopyPipeline(CopySource& source, std::span<CopySink* const> sinks,
                                   const CopyPipelineOptions& options, std::stop_token stop);

}  // namespace freshet
