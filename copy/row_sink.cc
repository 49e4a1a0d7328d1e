#include "copy/row_sink.h"

#include <fmt/format.h>

#include "copy/copy_pipeline.h"
#include "copy/server_copy.h"

namespace freshet {

uint64_t RowCallbackSink::Finish(const StopWaker&) {
  reader_.Finish();
  return reader_.rows();
}

ReadRowsResult ReadCopyRows(Connection& connection, const std::string& copy_out_sql,
                            const std::string& what, std::stop_token stop,
                            const std::function<void(std::string_view)>& on_row) {
  ServerCopySource source(connection, copy_out_sql);
  RowCallbackSink sink(StreamFormat::kBinary, what, on_row);
  CopySink* const sinks[] = {&sink};
  CopyPipelineOptions options;
  options.what = what;
  CopyPipelineResult result = RunCopyPipeline(source, sinks, options, std::move(stop));
  if (const std::optional<PipelineFailure>& failure = result.failure) {
    if (failure->stage == PipelineFailure::Stage::kStopped)
      throw Error(fmt::format("reading {}: cancelled", what));
    throw Error(fmt::format("reading {}: {}", what, failure->error.what()),
                failure->error.sqlstate(), failure->error.kind());
  }
  return ReadRowsResult{result.sinks[0].rows, result.bytes};
}

}  // namespace freshet
