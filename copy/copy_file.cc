#include "copy/copy_file.h"

#include <fmt/format.h>

#include "copy/copy_pipeline.h"
#include "copy/file_copy.h"
#include "copy/row_transforms.h"
#include "copy/server_copy.h"

namespace freshet {
namespace {

using Stage = PipelineFailure::Stage;

Error Prefixed(std::string_view prefix, const Error& error) {
  return Error(fmt::format("{}: {}", prefix, error.what()), error.sqlstate(), error.kind());
}

// The server's message without the "<Describe()>: " that MakeError puts in
// front, for errors that name the connection themselves.
std::string_view WithoutDescription(std::string_view message, const Connection& connection) {
  std::string_view description = connection.Describe();
  if (message.starts_with(description) && message.substr(description.size()).starts_with(": "))
    message.remove_prefix(description.size() + 2);
  return message;
}

// Runs a pipeline from `source`'s COPY OUT into `sinks` (none: only digests)
// and throws its failure as "<context> (<source label>): ..." when the source
// or its rows failed, "<context>: ..." otherwise. Returns the source's rows.
uint64_t ReadCopyOut(Connection& source, const std::string& sql, std::span<CopySink* const> sinks,
                     CopyPipelineOptions& options, const std::string& context,
                     std::stop_token stop) {
  ServerCopySource reader(source, sql);
  options.what = context;
  CopyPipelineResult result = RunCopyPipeline(reader, sinks, options, std::move(stop));
  if (const std::optional<PipelineFailure>& failure = result.failure) {
    if (failure->stage == Stage::kStopped) throw Error(fmt::format("{}: cancelled", context));
    if (failure->stage == Stage::kSink) throw Prefixed(context, failure->error);
    throw Prefixed(fmt::format("{} ({})", context, source.label()), failure->error);
  }
  return result.source_rows.value_or(0);
}

}  // namespace

CaptureResult CaptureCopy(Connection& source, const std::string& copy_out_sql, StreamFormat format,
                          SnapshotFileWriter& writer, const std::string& what,
                          StreamCounters* counters, std::stop_token stop,
                          std::vector<RowTransform*> transforms) {
  CaptureResult result;
  FileCopySink file(writer);
  CopySink* const sinks[] = {&file};
  CopyPipelineOptions options;
  options.format = format;
  options.transforms = std::move(transforms);
  options.digest = &result.digest;
  options.counters = counters;
  result.rows =
      ReadCopyOut(source, copy_out_sql, sinks, options, "capturing " + what, std::move(stop));
  result.file = file.file();
  return result;
}

RowDigest DigestCopy(Connection& connection, const std::string& copy_out_sql, StreamFormat format,
                     const std::string& what, std::stop_token stop) {
  RowDigest digest;
  CopyPipelineOptions options;
  options.format = format;
  options.digest = &digest;
  ReadCopyOut(connection, copy_out_sql, {}, options, "digesting " + what, std::move(stop));
  return digest;
}

void RestoreCopy(SnapshotFileReader& reader, StreamFormat format,
                 const std::optional<std::vector<bool>>& keep, std::vector<RestoreTarget>& targets,
                 const std::string& what, StreamCounters* counters, std::stop_token stop,
                 RowDigest* projected, OnTargetFailure on_failure,
                 std::vector<RowTransform*> transforms) {
  std::vector<std::unique_ptr<ServerCopySink>> writers;
  std::vector<CopySink*> sinks;
  for (RestoreTarget& target : targets) {
    target.failure.reset();
    target.rows = 0;
    writers.push_back(std::make_unique<ServerCopySink>(*target.connection, target.copy_in_sql));
    sinks.push_back(writers.back().get());
  }
  std::optional<ProjectRows> projection;
  if (keep) projection.emplace(format, *keep);
  RowDigest digest;
  CopyPipelineOptions options;
  options.format = format;
  if (projection && !projection->keeps_all()) options.transforms.push_back(&*projection);
  for (RowTransform* transform : transforms)  // after the projection: on the fields sent
    if (transform) options.transforms.push_back(transform);
  options.digest = projected ? &digest : nullptr;
  options.counters = counters;
  options.on_sink_failure = on_failure == OnTargetFailure::kDropTarget ? OnSinkFailure::kDropSink
                                                                       : OnSinkFailure::kAbortAll;
  options.what = "the snapshot file";
  FileCopySource file(reader);
  CopyPipelineResult result = RunCopyPipeline(file, sinks, options, std::move(stop));

  for (size_t i = 0; i < targets.size(); ++i) {
    targets[i].rows = result.sinks[i].rows;
    if (const std::optional<Error>& failure = result.sinks[i].failure)
      targets[i].failure =
          Error(fmt::format("restoring {} into {}: {}", what, targets[i].connection->Describe(),
                            WithoutDescription(failure->what(), *targets[i].connection)),
                failure->sqlstate(), failure->kind());
  }
  if (const std::optional<PipelineFailure>& failure = result.failure) {
    if (failure->stage == Stage::kStopped)
      throw Error(fmt::format("restoring {}: cancelled", what));
    if (failure->stage == Stage::kSink) throw *targets[failure->sink].failure;
    throw Prefixed("restoring " + what, failure->error);
  }
  if (projected) *projected = digest;
}

}  // namespace freshet
