#include "sync/engine/incremental_run.h"

#include <fmt/format.h>

#include <chrono>
#include <exception>
#include <stop_token>
#include <thread>

#include "copy/conninfo.h"
#include "sync/engine/fit_check.h"
#include "sync/engine/incremental_merge.h"
#include "sync/engine/incremental_stage.h"
#include "sync/engine/journal.h"
#include "sync/engine/run_steps.h"
#include "sync/engine/safety.h"
#include "sync/engine/sequences.h"
#include "sync/engine/source_snapshot.h"
#include "sync/engine/sync_state.h"
#include "sync/engine/target_rules.h"
#include "sync/engine/verify.h"

namespace freshet {
namespace {

// A state older than this many transactions is not trusted: age() compares
// transaction ids modulo 2^32, exact only within 2^31 of each other.
constexpr uint64_t kHorizonLimit = uint64_t{1} << 30;

StateSource StateSourceOf(const Catalog& source, const std::string& endpoint) {
  StateSource state{source.system_identifier, source.database};
  // Without the cluster's identifier, the endpoint names the source.
  if (state.system_identifier == 0) state.database = endpoint;
  return state;
}

// States the horizon check cannot use: from the future (the source was
// restored from a backup) or too old.
std::vector<TableState> UsableStates(std::vector<TableState> states, const SourceHorizon& horizon,
                                     const RunLog& log) {
  std::vector<TableState> usable;
  for (auto& state : states) {
    if (state.xmin_horizon > horizon.xmin || horizon.xmin - state.xmin_horizon > kHorizonLimit) {
      log.Warn(
          "{}: the state of the last run ({}) does not fit the source's transaction ids "
          "now ({}); refreshing the table whole",
          state.table.Display(), state.xmin_horizon, horizon.xmin);
      continue;
    }
    usable.push_back(std::move(state));
  }
  return usable;
}

void FillIncrementalReport(const Plan& plan, const std::vector<TableStage>& stages,
                           const std::vector<MergeCounts>& counts, RunReport& report) {
  for (size_t i = 0; i < plan.tables.size() && i < report.tables.size(); ++i) {
    TableReport& table = report.tables[i];
    const PlannedTable& planned = plan.tables[i];
    if (planned.incremental) {
      table.mode = SyncModeName(planned.incremental->mode);
      table.mode_reason = planned.incremental->reason;
    }
    table.rows = stages[i].rows;
    table.bytes = stages[i].bytes;
    table.seconds = stages[i].seconds;
    table.compared_bytes = stages[i].compared_bytes;
    table.inserted = counts[i].inserted;
    table.updated = counts[i].updated;
    table.deleted = counts[i].deleted;
    table.unchanged = counts[i].unchanged;
  }
}

std::vector<StateUpdate> StateUpdates(const Plan& plan, const std::vector<TableStage>& stages) {
  std::vector<StateUpdate> updates;
  for (size_t i = 0; i < plan.tables.size(); ++i) {
    const auto& mode = plan.tables[i].incremental;
    if (!mode) continue;
    updates.push_back({plan.tables[i].name, *mode, stages[i].watermark_reached,
                       mode->mode == SyncMode::kFull, stages[i].key_sums});
  }
  return updates;
}

void RecoverJournal(Connection& target, const SyncOptions& options, RunReport& report,
                    const RunLog& log) {
  Journal journal(target, NewRunId());
  if (!journal.HasEntries()) return;
  log.Warn("{}: an earlier run was interrupted; restoring what it set aside first", report.target);
  RecordRestore(journal.Restore(options.target_url, options.jobs), report,
                RestoreCause::kInterruptedRun, log);
}

void VerifyIncremental(const Plan& plan, const SourceSnapshot& snapshot, const SyncOptions& options,
                       RunReport& report, std::stop_token stop, const RunLog& log) {
  log.Info("verifying {} tables", plan.tables.size());
  auto results = VerifyTables(plan, snapshot, options.target_url, options.jobs, stop);
  for (size_t i = 0; i < results.size(); ++i) report.tables[i].verification = results[i];
  CheckVerification(report);
}

// What staging and the merge leave: every table's stage and merge counts,
// and the sequences set.
struct Merged {
  std::vector<TableStage> stages;
  std::vector<MergeCounts> counts;
  SequenceOutcome sequences;
};

// Stages the changes and merges them in one transaction on `target`, the
// merge running on its own thread while the tables stage
// (incremental_merge.h). Meanwhile this thread leaves `target` and the
// control session alone. On failure the transaction is rolled back, the
// staging tables dropped, and the cause thrown: staging's failure when it
// ended the merge, else the merge's (which stops the staging).
Merged StageAndMerge(SourceSnapshot& snapshot, Connection& target, const Plan& plan,
                     const Catalog& target_catalog, const SyncOptions& options,
                     const SourceHorizon& horizon, const StateSource& state_source,
                     std::stop_token stop, const RunLog& log) {
  Merged merged;
  StagedFeed feed(plan.tables.size());
  std::exception_ptr merge_error, staging_error;
  bool merge_failed_after_staging = false;
  std::stop_source stop_staging;
  std::stop_callback forward(stop, [&] { stop_staging.request_stop(); });
  std::string run_id = NewRunId();
  std::thread merging([&] {
    try {
      merged.counts = MergeStaged(
          target, plan, target_catalog, feed, options.lock_timeout,
          [&](const std::vector<TableStage>& staged) {
            merged.sequences = SyncSequences(plan, snapshot.control(), target);
            WriteStates(target, state_source, std::to_string(horizon.xmin), horizon.snapshot,
                        StateUpdates(plan, staged), run_id);
          },
          log);
    } catch (...) {
      merge_error = std::current_exception();
      merge_failed_after_staging = feed.closed();
      stop_staging.request_stop();
    }
  });
  try {
    StageOptions stage_options{
        options.jobs,
        [&snapshot] { return snapshot.OpenWorker(); },
        options.target_url,
        horizon.xmin,
        [&feed](size_t i, const TableStage& stage) { feed.Arrive(i, stage); },
        MergeTails(plan, target_catalog)};
    StageChanges(plan, target_catalog, stage_options, stop_staging.get_token(), log);
  } catch (...) {
    staging_error = std::current_exception();
  }
  feed.Close();
  merging.join();
  if (merge_error) {
    try {
      DropStaging(target);
    } catch (const Error&) {  // the next run drops them
    }
    ThrowIfStopped(stop, "sync");
    std::rethrow_exception(staging_error && merge_failed_after_staging ? staging_error
                                                                       : merge_error);
  }
  // Merged and committed: a stop that came after the last table staged
  // changes nothing.
  merged.stages = feed.All();
  return merged;
}
}  // namespace

SourceHorizon ReadHorizon(Connection& source) {
  Result result = source.Exec(
      "SELECT pg_catalog.pg_snapshot_xmin(s)::text, s::text FROM pg_catalog.pg_current_snapshot() "
      "s");
  return {std::stoull(result.Get(0, 0)), result.Get(0, 1)};
}

Plan PlanIncremental(Connection& source, const Catalog& source_catalog, Connection& target,
                     const Catalog& target_catalog, const SyncOptions& options,
                     const SourceHorizon& horizon, const RunLog& log) {
  PlanOptions plan_options = options.plan;
  plan_options.strategy = StrategyChoice::kOrdered;  // indexes stay: the upserts need them
  Plan plan = BuildPlan(source_catalog, target_catalog, plan_options);
  if (plan.ok()) CheckSourceFits(source, source_catalog, target_catalog, plan, log);
  PlanSampledCoverage(source, source_catalog, options.plan.masks, plan);
  if (plan.ok()) CheckTargetRules(source, target, source_catalog, target_catalog, plan, log);
  std::vector<TableState> states = UsableStates(
      ReadStates(target,
                 StateSourceOf(source_catalog, ConnInfo::Parse(options.source_url).Describe())),
      horizon, log);
  ChooseModes(plan, source_catalog, target_catalog, states, options.incremental);
  return plan;
}

std::optional<std::string> RecordFullLoad(Connection& target, const Catalog& source,
                                          const std::string& source_endpoint,
                                          const SourceHorizon& horizon, const Plan& modes,
                                          const std::string& run_id) {
  std::vector<StateUpdate> updates;
  for (const auto& table : modes.tables)
    if (table.incremental)
      updates.push_back({table.name, *table.incremental, std::nullopt, true, std::nullopt});
  try {
    EnsureStateTable(target);
    InTransaction(target, [&] {
      WriteStates(target, StateSourceOf(source, source_endpoint), std::to_string(horizon.xmin),
                  horizon.snapshot, updates, run_id);
    });
  } catch (const Error& error) {
    return fmt::format(
        "the incremental state could not be recorded ({}); the next sync --incremental "
        "refreshes these tables whole",
        error.what());
  }
  return std::nullopt;
}

void IncrementalSync(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  auto started = std::chrono::steady_clock::now();
  const RunLog log(options.observer ? *options.observer : DefaultObserver());
  report.command = "sync";
  report.incremental = true;
  report.started_at = NowIso();
  report.source = ConnInfo::Parse(options.source_url).Describe();
  report.target = ConnInfo::Parse(options.target_url).Describe();
  CheckTargetAllowed(ConnInfo::Parse(options.target_url), options.safety);

  SourceSnapshot snapshot(options.source_url);
  CancelOnStop cancel_source(snapshot.control(), stop);
  SourceHorizon horizon = ReadHorizon(snapshot.control());
  ServerIdentity identity = IdentifyServer(snapshot.control());
  Catalog source_catalog = ReadCatalog(snapshot.control());

  Connection target = OpenTarget(options.target_url);
  CancelOnStop cancel_target(target, stop);
  LockTarget(target);
  if (SameDatabase(identity, IdentifyServer(target), target))
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to sync: the target {} is the source database itself",
                            report.target));
  RecoverJournal(target, options, report, log);
  DropStaging(target);
  Catalog target_catalog = ReadCatalog(target);
  Plan plan = PlanIncremental(snapshot.control(), source_catalog, target, target_catalog, options,
                              horizon, log);
  FillPlanReport(plan, report);
  log.observer().PlanReady(plan);
  ThrowIfPlanErrors(plan);
  ThrowIfStopped(stop, "sync");
  EnsureStateTable(target);

  Merged merged = StageAndMerge(
      snapshot, target, plan, target_catalog, options, horizon,
      StateSourceOf(source_catalog, ConnInfo::Parse(options.source_url).Describe()), stop, log);
  DropStaging(target);
  FillIncrementalReport(plan, merged.stages, merged.counts, report);
  RecordSequences(merged.sequences, report, log);
  if (options.verify) VerifyIncremental(plan, snapshot, options, report, stop, log);
  snapshot.Finish();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace freshet
