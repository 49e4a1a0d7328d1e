#include "sync/engine/run_steps.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <functional>
#include <map>
#include <random>

#include "copy/pooler_check.h"
#include "sync/engine/source_snapshot.h"
#include "sync/engine/sync_state.h"

namespace freshet {
namespace {

// Session advisory lock key: one freshet run per target database at a time.
constexpr std::string_view kLockSql = "SELECT pg_catalog.pg_try_advisory_lock(1718773092, 1)";
constexpr std::string_view kWaitForLockSql = "SELECT pg_catalog.pg_advisory_lock(1718773092, 1)";
constexpr std::string_view kLockNotAvailable = "55P03";

// Waits on the lock under `lock_timeout` = `wait`, then puts the session's
// lock_timeout back. False when the wait ran out.
bool WaitForTargetLock(Connection& target, std::chrono::seconds wait) {
  std::string before = target.Exec("SELECT pg_catalog.current_setting('lock_timeout')").Get(0, 0);
  target.Exec("SELECT pg_catalog.set_config('lock_timeout', $1, false)",
              {fmt::format("{}s", wait.count())});
  bool locked = true;
  try {
    target.Exec(kWaitForLockSql);
  } catch (const Error& error) {
    if (error.sqlstate() != kLockNotAvailable) throw;
    locked = false;
  }
  target.Exec("SELECT pg_catalog.set_config('lock_timeout', $1, false)", {before});
  return locked;
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
  RequireSessionPerConnection(url, "target");
  Connection target = Connection::Open(url, "target");
  PinSyncSettings(target);
  return target;
}

void LockTarget(Connection& target, std::chrono::seconds wait) {
  if (target.Exec(kLockSql).GetBool(0, 0)) return;
  if (wait.count() <= 0)
    throw Error(
        fmt::format("{}: another freshet run is writing to this database; wait for it "
                    "to finish",
                    target.Describe()));
  if (!WaitForTargetLock(target, wait))
    throw Error(fmt::format(
        "{}: another freshet run is writing to this database, and it did not end within {}s",
        target.Describe(), wait.count()));
}

void RecordRestore(const RestoreOutcome& outcome, RunReport& report, RestoreCause cause,
                   const RunLog& log) {
  for (const auto& line : outcome.restored) {
    if (cause == RestoreCause::kInterruptedRun)
      log.Warn("restored from an interrupted run: {}", line);
    else
      log.Info("put back after the failure: {}", line);
    log.observer().RebuildStep(line);
    report.restored.push_back(line);
  }
  for (const auto& problem : outcome.problems) {
    log.Warn("{}", problem);
    report.warnings.push_back(problem);
  }
}

void RecordSequences(const SequenceOutcome& outcome, RunReport& report, const RunLog& log) {
  for (const auto& line : outcome.lines) log.Debug("sequence {}", line);
  for (const auto& warning : outcome.warnings) {
    log.Warn("{}", warning);
    report.warnings.push_back(warning);
  }
}

void ThrowIfPlanErrors(const Plan& plan) {
  if (plan.ok()) return;
  throw Error(ErrorKind::kPlan,
              fmt::format("the sync cannot start:\n  - {}", fmt::join(plan.errors, "\n  - ")));
}

void FillPlanReport(const Plan& plan, RunReport& report) {
  if (plan.ok()) {  // a refused plan has no strategy
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
  for (const auto& table : plan.tables)
    for (const auto& mask : table.masks)
      report.masked_columns.push_back(fmt::format("{}.{}: rule {}, {} ({})", table.name.Display(),
                                                  mask.column, mask.rule.rule, MaskPlacement(mask),
                                                  mask.origin));
  if (plan.subset) report.subset = SubsetSummary(*plan.subset);
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

namespace {

// One change of the preparation, with the locks it is expected to take.
struct PrepareStep {
  int locks = 1;
  std::function<void()> apply;
};

// How many locks one preparation transaction may take: half the server's
// shared lock table (max_locks_per_transaction x (max_connections +
// max_prepared_transactions)), so that sessions of the load and of other
// clients keep room. Thousands of tables set aside in one transaction would
// otherwise end in "out of shared memory".
int LockBudget(Connection& target) {
  Result row = target.Exec(
      "SELECT pg_catalog.current_setting('max_locks_per_transaction')::int * "
      "(pg_catalog.current_setting('max_connections')::int + "
      "pg_catalog.current_setting('max_prepared_transactions')::int)");
  return std::max<int>(64, static_cast<int>(row.GetInt(0, 0) / 2));
}

// Tables that must be truncated in one statement: those joined by foreign
// keys that stay in place during the load (the ordered strategy's parents).
std::vector<std::vector<size_t>> TruncateGroups(const Plan& plan) {
  std::vector<size_t> group(plan.tables.size());
  for (size_t i = 0; i < group.size(); ++i) group[i] = i;
  std::function<size_t(size_t)> find = [&](size_t i) {
    return group[i] == i ? i : group[i] = find(group[i]);
  };
  for (size_t i = 0; i < plan.tables.size(); ++i)
    for (int parent : plan.tables[i].prerequisites) group[find(i)] = find(parent);
  std::map<size_t, std::vector<size_t>> members;
  for (size_t i = 0; i < plan.tables.size(); ++i) members[find(i)].push_back(i);
  std::vector<std::vector<size_t>> out;
  for (auto& [root, tables] : members) out.push_back(std::move(tables));
  return out;
}

// TRUNCATE the given planned tables in one statement. ONLY keeps inheritance
// children out; partitioned roots take their partitions.
std::string TruncateSql(const Plan& plan, const std::vector<size_t>& tables) {
  std::vector<std::string> names;
  for (size_t t : tables)
    names.push_back((plan.tables[t].target_kind == TableKind::kTable ? "ONLY " : "") +
                    plan.tables[t].name.Quoted());
  return fmt::format("TRUNCATE TABLE {}", fmt::join(names, ", "));
}

// Everything set aside on one relation, in as few statements as PostgreSQL
// allows: each DDL statement wakes event triggers (on Supabase, PostgREST's
// schema reload), so one ALTER TABLE takes all of a relation's constraint
// drops, trigger disables and FORCE lift, and one DROP INDEX its plain
// indexes.
struct RelationChanges {
  std::vector<const DeferredIndex*> indexes;
  std::vector<const TriggerToDisable*> triggers;
  bool force_row_security = false;
};

void ApplyRelationChanges(Connection& target, Journal& journal, const QualifiedName& relation,
                          const RelationChanges& changes) {
  std::vector<std::string> clauses;
  std::vector<std::string> plain;
  for (const DeferredIndex* index : changes.indexes) {
    journal.RecordIndex(*index);
    if (index->constraint_name.empty())
      plain.push_back(QuoteIdent(relation.schema) + "." + QuoteIdent(index->name));
    else
      clauses.push_back("DROP CONSTRAINT " + QuoteIdent(index->constraint_name));
  }
  for (const TriggerToDisable* trigger : changes.triggers) {
    journal.RecordTrigger(*trigger);
    clauses.push_back("DISABLE TRIGGER " + QuoteIdent(trigger->name));
  }
  if (changes.force_row_security) {
    journal.RecordForceRowSecurity(relation);
    clauses.push_back("NO FORCE ROW LEVEL SECURITY");
  }
  if (!clauses.empty())
    target.Exec(fmt::format("ALTER TABLE {} {}", relation.Quoted(), fmt::join(clauses, ", ")));
  if (!plain.empty()) target.Exec(fmt::format("DROP INDEX {}", fmt::join(plain, ", ")));
}

std::vector<PrepareStep> PrepareSteps(Connection& target, Journal& journal, const Plan& plan,
                                      int budget) {
  std::vector<PrepareStep> steps;
  // Foreign keys first (a key must go before the index it depends on), one
  // ALTER TABLE per table.
  std::map<QualifiedName, std::vector<const DeferredConstraint*>> keys;
  for (const auto& deferred : plan.deferred) keys[deferred.table].push_back(&deferred);
  for (auto& [table, list] : keys)
    steps.push_back(
        {3 * static_cast<int>(list.size()), [&target, &journal, table = table, list = list] {
           std::vector<std::string> clauses;
           for (const DeferredConstraint* key : list) {
             journal.RecordConstraint(*key);
             clauses.push_back("DROP CONSTRAINT " + QuoteIdent(key->name));
           }
           target.Exec(fmt::format("ALTER TABLE {} {}", table.Quoted(), fmt::join(clauses, ", ")));
         }});
  std::map<QualifiedName, RelationChanges> changes;
  std::map<QualifiedName, int> locks;
  for (const auto& index : plan.indexes) {
    changes[index.table].indexes.push_back(&index);
    locks[index.table] += 3 + 2 * static_cast<int>(index.partitions.size());
  }
  for (const auto& table : plan.tables) {
    for (const auto& trigger : table.triggers) {
      changes[trigger.table].triggers.push_back(&trigger);
      locks[trigger.table] += 2;
    }
    for (const auto& relation : table.force_row_security) {
      changes[relation].force_row_security = true;
      locks[relation] += 2;
    }
  }
  for (auto& [relation, change] : changes)
    steps.push_back({locks[relation], [&target, &journal, relation = relation, change = change] {
                       ApplyRelationChanges(target, journal, relation, change);
                     }});
  // Grouped tables are truncated together; groups are packed into
  // statements that fit the lock budget.
  std::vector<size_t> batch;
  int batch_locks = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    steps.push_back({batch_locks,
                     [&target, &plan, tables = batch] { target.Exec(TruncateSql(plan, tables)); }});
    batch.clear();
    batch_locks = 0;
  };
  for (const auto& group : TruncateGroups(plan)) {
    int group_locks = 0;
    for (size_t t : group) group_locks += 4 + 4 * static_cast<int>(plan.tables[t].units.size());
    if (batch_locks + group_locks > budget) flush();
    batch.insert(batch.end(), group.begin(), group.end());
    batch_locks += group_locks;
  }
  flush();
  return steps;
}

}  // namespace

// Journals and applies everything that is not data (foreign keys and indexes
// set aside, triggers disabled, FORCE ROW LEVEL SECURITY lifted), then
// truncates. Usually one transaction; when that would take more locks than
// the server can spare, several, each journaling what it changes, and a
// failure puts back what earlier ones did.
void PrepareTarget(Connection& target, Journal& journal, const Plan& plan,
                   const std::string& lock_timeout, const std::string& target_url,
                   const RunLog& log) {
  journal.Ensure();
  const int budget = LockBudget(target);
  std::vector<PrepareStep> steps = PrepareSteps(target, journal, plan, budget);
  size_t done = 0;
  int transactions = 0;
  try {
    while (done < steps.size()) {
      InTransaction(target, [&] {
        target.Exec("SET LOCAL lock_timeout = " + QuoteLiteral(lock_timeout));
        // The tables are truncated again: no file of an earlier restore counts.
        if (transactions == 0) journal.ClearRestoredFiles();
        // ... and no incremental state: the next incremental run refreshes
        // them whole unless this load records a new one when it succeeds.
        if (transactions == 0) ForgetStates(target, plan);
        int locks = 0;
        size_t next = done;
        while (next < steps.size() && (next == done || locks + steps[next].locks <= budget)) {
          locks += steps[next].locks;
          steps[next++].apply();
        }
        done = next;
      });
      ++transactions;
    }
  } catch (...) {
    if (transactions > 0) {
      log.Warn(
          "{}: preparing the target failed after {} of its transactions; putting back "
          "what they set aside",
          target.Describe(), transactions);
      try {
        journal.Restore(target_url, 1);
      } catch (const Error& error) {
        log.Error("could not put back the target ({}); run `freshet repair`", error.what());
      }
    }
    throw;
  }
  if (transactions > 1)
    log.Info("{}: prepared in {} transactions ({} locks at most in each)", target.Describe(),
             transactions, budget);
}

}  // namespace freshet
