// `freshet snapshot capture`: the source's tables, read in one exported
// snapshot by parallel workers (large tables as ctid ranges), each stream
// written as COPY through zstd into its own file, with a manifest of what was
// captured (sync/snapshot_manifest.h). Everything is written under a temporary
// sibling directory (".NAME.partial-RUNID") that is renamed to the requested
// name only when complete, so an interrupted capture never looks like one.
#pragma once

#include <filesystem>
#include <stop_token>
#include <string>

#include "copy/zstd_codec.h"
#include "sync/engine/plan.h"
#include "sync/engine/run_observer.h"
#include "sync/snapshot/snapshot_manifest.h"

namespace freshet {

struct CaptureOptions {
  std::string source_url;
  std::filesystem::path out;  // must not exist yet
  int jobs = 4;
  PlanOptions plan;  // includes, excludes, chunk size
  ZstdOptions compression;
  RunObserver* observer = nullptr;  // none: log through spdlog's default logger
};

// Captures and returns the manifest written. Throws Error: kUsage when `out`
// exists or a pattern matches nothing, kRuntime for server or file failures
// (the temporary directory is removed).
SnapshotManifest RunCapture(const CaptureOptions& options, std::stop_token stop);

// The manifest as a human summary: source, time, per table rows and sizes.
std::string DescribeSnapshot(const SnapshotManifest& manifest);

}  // namespace freshet
