#include "sync/sync_run.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "copy/conninfo.h"
#include "sync/loader.h"
#include "sync/progress.h"
#include "sync/sequences.h"
#include "sync/source_snapshot.h"
#include "sync/verify.h"

namespace freshet {
namespace {

// Session advisory lock key: one freshet run per target database at a time.
constexpr std::string_view kLockSql = "SELECT pg_catalog.pg_try_advisory_lock(1718773092, 1)";

std::string NewRunId() {
  auto now = std::chrono::system_clock::now();
  std::random_device random;
  return fmt::format("{:%Y%m%dT%H%M%S}-{:08x}",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(now)), random());
}

std::string NowIso() {
  return fmt::format(
      "{:%Y-%m-%dT%H:%M:%SZ}",
      fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

Connection OpenTarget(const std::string& url) {
  Connection target = Connection::Open(url, "target");
  PinSyncSettings(target);
  return target;
}

void LockTarget(Connection& target) {
  if (!target.Exec(kLockSql).GetBool(0, 0))
    throw Error(
        fmt::format("{}: another freshet run is writing to this database; wait for it "
                    "to finish",
                    target.Describe()));
}

void RecordRestore(const RestoreOutcome& outcome, RunReport& report) {
  for (const auto& line : outcome.restored) {
    spdlog::warn("restored from an interrupted run: {}", line);
    report.restored.push_back(line);
  }
  for (const auto& problem : outcome.problems) {
    spdlog::warn("{}", problem);
    report.warnings.push_back(problem);
  }
}

void ThrowIfPlanErrors(const Plan& plan) {
  if (plan.ok()) return;
  throw Error(ErrorKind::kPlan,
              fmt::format("the sync cannot start:\n  - {}", fmt::join(plan.errors, "\n  - ")));
}

void FillPlanReport(const Plan& plan, RunReport& report) {
  if (report.command == "sync") {
    report.strategy = plan.strategy == LoadStrategy::kBulk ? "bulk" : "ordered";
    report.indexes_rebuilt = plan.indexes.size();
  }
  for (const auto& deferred : plan.deferred)
    report.deferred_constraints.push_back(fmt::format(
        "{}.{} ({})", deferred.table.Display(), deferred.name, DeferReasonText(deferred.reason)));
  for (const auto& name : plan.source_only_tables)
    report.source_only_tables.push_back(name.Display());
  for (const auto& name : plan.target_only_tables)
    report.target_only_tables.push_back(name.Display());
  report.warnings.insert(report.warnings.end(), plan.warnings.begin(), plan.warnings.end());
  for (const auto& table : plan.tables) {
    TableReport row;
    row.table = table.name.Display();
    row.format = table.mapping.format == CopyFormat::kBinary ? "binary" : "text";
    row.route = table.route;
    for (const auto& deferred : plan.deferred)
      if (deferred.table == table.name) row.deferred_constraints.push_back(deferred.name);
    report.tables.push_back(std::move(row));
  }
}

// TRUNCATE every planned table in one statement (foreign keys among them need
// that). ONLY keeps inheritance children out; partitioned roots take theirs.
std::string TruncateSql(const Plan& plan) {
  std::vector<std::string> names;
  for (const auto& table : plan.tables)
    names.push_back((table.target_kind == TableKind::kTable ? "ONLY " : "") + table.name.Quoted());
  return fmt::format("TRUNCATE TABLE {}", fmt::join(names, ", "));
}

// Journals and applies everything that is not data, then truncates: one
// transaction, so a failure here leaves the target as it was.
void PrepareTarget(Connection& target, Journal& journal, const Plan& plan,
                   const std::string& lock_timeout) {
  journal.Ensure();
  InTransaction(target, [&] {
    target.Exec("SET LOCAL lock_timeout = " + QuoteLiteral(lock_timeout));
    for (const auto& deferred : plan.deferred) journal.DropConstraint(deferred);
    for (const auto& index : plan.indexes) journal.DropIndex(index);
    for (const auto& table : plan.tables)
      for (const auto& trigger : table.triggers) journal.DisableTrigger(trigger);
    if (!plan.tables.empty()) target.Exec(TruncateSql(plan));
  });
}

void CheckVerification(RunReport& report) {
  report.verified = true;
  auto mismatched = report.Mismatched();
  if (!mismatched.empty())
    throw Error(ErrorKind::kMismatch,
                fmt::format("verification failed: {} differ between source and target",
                            fmt::join(mismatched, ", ")));
}

void Verify(const Plan& plan, const SourceSnapshot& snapshot, const SyncOptions& options,
            RunReport& report, std::stop_token stop) {
  spdlog::info("verifying {} tables", plan.tables.size());
  auto results = VerifyTables(plan, snapshot, options.target_url, options.jobs, stop);
  for (size_t i = 0; i < results.size(); ++i) {
    report.tables[i].verification = results[i];
    if (report.command == "verify") report.tables[i].rows = results[i].target.rows;
  }
  CheckVerification(report);
}

}  // namespace

Plan PlanOnly(const SyncOptions& options, bool* pending_journal) {
  Connection source = Connection::Open(options.source_url, "source");
  Catalog source_catalog = ReadCatalog(source);
  Connection target = OpenTarget(options.target_url);
  Catalog target_catalog = ReadCatalog(target);
  Journal journal(target, "plan");
  if (pending_journal) *pending_journal = journal.HasEntries();
  return BuildPlan(source_catalog, target_catalog, options.plan);
}

void RunSync(const SyncOptions& options, RunReport& report, std::stop_token stop) {
  auto started = std::chrono::steady_clock::now();
  report.command = "sync";
  report.started_at = NowIso();
  report.source = ConnInfo::Parse(options.source_url).Describe();
  ConnInfo target_info = ConnInfo::Parse(options.target_url);
  report.target = target_info.Describe();
  CheckTargetAllowed(target_info, options.safety);

  SourceSnapshot snapshot(options.source_url);
  ServerIdentity source_identity = IdentifyServer(snapshot.control());
  Catalog source_catalog = ReadCatalog(snapshot.control());
  Connection target = OpenTarget(options.target_url);
  if (SameDatabase(source_identity, IdentifyServer(target), target))
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to sync: the target {} is the source database itself",
                            report.target));
  LockTarget(target);
  std::string run_id = NewRunId();
  Journal journal(target, run_id);
  if (journal.HasEntries()) {
    spdlog::warn("{}: an earlier run was interrupted; restoring what it set aside first",
                 report.target);
    RecordRestore(journal.Restore(options.target_url, options.jobs), report);
  }
  Catalog target_catalog = ReadCatalog(target);
  // Constraints left NOT VALID by an interrupted run were valid before it.
  for (const auto& [table, name] : journal.PendingValidations())
    for (auto& fk : target_catalog.foreign_keys)
      if (fk.table == table && fk.name == name) fk.validated = true;
  Plan plan = BuildPlan(source_catalog, target_catalog, options.plan);
  FillPlanReport(plan, report);
  ThrowIfPlanErrors(plan);
  spdlog::info("run {}: {} tables, {} strategy, {} foreign keys and {} indexes set aside, {} jobs",
               run_id, plan.tables.size(),
               plan.strategy == LoadStrategy::kBulk ? "bulk" : "ordered", plan.deferred.size(),
               plan.indexes.size(), options.jobs);

  PrepareTarget(target, journal, plan, options.lock_timeout);
  std::vector<Progress::Item> items;
  for (const auto& table : plan.tables)
    items.push_back({table.name.Display(), table.estimated_rows, table.estimated_bytes});
  Progress progress(std::move(items), options.interactive_progress);
  std::vector<TableLoad> loads;
  try {
    progress.Start();
    loads = LoadTables(plan, snapshot, options.target_url, options.jobs, &progress, stop);
    progress.Stop();
    for (const auto& line : SyncSequences(plan, snapshot.control(), target))
      spdlog::debug("sequence {}", line);
  } catch (...) {
    progress.Stop();
    // Put constraints and triggers back even though the data is partial; what
    // cannot be restored stays journaled for the next run.
    try {
      RecordRestore(journal.Restore(options.target_url, options.jobs), report);
    } catch (const Error& error) {
      spdlog::error(
          "could not restore the target after the failure ({}); run `freshet repair` "
          "or the next sync to restore it",
          error.what());
    }
    report.warnings.push_back(
        "the target's synced tables were truncated and are only partly loaded: rerun the sync");
    throw;
  }
  for (size_t i = 0; i < loads.size(); ++i) {
    report.tables[i].rows = loads[i].rows;
    report.tables[i].bytes = loads[i].bytes;
    report.tables[i].seconds = loads[i].seconds;
  }
  if (!plan.indexes.empty() || !plan.deferred.empty())
    spdlog::info("rebuilding {} indexes and re-adding {} foreign keys", plan.indexes.size(),
                 plan.deferred.size());
  auto rebuild_started = std::chrono::steady_clock::now();
  RestoreOutcome restored = journal.Restore(options.target_url, options.jobs);
  report.rebuild_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - rebuild_started).count();
  for (const auto& problem : restored.problems) report.warnings.push_back(problem);
  if (!restored.problems.empty())
    throw Error(fmt::format("the data is loaded but constraints could not all be restored:\n  - {}",
                            fmt::join(restored.problems, "\n  - ")));
  if (options.verify) Verify(plan, snapshot, options, report, stop);
  snapshot.Finish();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

void RunVerify(const SyncOptions& options, RunReport& report, std::stop_token stop) {
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
  Verify(plan, snapshot, options, report, stop);
  snapshot.Finish();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

RestoreOutcome RunRepair(const std::string& target_url, int jobs) {
  Connection target = OpenTarget(target_url);
  LockTarget(target);
  Journal journal(target, "repair");
  return journal.Restore(target_url, jobs);
}

}  // namespace freshet
