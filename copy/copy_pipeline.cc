#include "copy/copy_pipeline.h"

#include <fmt/format.h>

#include <algorithm>

#include "copy/row_framer.h"

namespace freshet {
namespace {

using Stage = PipelineFailure::Stage;

// Rows are sent in batches of about this size: a server's messages are one
// row each (about 100 bytes), and handing them to a non-blocking libpq one by
// one costs a send() and a recv() per row while the socket is full (libpq
// tries to send whenever it holds 8 kB). Batching halves the CPU of a relay
// (bench/relay_bench.sh).
constexpr size_t kBatchBytes = size_t{256} << 10;

const char* AbortReason(Stage stage) {
  switch (stage) {
    case Stage::kSource:
      return "the source of the COPY stream failed";
    case Stage::kRows:
      return "the COPY stream cannot be read";
    case Stage::kSink:
      return "another target failed";
    case Stage::kStopped:
      return "freshet run cancelled";
  }
  return "aborted by freshet";
}

// One run of a pipeline. Each step returns false when the stream ended early:
// a failure (recorded, everything aborted) or, under kDropSink, no sink left.
class PipelineRun {
 public:
  PipelineRun(CopySource& source, std::span<CopySink* const> sinks,
              const CopyPipelineOptions& options, std::stop_token stop)
      : source_(source),
        sinks_(sinks),
        options_(options),
        waker_(std::move(stop)),
        active_(sinks.size(), false),
        transforming_(!options.transforms.empty()) {
    result_.sinks.resize(sinks.size());
    if (transforming_ || options.digest)
      framer_.emplace(options.format, source.message_framed(), options.what);
  }

  CopyPipelineResult Run() {
    if (Begin() && Pump()) Complete();
    return std::move(result_);
  }

 private:
  bool Begin();
  bool Pump();
  bool Take(std::string_view piece);
  bool Batch(std::string_view piece);
  bool SendBatch();
  void TransformRow(std::string_view row);
  bool Send(std::string_view data);
  bool WaitOutBacklogs();
  bool Complete();
  bool FinishSinks();
  bool SinkFailed(size_t i, const Error& error);
  bool Stop(Stage stage, const Error& error, size_t sink = 0);
  bool AnyActive() const {
    return std::find(active_.begin(), active_.end(), true) != active_.end();
  }

  CopySource& source_;
  std::span<CopySink* const> sinks_;
  const CopyPipelineOptions& options_;
  StopWaker waker_;
  std::vector<bool> active_;  // sinks whose stream is open
  bool transforming_;
  bool source_begun_ = false;
  std::optional<RowFramer> framer_;
  std::string batch_;  // transformed rows not sent yet
  std::string scratch_[2];
  CopyPipelineResult result_;
};

bool PipelineRun::Begin() {
  for (size_t i = 0; i < sinks_.size(); ++i) {
    try {
      sinks_[i]->Begin(waker_);
      active_[i] = true;
    } catch (const Error& error) {
      if (options_.on_sink_failure == OnSinkFailure::kAbortAll || waker_.stopped())
        return Stop(Stage::kSink, error, i);
      result_.sinks[i].failure = error;
    }
  }
  if (!sinks_.empty() && !AnyActive()) return false;  // each failure is recorded
  try {
    source_.Begin(waker_);
    source_begun_ = true;
  } catch (const Error& error) {
    return Stop(Stage::kSource, error);
  }
  if (transforming_ && options_.format == StreamFormat::kBinary) batch_.assign(BinaryCopyHeader());
  return true;
}

bool PipelineRun::Pump() {
  for (;;) {
    if (waker_.stopped()) return Stop(Stage::kStopped, Error("cancelled"));
    std::string_view piece;
    CopySource::ReadStatus status;
    try {
      status = source_.Read(&piece);
      if (status == CopySource::ReadStatus::kWait) {
        if (!SendBatch()) return false;  // the sinks work while the source is waited for
        std::vector<SocketWait> socket{{source_.socket(), POLLIN}};
        if (!WaitForSockets(socket, waker_)) return Stop(Stage::kStopped, Error("cancelled"));
        continue;
      }
    } catch (const Error& error) {
      return Stop(Stage::kSource, error);
    }
    if (status == CopySource::ReadStatus::kEnd) return true;
    if (!Take(piece)) return false;
  }
}

bool PipelineRun::Take(std::string_view piece) {
  result_.bytes += piece.size();
  if (options_.counters) {
    options_.counters->messages.fetch_add(1, std::memory_order_relaxed);
    options_.counters->bytes.fetch_add(piece.size(), std::memory_order_relaxed);
  }
  try {
    if (framer_ && !transforming_)
      framer_->Feed(piece, [this](std::string_view row) { options_.digest->Add(row); });
    if (!transforming_) return Batch(piece);
    framer_->Feed(piece, [this](std::string_view row) { TransformRow(row); });
  } catch (const Error& error) {
    return Stop(Stage::kRows, error);
  }
  return batch_.size() < kBatchBytes || SendBatch();
}

// An untransformed piece: large ones go as they are, small ones are batched.
bool PipelineRun::Batch(std::string_view piece) {
  if (piece.size() >= kBatchBytes) return SendBatch() && Send(piece);
  batch_.append(piece);
  return batch_.size() < kBatchBytes || SendBatch();
}

bool PipelineRun::SendBatch() {
  bool sent = Send(batch_);
  batch_.clear();
  return sent;
}

// Runs `row` through the transforms into batch_, digesting what comes out.
void PipelineRun::TransformRow(std::string_view row) {
  const std::vector<RowTransform*>& transforms = options_.transforms;
  size_t start = batch_.size();
  try {
    std::string_view input = row;
    for (size_t t = 0; t + 1 < transforms.size(); ++t) {
      std::string& out = scratch_[t % 2];
      out.clear();
      transforms[t]->Apply(input, out);
      input = out;
    }
    transforms.back()->Apply(input, batch_);
  } catch (const Error& error) {
    batch_.resize(start);
    throw Error(fmt::format("row {} of {}: {}", framer_->rows(), options_.what, error.what()),
                error.sqlstate(), error.kind());
  }
  if (options_.digest) options_.digest->Add(std::string_view(batch_).substr(start));
}

bool PipelineRun::Send(std::string_view data) {
  if (data.empty()) return true;
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (!active_[i]) continue;
    try {
      sinks_[i]->Write(data);
    } catch (const Error& error) {
      if (!SinkFailed(i, error)) return false;
    }
  }
  return WaitOutBacklogs();
}

// Waits, while any sink holds more than it keeps, until the backlogged sinks
// can take more (or a stop).
bool PipelineRun::WaitOutBacklogs() {
  for (;;) {
    std::vector<SocketWait> waits;
    for (size_t i = 0; i < sinks_.size(); ++i) {
      if (!active_[i]) continue;
      try {
        if (sinks_[i]->Backlogged()) waits.push_back({sinks_[i]->socket(), POLLOUT});
      } catch (const Error& error) {
        if (!SinkFailed(i, error)) return false;
      }
    }
    if (waits.empty()) return true;
    try {
      if (!WaitForSockets(waits, waker_)) return Stop(Stage::kStopped, Error("cancelled"));
    } catch (const Error& error) {
      return Stop(Stage::kSink, error);
    }
  }
}

// The source ended: its verdict first (a server that failed mid-stream also
// leaves a truncated stream, and its own error says why), then the shape of
// the stream, then the sinks'.
bool PipelineRun::Complete() {
  try {
    source_begun_ = false;
    result_.source_rows = source_.End(waker_);
  } catch (const Error& error) {
    return Stop(Stage::kSource, error);
  }
  try {
    if (framer_) framer_->Finish();
  } catch (const Error& error) {
    return Stop(Stage::kRows, error);
  }
  if (framer_ && source_.message_framed() && result_.source_rows &&
      *result_.source_rows != framer_->rows())
    return Stop(Stage::kSource,
                Error(fmt::format("the server reported {} rows but sent {} COPY messages",
                                  *result_.source_rows, framer_->rows())));
  if (transforming_ && options_.format == StreamFormat::kBinary) batch_.append(BinaryCopyTrailer());
  if (!SendBatch()) return false;
  return FinishSinks();
}

// Ends every sink's stream, then collects each verdict (ending them all first
// lets the servers finish in parallel).
bool PipelineRun::FinishSinks() {
  if (waker_.stopped()) return Stop(Stage::kStopped, Error("cancelled"));
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (!active_[i]) continue;
    try {
      sinks_[i]->EndStream();
    } catch (const Error& error) {
      if (!SinkFailed(i, error)) return false;
    }
  }
  if (!WaitOutBacklogs()) return false;
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (!active_[i]) continue;
    try {
      result_.sinks[i].rows = sinks_[i]->Finish(waker_);
      active_[i] = false;
    } catch (const Error& error) {
      if (!SinkFailed(i, error)) return false;
    }
  }
  return true;
}

// Sink `i` failed: drop it, or end everything. False when the stream cannot
// go on.
bool PipelineRun::SinkFailed(size_t i, const Error& error) {
  if (options_.on_sink_failure == OnSinkFailure::kAbortAll || waker_.stopped())
    return Stop(Stage::kSink, error, i);
  result_.sinks[i].failure = error;
  active_[i] = false;
  sinks_[i]->Abort(AbortReason(Stage::kSink), false);
  if (AnyActive()) return true;
  if (source_begun_) source_.Abort();
  source_begun_ = false;
  return false;
}

bool PipelineRun::Stop(Stage stage, const Error& error, size_t sink) {
  if (waker_.stopped()) stage = Stage::kStopped;
  result_.failure =
      PipelineFailure{stage, sink, stage == Stage::kStopped ? Error("cancelled") : error};
  if (stage == Stage::kSink) result_.sinks[sink].failure = error;
  if (source_begun_) source_.Abort();
  source_begun_ = false;
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (!active_[i]) continue;
    sinks_[i]->Abort(AbortReason(stage), stage == Stage::kStopped);
    active_[i] = false;
  }
  return false;
}

}  // namespace

CopyPipelineResult RunCopyPipeline(CopySource& source, std::span<CopySink* const> sinks,
                                   const CopyPipelineOptions& options, std::stop_token stop) {
  PipelineRun run(source, sinks, options, std::move(stop));
  return run.Run();
}

}  // namespace freshet
