#include "copy/copy_relay.h"

#include <fmt/format.h>

#include "copy/copy_pipeline.h"
#include "copy/server_copy.h"

namespace freshet {

RelayResult RelayCopy(Connection& source, const std::string& copy_out_sql, Connection& target,
                      const std::string& copy_in_sql, const std::string& what,
                      StreamCounters* counters, std::stop_token stop,
                      std::vector<RowTransform*> transforms) {
  ServerCopySource reader(source, copy_out_sql);
  ServerCopySink writer(target, copy_in_sql);
  CopySink* const sinks[] = {&writer};
  CopyPipelineOptions options;
  options.counters = counters;
  options.what = what;
  options.transforms = std::move(transforms);
  CopyPipelineResult result = RunCopyPipeline(reader, sinks, options, std::move(stop));
  if (const std::optional<PipelineFailure>& failure = result.failure) {
    if (failure->stage == PipelineFailure::Stage::kStopped)
      throw Error(fmt::format("copying {}: cancelled", what));
    std::string_view side = failure->stage == PipelineFailure::Stage::kSink ? "target" : "source";
    throw Error(fmt::format("copying {} ({}): {}", what, side, failure->error.what()),
                failure->error.sqlstate(), failure->error.kind());
  }
  return RelayResult{result.sinks[0].rows, result.bytes};
}

}  // namespace freshet
