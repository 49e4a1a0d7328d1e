// Runs the COPY streams of a plan on a pool of worker threads, each with its
// own source connection (joined to the run's snapshot) and target connection.
// A table's streams start only when every table it depends on is loaded;
// among ready streams the largest goes first. The first failure stops every
// stream (cancelling both sides) and is rethrown once all workers are done.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "sync/plan.h"
#include "sync/progress.h"
#include "sync/source_snapshot.h"

namespace freshet {

struct TableLoad {
  uint64_t rows = 0;
  uint64_t bytes = 0;
  double seconds = 0;
};

// The COPY statements of one unit.
std::string CopyOutSql(const PlannedTable& table, const CopyUnit& unit);
std::string CopyInSql(const PlannedTable& table, const CopyUnit& unit);

// Loads every unit of `plan` into the (already truncated) target. `progress`
// items are the plan's tables, by index. Returns one TableLoad per plan table.
std::vector<TableLoad> LoadTables(const Plan& plan, const SourceSnapshot& snapshot,
                                  const std::string& target_url, int jobs, Progress* progress,
                                  std::stop_token stop);

}  // namespace freshet
