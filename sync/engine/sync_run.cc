#include "sync/engine/sync_run.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <memory>
#include <optional>

#include "copy/conninfo.h"
#include "copy/pooler_check.h"
#include "sync/engine/fit_check.h"
#include "sync/engine/incremental_run.h"
#include "sync/engine/incremental_stage.h"
#include "sync/engine/loader.h"
#include "sync/engine/progress.h"
#include "sync/engine/restore_tasks.h"
#include "sync/engine/run_steps.h"
#include "sync/engine/sequences.h"
#include "sync/engine/source_snapshot.h"
#include "sync/engine/target_rules.h"
#include "sync/engine/target_run.h"
#include "sync/engine/verify.h"

namespace freshet {
namespace {

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

void VerifyAgainstSource(const Plan& plan, const SourceSnapshot& snapshot,
                         const SyncOptions& options, RunReport& report, std::stop_token stop,
                         const RunLog& log) {
  log.Info("verifying {} tables", plan.tables.size());
  auto results = VerifyTables(plan, snapshot, options.target_url, options.jobs, stop);
  for (size_t i = 0; i < results.size(); ++i) {
    report.tables[i].verification = results[i];
    if (report.command == "verify") report.tables[i].rows = results[i].target.rows;
  }
  CheckVerification(report);
}

// Incremental runs move changed rows of whole tables: a subset's closure is
// not kept up to date by them.
void CheckSubsetRun(const SyncOptions& options) {
  if (options.plan.subset.any() && options.incremental.enabled)
    throw Error(ErrorKind::kRefused,
                "refusing to sync: a [subset] is taken by full syncs only; run without "
                "--incremental (or without the [subset] section)");
}

}  // namespace

Plan PlanOnly(const SyncOptions& options, bool* pending_journal, std::stop_token stop) {
  RequireSessionPerConnection(options.source_url, "source");
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
  RunLog log(ObserverOf(options));
  Plan plan;
  if (options.incremental.enabled) {
    CheckSubsetRun(options);
    plan = PlanIncremental(source, source_catalog, target, target_catalog, options,
                           ReadHorizon(source), log);
  } else {
    plan = BuildPlan(source_catalog, target_catalog, options.plan);
    // The same data check as a sync, so that plan and sync agree.
    if (plan.ok()) CheckSourceFits(source, source_catalog, target_catalog, plan, log);
    PlanSampledCoverage(source, source_catalog, options.plan.masks, plan);
    if (plan.ok()) CheckTargetRules(source, target, source_catalog, target_catalog, plan, log);
    if (plan.ok() && options.plan.subset.any()) {  // in one snapshot, as a sync takes it
      source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      ApplySubset(source, source_catalog, target_catalog, options.plan.subset, plan, log);
      source.Exec("COMMIT");
    }
  }
  ThrowIfStopped(stop, "plan");
  log.observer().PlanReady(plan);
  return plan;
}

namespace {

// Masking needs its key, and a masked target needs masking. Incremental
// runs mask as a full sync does: ChooseModes refreshes a masked table whole
// where its mode would compare masked columns, or where its masking changed
// since the last run (sync/engine/incremental_choose.cc).
void CheckMasking(const SyncOptions& options) {
  const MaskSettings& masks = options.plan.masks;
  if (options.safety.masked_target && !masks.any())
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to sync: target {} is marked masked = true and this run has "
                            "no [mask] rules",
                            options.safety.target_name));
  if (!masks.any()) return;
  if (!masks.key)
    throw Error(ErrorKind::kRefused,
                "refusing to sync: the [mask] rules need a key; set FRESHET_MASK_KEY (or [mask] "
                "key_file or key_env), or pass --mask-key-ephemeral for a throwaway target");
}

}  // namespace

void RunSync(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  Observed(options, report, [&] {
    CheckMasking(options);
    CheckSubsetRun(options);
    if (options.incremental.enabled)
      IncrementalSync(options, report, stop);
    else
      SyncRun(options, report, stop);
  });
}

void RunVerify(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  Observed(options, report, [&] { VerifyRun(options, report, stop); });
}

namespace {

// A live source, read in one exported snapshot, as the rows of a load into
// one target (sync/engine/target_run.h).
class SyncLoads final : public LoadSource {
 public:
  SyncLoads(const SyncOptions& options, const RunLog& log) : options_(options), log_(log) {}

  std::string Describe() const override { return ConnInfo::Parse(options_.source_url).Describe(); }
  std::string Command() const override { return "sync"; }
  std::string Rerun() const override { return "the sync"; }

  void Check(std::stop_token stop) override {
    snapshot_.emplace(options_.source_url);
    // Every query of the control connection (the catalog, the checks of the
    // source's rows, sequences) is cancelled by a stop, like the streams.
    cancel_source_ = std::make_unique<CancelOnStop>(snapshot_->control(), stop);
    identity_ = IdentifyServer(snapshot_->control());
    horizon_ = ReadHorizon(snapshot_->control());
    catalog_ = ReadCatalog(snapshot_->control());
  }

  void CheckTarget(TargetRun& target) override {
    if (SameDatabase(identity_, IdentifyServer(*target.control), *target.control))
      throw Error(ErrorKind::kRefused,
                  fmt::format("refusing to sync: the target {} is the source database itself",
                              target.report->target));
  }

  void PlanTarget(TargetRun& target, const Catalog& target_catalog, std::stop_token,
                  const RunLog& log) override {
    Plan& plan = target.plan;
    plan = BuildPlan(catalog_, target_catalog, options_.plan);
    target_catalog_ = target_catalog;
    if (plan.ok()) CheckSourceFits(snapshot_->control(), catalog_, target_catalog, plan, log);
    PlanSampledCoverage(snapshot_->control(), catalog_, options_.plan.masks, plan);
    if (plan.ok())
      CheckTargetRules(snapshot_->control(), *target.control, catalog_, target_catalog, plan, log);
    if (plan.ok())
      ApplySubset(snapshot_->control(), catalog_, target_catalog, options_.plan.subset, plan, log);
    FillPlanReport(plan, *target.report);
  }

  void ThrowIfRefused(const TargetRun& target) const override { ThrowIfPlanErrors(target.plan); }

  std::vector<Progress::Item> ScheduleLoads(std::vector<TargetRun>& targets) override {
    target_ = &targets.front();
    std::vector<Progress::Item> items;
    for (const auto& table : plan().tables)
      items.push_back({table.name.Display(), table.estimated_rows, table.estimated_bytes});
    return items;
  }

  // Loads and the rebuild of what was set aside run as one task graph: each
  // table's indexes, foreign keys and triggers come back as soon as the
  // tables they need are loaded, while larger tables are still streaming.
  void AddLoads(LoadRun& run, TaskGraph& graph) override {
    loads_.emplace(plan(), &run.progress(), options_.retry, log_);
    loads_->AddTo(graph);
    run.AddRebuild(0, graph,
                   [this](const QualifiedName& relation) { return loads_->Gate(relation); });
    log_.Info("{} tables in {} jobs", plan().tables.size(), options_.jobs);
  }

  int Workers() const override { return options_.jobs; }
  std::function<Connection()> SourceOpener() override {
    return [this] { return snapshot_->OpenWorker(); };
  }

  void LoadsDone(TargetRun& target) override {
    std::vector<TableLoad> table_loads = loads_->loads();
    for (size_t i = 0; i < table_loads.size(); ++i) {
      TableReport& table = target.report->tables[i];
      table.rows = table_loads[i].rows;
      table.bytes = table_loads[i].bytes;
      table.seconds = table_loads[i].seconds;
      table.retries = table_loads[i].retries;
    }
  }
  std::chrono::steady_clock::time_point LastLoad() const override {
    return loads_ ? loads_->last_done() : std::chrono::steady_clock::now();
  }

  SequenceOutcome Sequences(TargetRun& target) override {
    return SyncSequences(target.plan, snapshot_->control(), *target.control);
  }
  // The target now holds the source as of this run's snapshot: recorded, so
  // the next incremental run moves only what changed since.
  void Loaded(TargetRun& target) override {
    if (target.plan.subset) return;  // a subset is no base for incremental runs
    Plan modes = target.plan;
    ChooseModes(modes, catalog_, target_catalog_, {}, options_.incremental);
    if (auto problem =
            RecordFullLoad(*target.control, catalog_, Describe(), horizon_, modes, NewRunId()))
      target.report->warnings.push_back(*problem);
  }
  void Verify(TargetRun& target, std::stop_token stop) override {
    VerifyAgainstSource(target.plan, *snapshot_, options_, *target.report, stop, log_);
  }
  void Finish() override { snapshot_->Finish(); }

 private:
  // Only after ScheduleLoads: a sync has one target.
  const Plan& plan() const { return target_->plan; }

  const SyncOptions& options_;
  RunLog log_;
  std::optional<SourceSnapshot> snapshot_;
  std::unique_ptr<CancelOnStop> cancel_source_;
  ServerIdentity identity_;
  Catalog catalog_;
  Catalog target_catalog_;
  SourceHorizon horizon_;
  TargetRun* target_ = nullptr;
  std::optional<LoadTasks> loads_;
};

void SyncRun(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  const RunLog log(ObserverOf(options));
  SyncLoads source(options, log);
  std::vector<TargetRun> targets(1);
  targets[0].url = options.target_url;
  targets[0].safety = options.safety;
  targets[0].report = &report;
  LoadOptions load{options.jobs, options.verify, options.lock_timeout};
  RunLoad(source, targets, load, stop, log);
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
  ApplySubset(snapshot.control(), source_catalog, target_catalog, options.plan.subset, plan, log);
  FillPlanReport(plan, report);
  // Plan errors concern writing (ownership, foreign keys leaving the sync,
  // NOT NULL target-only columns); the shared columns compare regardless.
  log.observer().PlanReady(plan);
  VerifyAgainstSource(plan, snapshot, options, report, stop, log);
  snapshot.Finish();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

}  // namespace

RestoreOutcome RunRepair(const std::string& target_url, int jobs, std::chrono::seconds lock_wait) {
  Connection target = OpenTarget(target_url);
  LockTarget(target, lock_wait);
  DropStaging(target);  // an interrupted incremental run's staging tables
  Journal journal(target, "repair");
  return journal.Restore(target_url, jobs);
}

}  // namespace freshet
