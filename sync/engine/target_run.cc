#include "sync/engine/target_run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "copy/conninfo.h"
#include "sync/engine/run_steps.h"

namespace freshet {
namespace {

using Clock = std::chrono::steady_clock;

// Step 1: each report started, and each target allowed, before anything is
// opened.
void StartReports(const LoadSource& source, std::vector<TargetRun>& targets) {
  for (size_t i = 0; i < targets.size(); ++i) {
    TargetRun& target = targets[i];
    target.index = i;
    ConnInfo info = ConnInfo::Parse(target.url);
    RunReport& report = *target.report;
    report.command = source.Command();
    report.started_at = NowIso();
    report.source = source.Describe();
    report.target = info.Describe();
    for (size_t j = 0; j < i; ++j)
      if (targets[j].report->target == report.target)
        throw Error(ErrorKind::kUsage, fmt::format("{} is named twice", report.target));
    CheckTargetAllowed(info, target.safety);
  }
}

// Step 2: opens the journal and decides how the target starts: when a run of
// this load died (its set-aside still journaled, some units recorded as
// loaded), it resumes with the units not loaded; otherwise whatever an
// interrupted run left is put back first.
void RecoverTarget(LoadSource& source, TargetRun& target, int jobs, const RunLog& log) {
  target.journal = std::make_unique<Journal>(*target.control, NewRunId());
  std::string key = source.ResumeKey();
  std::map<std::string, std::string> loaded;
  if (!key.empty()) loaded = target.journal->RestoredFiles(key);
  if (!loaded.empty() && target.journal->HasSetAsideEntries()) {
    target.resume = true;
    target.loaded = std::move(loaded);
    return;  // the source says what it resumes
  }
  if (target.journal->HasEntries()) {
    log.Warn("{}: an earlier run was interrupted; restoring what it set aside first",
             target.report->target);
    RecordRestore(target.journal->Restore(target.url, jobs), *target.report,
                  RestoreCause::kInterruptedRun, log);
  }
}

// Steps 2 and 3 for one target: open, lock, recover, plan.
void OpenAndPlan(LoadSource& source, TargetRun& target, const LoadOptions& options,
                 std::stop_token stop, const RunLog& log) {
  target.control.emplace(OpenTarget(target.url));
  target.cancel_control = std::make_unique<CancelOnStop>(*target.control, stop);
  LockTarget(*target.control);
  target.server = RunningServerKey(*target.control);
  source.CheckTarget(target);
  RecoverTarget(source, target, options.jobs, log);
  Catalog catalog = ReadCatalog(*target.control);
  // Constraints left NOT VALID by an interrupted run were valid before it.
  for (const auto& [table, name] : target.journal->PendingValidations())
    for (auto& fk : catalog.foreign_keys)
      if (fk.table == table && fk.name == name) fk.validated = true;
  source.PlanTarget(target, catalog, stop, log);
  log.observer().PlanReady(target.plan);
  source.ThrowIfRefused(target);
  const Plan& plan = target.plan;
  log.Info("{}: {} tables, {} strategy, {} foreign keys and {} indexes set aside",
           target.report->target, plan.tables.size(),
           plan.strategy == LoadStrategy::kBulk ? "bulk" : "ordered", plan.deferred.size(),
           plan.indexes.size());
}

// After a failed load: the target's journal puts back what was set aside;
// what it cannot is left for `repair`. If the failure cut the control
// connection (and the run's lock with it), over a new one, locked again.
void PutBackAfterFailure(const LoadSource& source, TargetRun& target, int jobs, const RunLog& log) {
  if (!target.journal) return;  // never opened: nothing was set aside
  // A stop ended the run: the put-back itself must not be cancelled.
  target.cancel_control.reset();
  try {
    bool alive = true;
    try {
      target.control->Exec("SELECT 1");
    } catch (const Error&) {
      alive = false;
    }
    if (!alive) {
      target.journal.reset();
      target.control.emplace(OpenTarget(target.url));
      LockTarget(*target.control);
      target.journal = std::make_unique<Journal>(*target.control, NewRunId());
    }
    RecordRestore(target.journal->Restore(target.url, jobs), *target.report,
                  RestoreCause::kThisRunFailed, log);
  } catch (const Error& error) {
    log.Error("could not restore {} after the failure ({}); run `freshet repair`",
              target.report->target, error.what());
  }
  target.report->warnings.push_back(fmt::format(
      "the target's tables were truncated and are only partly loaded: rerun {}", source.Rerun()));
}

// Step 4, on every target; a failure puts back what the targets before it
// (and its own journal) set aside.
void PrepareTargets(const LoadSource& source, std::vector<TargetRun>& targets,
                    const LoadOptions& options, const RunLog& log) {
  for (size_t i = 0; i < targets.size(); ++i) {
    TargetRun& target = targets[i];
    if (target.resume) continue;  // set aside and truncated by the run that died
    try {
      PrepareTarget(*target.control, *target.journal, target.plan, options.lock_timeout, target.url,
                    log);
    } catch (...) {
      for (size_t j = 0; j < i; ++j) PutBackAfterFailure(source, targets[j], options.jobs, log);
      throw;
    }
  }
}

// Step 5: the one graph of loads and rebuilds. Returns each task's outcome;
// a failure that stops every target puts each one back and rethrows.
std::vector<TaskOutcome> LoadAndRebuild(LoadSource& source, std::vector<TargetRun>& targets,
                                        const LoadOptions& options, std::stop_token stop,
                                        const RunLog& log) {
  Progress progress(source.ScheduleLoads(targets), log);
  LoadRun run(targets, progress, log);
  try {
    TaskGraph graph;
    source.AddLoads(run, graph);
    std::function<Connection()> open_source = source.SourceOpener();
    std::function<Connection(size_t)> open_target = [&](size_t which) {
      return OpenRebuildTarget(targets.at(which).url);
    };
    progress.Start();
    auto outcomes = graph.Run(source.Workers(), open_source, open_target, stop, log);
    progress.Stop();
    return outcomes;
  } catch (...) {
    progress.Stop();
    for (auto& target : targets) PutBackAfterFailure(source, target, options.jobs, log);
    throw;
  }
}

// Step 6 for one target that loaded: what the rebuild could not restore,
// sequences, verification. A failure is the target's.
void FinishTarget(LoadSource& source, TargetRun& target, const std::vector<TaskOutcome>& outcomes,
                  const LoadOptions& options, std::stop_token stop, const RunLog& log) {
  try {
    if (target.rebuild) {
      RestoreOutcome restored = target.rebuild->Outcome(outcomes);
      for (const auto& problem : restored.problems) target.report->warnings.push_back(problem);
      if (!restored.problems.empty())
        throw Error(
            fmt::format("{}: the data is loaded but constraints could not all be restored:\n  - {}",
                        target.report->target, fmt::join(restored.problems, "\n  - ")));
    }
    RecordSequences(source.Sequences(target), *target.report, log);
    source.Loaded(target);
    if (options.verify) source.Verify(target, stop);
    if (!source.ResumeKey().empty()) target.journal->ClearRestoredFiles();  // nothing to resume
  } catch (const Error& error) {
    target.failure = error;
  }
}

// After the run: each failed target's report says why; one Error sums up.
void ThrowIfTargetsFailed(const LoadSource& source, std::vector<TargetRun>& targets) {
  std::vector<std::string> failed;
  std::optional<ErrorKind> kind;
  std::string only;
  for (auto& target : targets) {
    if (!target.failure) continue;
    target.report->ok = false;
    target.report->error = target.failure->what();
    if (!kind) kind = target.failure->kind();
    only = target.failure->what();
    failed.push_back(fmt::format("{}: {}", target.report->target, target.failure->what()));
  }
  if (failed.empty()) return;
  if (targets.size() == 1) throw TargetsFailed(*kind, only);
  throw TargetsFailed(
      *kind,
      fmt::format("{} failed on {} of {} targets (the others are done):\n  - {}", source.Rerun(),
                  failed.size(), targets.size(), fmt::join(failed, "\n  - ")));
}

}  // namespace

void LoadRun::MarkFailed(size_t i, const Error& error) {
  std::lock_guard lock(mutex_);
  TargetRun& target = targets_.at(i);
  if (target.failure) return;
  target.failure = error;
  if (targets_.size() > 1)
    log_.Error("{}; the rest of the run into {} is skipped, the other targets go on", error.what(),
               target.report->target);
  for (Connection* connection : copying_[i]) connection->Cancel();
}

bool LoadRun::Failed(size_t i) {
  std::lock_guard lock(mutex_);
  return targets_.at(i).failure.has_value();
}

bool LoadRun::StartCopy(size_t i, Connection* connection) {
  std::lock_guard lock(mutex_);
  if (targets_.at(i).failure) return false;
  copying_[i].push_back(connection);
  return true;
}

void LoadRun::EndCopy(size_t i, Connection* connection) {
  std::lock_guard lock(mutex_);
  std::erase(copying_[i], connection);
}

void LoadRun::AddRebuild(size_t i, TaskGraph& graph,
                         const std::function<std::vector<size_t>(const QualifiedName&)>& gate,
                         std::optional<size_t> resource) {
  TargetRun& target = targets_.at(i);
  size_t first = graph.size();
  target.rebuild = std::make_unique<RestoreTasks>(target.journal->Entries(), *target.control, i);
  target.rebuild->AddTo(graph, gate);
  if (resource) graph.SetResources(first, {*resource});
  // A failed target's journal puts back what is left, after the run.
  graph.CheckBefore(first, [this, i] {
    if (Failed(i)) throw Error("skipped: the load into this target failed");
  });
}

void RunLoad(LoadSource& source, std::vector<TargetRun>& targets, const LoadOptions& options,
             std::stop_token stop, const RunLog& log) {
  auto started = Clock::now();
  if (targets.empty()) throw Error(ErrorKind::kUsage, "no target: pass --to URL");
  StartReports(source, targets);
  source.Check(stop);
  ThrowIfStopped(stop, source.Command());
  for (auto& target : targets) OpenAndPlan(source, target, options, stop, log);
  ThrowIfStopped(stop, source.Command());  // nothing written yet
  PrepareTargets(source, targets, options, log);
  std::vector<TaskOutcome> outcomes = LoadAndRebuild(source, targets, options, stop, log);
  double rebuild_seconds = std::chrono::duration<double>(Clock::now() - source.LastLoad()).count();
  for (auto& target : targets) {
    target.report->rebuild_seconds = rebuild_seconds;
    if (target.failure) {
      PutBackAfterFailure(source, target, options.jobs, log);
    } else {
      source.LoadsDone(target);
      FinishTarget(source, target, outcomes, options, stop, log);
    }
    target.report->seconds = std::chrono::duration<double>(Clock::now() - started).count();
  }
  ThrowIfTargetsFailed(source, targets);
  source.Finish();
}

}  // namespace freshet
