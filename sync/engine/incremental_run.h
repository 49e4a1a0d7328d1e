// `freshet sync --incremental` and the incremental part of `freshet plan`:
// one source snapshot; per table a mode (incremental_mode.h); the changes
// staged on the target in parallel (incremental_stage.h); one merge
// transaction that applies them with the sequences and the state
// (incremental_merge.h). A run that dies before the merge commits leaves the
// target's tables as they were (its staging tables are dropped by the next
// run); the next run starts from the last committed state.
#pragma once

#include <optional>
#include <stop_token>

#include "sync/engine/sync_run.h"

namespace freshet {

// The source snapshot's transaction horizon, recorded with the state.
struct SourceHorizon {
  uint64_t xmin = 0;     // pg_snapshot_xmin: every older transaction had ended
  std::string snapshot;  // pg_current_snapshot() as text
};
SourceHorizon ReadHorizon(Connection& source);

// The incremental plan: BuildPlan with the ordered strategy (chunks as
// --chunk-size says), the checks of the rows, then each table's mode from
// the target's state.
// Changes nothing on either side.
Plan PlanIncremental(Connection& source, const Catalog& source_catalog, Connection& target,
                     const Catalog& target_catalog, const SyncOptions& options,
                     const SourceHorizon& horizon, const RunLog& log);

// Records, after a full sync into `target` succeeded, that its tables hold
// the source as of `horizon` (every table's state "full").
// `source_endpoint`: ConnInfo::Describe() of the source. The load is done
// either way: a failure is returned as a warning for the report (the next
// incremental run then refreshes those tables whole), never thrown.
std::optional<std::string> RecordFullLoad(Connection& target, const Catalog& source,
                                          const std::string& source_endpoint,
                                          const SourceHorizon& horizon, const Plan& modes,
                                          const std::string& run_id);

// The run; fills `report` as it goes and throws Error on failure (the
// target's tables unchanged unless the merge committed).
void IncrementalSync(const SyncOptions& options, RunReport& report, std::stop_token stop);

}  // namespace freshet
