#include "sync/run_steps.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "sync/source_snapshot.h"

namespace freshet {
namespace {

// Session advisory lock key: one freshet run per target database at a time.
constexpr std::string_view kLockSql = "SELECT pg_catalog.pg_try_advisory_lock(1718773092, 1)";

// TRUNCATE every planned table in one statement (foreign keys among them need
// that). ONLY keeps inheritance children out; partitioned roots take theirs.
std::string TruncateSql(const Plan& plan) {
  std::vector<std::string> names;
  for (const auto& table : plan.tables)
    names.push_back((table.target_kind == TableKind::kTable ? "ONLY " : "") + table.name.Quoted());
  return fmt::format("TRUNCATE TABLE {}", fmt::join(names, ", "));
}

}  // namespace

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

void RecordRestore(const RestoreOutcome& outcome, RunReport& report, RestoreCause cause) {
  for (const auto& line : outcome.restored) {
    if (cause == RestoreCause::kInterruptedRun)
      spdlog::warn("restored from an interrupted run: {}", line);
    else
      spdlog::info("put back after the failure: {}", line);
    report.restored.push_back(line);
  }
  for (const auto& problem : outcome.problems) {
    spdlog::warn("{}", problem);
    report.warnings.push_back(problem);
  }
}

void RecordSequences(const SequenceOutcome& outcome, RunReport& report) {
  for (const auto& line : outcome.lines) spdlog::debug("sequence {}", line);
  for (const auto& warning : outcome.warnings) {
    spdlog::warn("{}", warning);
    report.warnings.push_back(warning);
  }
}

void ThrowIfPlanErrors(const Plan& plan) {
  if (plan.ok()) return;
  throw Error(ErrorKind::kPlan,
              fmt::format("the sync cannot start:\n  - {}", fmt::join(plan.errors, "\n  - ")));
}

void FillPlanReport(const Plan& plan, RunReport& report) {
  if (report.command == "sync" && plan.ok()) {
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

// Journals and applies everything that is not data, then truncates: one
// transaction, so a failure here leaves the target as it was.
void PrepareTarget(Connection& target, Journal& journal, const Plan& plan,
                   const std::string& lock_timeout) {
  journal.Ensure();
  InTransaction(target, [&] {
    target.Exec("SET LOCAL lock_timeout = " + QuoteLiteral(lock_timeout));
    for (const auto& deferred : plan.deferred) journal.DropConstraint(deferred);
    for (const auto& index : plan.indexes) journal.DropIndex(index);
    for (const auto& table : plan.tables) {
      for (const auto& trigger : table.triggers) journal.DisableTrigger(trigger);
      for (const auto& relation : table.force_row_security) journal.LiftForceRowSecurity(relation);
    }
    if (!plan.tables.empty()) target.Exec(TruncateSql(plan));
  });
}

}  // namespace freshet
