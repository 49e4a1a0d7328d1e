// Narrowed columns and NOT NULL on the target only (sync/engine/fit_check.h),
// checked from a snapshot's files instead of a live source.
#pragma once

#include <filesystem>
#include <stop_token>
#include <string>
#include <vector>

#include "sync/engine/fit_check.h"
#include "sync/engine/run_observer.h"
#include "sync/snapshot/snapshot_manifest.h"

namespace freshet {

// The same from a snapshot's files: reads the files of `table` (in
// parallel, `jobs`) and returns one plan error per unmet demand. Throws Error
// if a file cannot be read.
std::vector<std::string> CheckSnapshotFits(const std::filesystem::path& dir,
                                           const SnapshotTable& table,
                                           const std::vector<NarrowedColumn>& columns, int jobs,
                                           std::stop_token stop = {},
                                           const RunLog& log = DefaultLog());

}  // namespace freshet
