// The first half of an incremental run: per table, in parallel on the run's
// workers (each source session joined to the run's snapshot; a watermark
// table's chunks and key summaries as tasks of their own, see
// incremental_stager.h), find what changed and stream it into staging
// tables on the target (UNLOGGED, schema _freshet): the changed rows through
// the engine's COPY pipeline (masked as a full sync masks them: the plan's
// masks in the SELECT and the stream), and the keys to delete. Nothing of
// the target's own tables changes here; the merge (incremental_merge.h)
// applies the staging in one transaction, taking each table's stage as it
// ends (StageOptions::on_staged).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "sync/engine/bucket_sums.h"
#include "sync/engine/incremental_sql.h"
#include "sync/engine/plan.h"
#include "sync/engine/run_observer.h"

namespace freshet {

// What staging left for the merge of one table.
struct TableStage {
  bool staged_rows = false;     // StageTablesFor(i).rows holds rows to upsert
  bool staged_deletes = false;  // .delete_keys holds target keys to delete
  uint64_t delete_keys = 0;     // how many
  bool replace_all = false;     // no key, full: the target's rows are replaced
  // No key, diff: the target's rows matching these predicates are deleted
  // (each exactly `rows` of them, when set) and the staged rows inserted.
  struct Replace {
    std::string where;
    std::optional<uint64_t> rows;
  };
  std::vector<Replace> replace_where;
  Bucketing bucketing;
  // Staged rows whose key the target lacks (the inserts), when staging
  // counted them; else the merge counts them.
  std::optional<uint64_t> new_rows;
  std::optional<std::string> watermark_reached;
  // The source's key summary (EncodeKeySums) for the state, when deletes
  // were found by comparing keys in watermark mode.
  std::optional<std::string> key_sums;
  uint64_t rows = 0;  // staged
  uint64_t bytes = 0;
  uint64_t compared_bytes = 0;
  uint64_t differing_buckets = 0;
  uint64_t buckets_by_hash = 0;  // of those, with their one deleted key found by its hash
  double seconds = 0;
};

struct StageOptions {
  int jobs = 4;
  std::function<Connection()> open_source;  // a session in the run's snapshot
  std::string target_url;
  uint64_t xmin_horizon = 0;  // this run's (recorded with the key summaries)
  // Each table's stage as soon as its staging ended (at once for tables
  // with nothing to stage), from the worker that ended it.
  std::function<void(size_t, const TableStage&)> on_staged;
  // Per plan table (when set): the merge's work that waits for its stage
  // (MergeTails), so that what the merge needs first is staged first.
  std::vector<double> merge_tails;
};

// Stages every planned table (plan.tables[i].incremental set). Throws Error
// naming the table on failure; the staging tables are then left for the next
// run (or the end of this one) to drop.
std::vector<TableStage> StageChanges(const Plan& plan, const Catalog& target,
                                     const StageOptions& options, std::stop_token stop,
                                     const RunLog& log);

// Drops the staging tables left by this or an earlier run.
void DropStaging(Connection& target);

}  // namespace freshet
