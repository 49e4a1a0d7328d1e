#include "sync/engine/sync_run.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <random>

#include "copy/conninfo.h"
#include "sync/engine/fit_check.h"
#include "sync/engine/loader.h"
#include "sync/engine/progress.h"
#include "sync/engine/restore_tasks.h"
#include "sync/engine/run_steps.h"
#include "sync/engine/sequences.h"
#include "sync/engine/source_snapshot.h"
#include "sync/engine/target_rules.h"
#include "sync/engine/verify.h"

namespace freshet {
namespace {

void CheckVerification(RunReport& report) {
  report.verified = true;
  auto mismatched = report.Mismatched();
  if (!mismatched.empty())
    throw Error(ErrorKind::kMismatch,
                fmt::format("verification failed: {} differ between source and target",
                            fmt::join(mismatched, ", ")));
}

void SyncRun(const SyncOptions& options, RunReport& report, std::stop_token stop);
void VerifyRun(const SyncOptions& options, RunReport& report, std::stop_token stop);

RunObserver& ObserverOf(const SyncOptions& options) {
  return options.observer ? *options.observer : DefaultObserver();
}

// Runs `body`, then tells the observer how the run ended (also when it threw).
template <typename Body>
void Observed(const SyncOptions& options, RunReport& report, Body&& body) {
  try {
    body();
  } catch (const Error& error) {
    report.ok = false;
    report.error = error.what();
    ObserverOf(options).RunEnded(report);
    throw;
  }
  ObserverOf(options).RunEnded(report);
}

void Verify(const Plan& plan, const SourceSnapshot& snapshot, const SyncOptions& options,
            RunReport& report, std::stop_token stop, const RunLog& log) {
  log.Info("verifying {} tables", plan.tables.size());
  auto results = VerifyTables(plan, snapshot, options.target_url, options.jobs, stop);
  for (size_t i = 0; i < results.size(); ++i) {
    report.tables[i].verification = results[i];
    if (report.command == "verify") report.tables[i].rows = results[i].target.rows;
  }
  CheckVerification(report);
}

}  // namespace

Plan PlanOnly(const SyncOptions& options, bool* pending_journal, std::stop_token stop) {
  Connection source = Connection::Open(options.source_url, "source");
  CancelOnStop cancel_source(source, stop);
  PinReadSettings(source);
  Catalog source_catalog = ReadCatalog(source);
  Connection target = OpenTarget(options.target_url);
  CancelOnStop cancel_target(target, stop);
  Catalog target_catalog = ReadCatalog(target);
  ThrowIfStopped(stop, "plan");
  Journal journal(target, "plan");
  if (pending_journal) *pending_journal = journal.HasEntries();
  Plan plan = BuildPlan(source_catalog, target_catalog, options.plan);
  // The same data check as a sync, so that plan and sync agree.
  RunLog log(ObserverOf(options));
  if (plan.ok()) CheckSourceFits(source, source_catalog, target_catalog, plan, log);
  if (plan.ok()) CheckTargetRules(source, target, source_catalog, target_catalog, plan, log);
  ThrowIfStopped(stop, "plan");
  log.observer().PlanReady(plan);
  return plan;
}

void RunSync(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  Observed(options, report, [&] { SyncRun(options, report, stop); });
}

void RunVerify(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  Observed(options, report, [&] { VerifyRun(options, report, stop); });
}

namespace {

void SyncRun(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  const RunLog log(ObserverOf(options));
  auto started = std::chrono::steady_clock::now();
  report.command = "sync";
  report.started_at = NowIso();
  report.source = ConnInfo::Parse(options.source_url).Describe();
  ConnInfo target_info = ConnInfo::Parse(options.target_url);
  report.target = target_info.Describe();
  CheckTargetAllowed(target_info, options.safety);

  SourceSnapshot snapshot(options.source_url);
  // Every query of the control connections (catalogs, the checks of the
  // source's rows, sequences) is cancelled by a stop, like the streams.
  CancelOnStop cancel_source(snapshot.control(), stop);
  ServerIdentity source_identity = IdentifyServer(snapshot.control());
  Catalog source_catalog = ReadCatalog(snapshot.control());
  Connection target = OpenTarget(options.target_url);
  if (SameDatabase(source_identity, IdentifyServer(target), target))
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to sync: the target {} is the source database itself",
                            report.target));
  CancelOnStop cancel_target(target, stop);
  LockTarget(target);
  std::string run_id = NewRunId();
  Journal journal(target, run_id);
  if (journal.HasEntries()) {
    log.Warn("{}: an earlier run was interrupted; restoring what it set aside first",
             report.target);
    RecordRestore(journal.Restore(options.target_url, options.jobs), report,
                  RestoreCause::kInterruptedRun, log);
  }
  Catalog target_catalog = ReadCatalog(target);
  // Constraints left NOT VALID by an interrupted run were valid before it.
  for (const auto& [table, name] : journal.PendingValidations())
    for (auto& fk : target_catalog.foreign_keys)
      if (fk.table == table && fk.name == name) fk.validated = true;
  Plan plan = BuildPlan(source_catalog, target_catalog, options.plan);
  if (plan.ok()) CheckSourceFits(snapshot.control(), source_catalog, target_catalog, plan, log);
  if (plan.ok())
    CheckTargetRules(snapshot.control(), target, source_catalog, target_catalog, plan, log);
  log.observer().PlanReady(plan);
  FillPlanReport(plan, report);
  ThrowIfPlanErrors(plan);
  ThrowIfStopped(stop, "sync");  // nothing written yet
  log.Info("run {}: {} tables, {} strategy, {} foreign keys and {} indexes set aside, {} jobs",
           run_id, plan.tables.size(), plan.strategy == LoadStrategy::kBulk ? "bulk" : "ordered",
           plan.deferred.size(), plan.indexes.size(), options.jobs);

  PrepareTarget(target, journal, plan, options.lock_timeout, options.target_url, log);
  std::vector<Progress::Item> items;
  for (const auto& table : plan.tables)
    items.push_back({table.name.Display(), table.estimated_rows, table.estimated_bytes});
  Progress progress(std::move(items), options.interactive_progress, std::chrono::seconds(10), log);
  // Loads and the rebuild of what was set aside run as one task graph: each
  // table's indexes, foreign keys and triggers come back as soon as the tables
  // they need are loaded, while larger tables are still streaming.
  LoadTasks loads(plan, &progress, options.retry, log);
  RestoreTasks rebuild(journal.Entries(), target);
  TaskGraph graph;
  loads.AddTo(graph);
  rebuild.AddTo(graph, [&](const QualifiedName& relation) { return loads.Gate(relation); });
  RestoreOutcome restored;
  try {
    progress.Start();
    auto outcomes = graph.Run(
        options.jobs, [&] { return snapshot.OpenWorker(); },
        [&](size_t) { return OpenRebuildTarget(options.target_url); }, stop, log);
    progress.Stop();
    restored = rebuild.Outcome(outcomes);
    RecordSequences(SyncSequences(plan, snapshot.control(), target), report, log);
  } catch (...) {
    progress.Stop();
    // Put constraints and triggers back even though the data is partial; what
    // cannot be restored stays journaled for the next run.
    try {
      RecordRestore(journal.Restore(options.target_url, options.jobs), report,
                    RestoreCause::kThisRunFailed, log);
    } catch (const Error& error) {
      log.Error(
          "could not restore the target after the failure ({}); run `freshet repair` "
          "or the next sync to restore it",
          error.what());
    }
    report.warnings.push_back(
        "the target's synced tables were truncated and are only partly loaded: rerun the sync");
    throw;
  }
  std::vector<TableLoad> table_loads = loads.loads();
  for (size_t i = 0; i < table_loads.size(); ++i) {
    report.tables[i].rows = table_loads[i].rows;
    report.tables[i].bytes = table_loads[i].bytes;
    report.tables[i].seconds = table_loads[i].seconds;
    report.tables[i].retries = table_loads[i].retries;
  }
  report.rebuild_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - loads.last_done()).count();
  for (const auto& problem : restored.problems) report.warnings.push_back(problem);
  if (!restored.problems.empty())
    throw Error(fmt::format("the data is loaded but constraints could not all be restored:\n  - {}",
                            fmt::join(restored.problems, "\n  - ")));
  if (options.verify) Verify(plan, snapshot, options, report, stop, log);
  snapshot.Finish();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

void VerifyRun(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  const RunLog log(ObserverOf(options));
  auto started = std::chrono::steady_clock::now();
  report.command = "verify";
  report.started_at = NowIso();
  report.source = ConnInfo::Parse(options.source_url).Describe();
  report.target = ConnInfo::Parse(options.target_url).Describe();
  SourceSnapshot snapshot(options.source_url);
  Catalog source_catalog = ReadCatalog(snapshot.control());
  Connection target = OpenTarget(options.target_url);
  Catalog target_catalog = ReadCatalog(target);
  Plan plan = BuildPlan(source_catalog, target_catalog, options.plan);
  FillPlanReport(plan, report);
  // Plan errors concern writing (ownership, foreign keys leaving the sync,
  // NOT NULL target-only columns); the shared columns compare regardless.
  log.observer().PlanReady(plan);
  Verify(plan, snapshot, options, report, stop, log);
  snapshot.Finish();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace

RestoreOutcome RunRepair(const std::string& target_url, int jobs) {
  Connection target = OpenTarget(target_url);
  LockTarget(target);
  Journal journal(target, "repair");
  return journal.Restore(target_url, jobs);
}

}  // namespace freshet
