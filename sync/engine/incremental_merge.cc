#include "sync/engine/incremental_merge.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sync/engine/incremental_sql.h"
#include "sync/engine/restore_tasks.h"
#include "sync/engine/test_hooks.h"

namespace freshet {
namespace {

bool Written(const TableStage& stage) {
  return stage.staged_rows || stage.staged_deletes || stage.replace_all ||
         !stage.replace_where.empty();
}

// A foreign key that closes a cycle among the written tables.
struct CycleKey {
  size_t child = 0;  // plan table index
  const ForeignKey* key = nullptr;
  std::string definition;
  bool nullable = false;
};

const ForeignKey* FindKey(const Catalog& catalog, const DeferredConstraint& deferred) {
  for (const auto& key : catalog.foreign_keys)
    if (key.table == deferred.table && key.name == deferred.name) return &key;
  return nullptr;
}

// The definition to re-add `deferred` with: NOT VALID when the plan says so
// (a key into a table outside the sync).
std::string ReaddedAs(const std::string& definition, bool validate) {
  return WithoutNotValid(definition) + (validate ? "" : " NOT VALID");
}

std::string Readded(const DeferredConstraint& deferred) {
  return ReaddedAs(deferred.definition, deferred.validate);
}

// The foreign keys the merge sets aside on tables it writes: those closing
// a cycle (nullable ones are written NULL then set; the others dropped and
// re-added) and those into tables outside the sync (dropped, re-added as
// the plan says).
std::vector<CycleKey> CycleKeys(const Plan& plan, const Catalog& catalog,
                                const std::vector<TableStage>& stages) {
  std::vector<CycleKey> cycles;
  for (const auto& deferred : plan.deferred) {
    if (deferred.reason != DeferReason::kCycle && deferred.reason != DeferReason::kOutsideSync)
      continue;
    const ForeignKey* key = FindKey(catalog, deferred);
    for (size_t i = 0; key && i < plan.tables.size(); ++i)
      if (plan.tables[i].name == deferred.table && stages[i].staged_rows)
        cycles.push_back({i, key, Readded(deferred),
                          deferred.reason == DeferReason::kCycle && key->columns_nullable});
  }
  return cycles;
}

// `s` refers to the row being upserted: its cycle columns are kept when the
// row they reference is already on the target.
std::string ReferencePresent(const ForeignKey& key) {
  std::vector<std::string> match;
  for (size_t c = 0; c < key.columns.size(); ++c)
    match.push_back(fmt::format("p.{} = s.{}", QuoteIdent(key.referenced_columns[c]),
                                QuoteIdent(key.columns[c])));
  return fmt::format("EXISTS (SELECT 1 FROM {} p WHERE {})", key.referenced.Quoted(),
                     fmt::join(match, " AND "));
}

// Whether an index of `key`'s table leads with its referencing columns (so
// the checks a delete of a referenced row makes are index lookups).
bool Indexed(const Catalog& catalog, const ForeignKey& key) {
  for (const auto& index : catalog.indexes) {
    if (index.table != key.table || index.keys.size() < key.columns.size() ||
        !index.predicate.empty())
      continue;
    bool leads = true;
    for (size_t c = 0; c < key.columns.size(); ++c)
      leads &= index.keys[c] == key.columns[c] || index.keys[c] == QuoteIdent(key.columns[c]);
    if (leads) return true;
  }
  return false;
}

// Below this many deletes from a table, the per-row checks of the foreign
// keys into it cost less than re-validating them.
constexpr uint64_t kDeletesWorthRevalidating = 8;

// Foreign keys among the synced tables, into a table that loses many rows,
// whose referencing columns have no index: each deleted row would scan the
// referencing table. They are dropped for the deletes and re-added
// (validated) in the same transaction: one scan instead. The source's own
// action on those rows (SET NULL, CASCADE) arrives as the referencing rows'
// own changes.
std::vector<const ForeignKey*> KeysToRevalidate(const Plan& plan, const Catalog& catalog,
                                                const std::vector<TableStage>& stages,
                                                const std::vector<CycleKey>& cycles) {
  std::vector<const ForeignKey*> keys;
  for (const auto& key : catalog.foreign_keys) {
    bool heavy = false, child_synced = false, set_aside = false;
    for (size_t i = 0; i < plan.tables.size(); ++i) {
      heavy |= plan.tables[i].name == key.referenced &&
               stages[i].delete_keys >= kDeletesWorthRevalidating;
      child_synced |= plan.tables[i].name == key.table;
    }
    for (const auto& cycle : cycles) set_aside |= cycle.key == &key && !cycle.nullable;
    if (heavy && child_synced && !set_aside && !Indexed(catalog, key)) keys.push_back(&key);
  }
  return keys;
}

class Merger {
 public:
  Merger(Connection& target, const Plan& plan, const Catalog& catalog,
         const std::vector<TableStage>& stages, const RunLog& log)
      : target_(target), plan_(plan), catalog_(catalog), stages_(stages), log_(log) {
    counts_.resize(plan.tables.size());
    cycles_ = CycleKeys(plan, catalog, stages);
    revalidated_ = KeysToRevalidate(plan, catalog, stages, cycles_);
  }

  void SetAside(bool lift) {
    for (size_t i = 0; i < plan_.tables.size(); ++i) {
      if (!Written(stages_[i])) continue;
      const PlannedTable& table = plan_.tables[i];
      for (const auto& trigger : table.triggers)
        target_.Exec(fmt::format("ALTER TABLE {} {} {}", trigger.table.Quoted(),
                                 lift ? "DISABLE TRIGGER" : EnableClause(trigger.enabled),
                                 QuoteIdent(trigger.name)));
      for (const auto& relation : table.force_row_security)
        target_.Exec(fmt::format("ALTER TABLE {} {} ROW LEVEL SECURITY", relation.Quoted(),
                                 lift ? "NO FORCE" : "FORCE"));
    }
    for (const auto& cycle : cycles_)
      if (!cycle.nullable)
        target_.Exec(lift ? fmt::format("ALTER TABLE {} DROP CONSTRAINT {}",
                                        cycle.key->table.Quoted(), QuoteIdent(cycle.key->name))
                          : fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}",
                                        cycle.key->table.Quoted(), QuoteIdent(cycle.key->name),
                                        cycle.definition));
  }

  void Upserts() {
    for (size_t i = 0; i < plan_.tables.size(); ++i) {
      const TableStage& stage = stages_[i];
      if (!Written(stage)) continue;
      IncrementalSql sql = SqlOf(i);
      QualifiedName rows = StageTablesFor(i).rows;
      MergeCounts& counts = counts_[i];
      if (!sql.keyed()) {
        if (stage.replace_all) counts.deleted = target_.Exec(sql.DeleteAll()).AffectedRows();
        for (const auto& replace : stage.replace_where) {
          uint64_t deleted = target_.Exec(sql.DeleteWhere(replace.where)).AffectedRows();
          if (replace.rows && deleted != *replace.rows)
            throw Error(fmt::format(
                "{}: {} of the {} rows to replace changed on the target since they were read "
                "(something else writes it); nothing was changed, run again",
                plan_.tables[i].name.Display(), *replace.rows - std::min(deleted, *replace.rows),
                *replace.rows));
          counts.deleted += deleted;
        }
        if (stage.staged_rows) counts.inserted = target_.Exec(sql.InsertAll(rows)).AffectedRows();
        continue;
      }
      if (!stage.staged_rows) continue;
      std::vector<std::string> nulled;
      std::string condition;
      for (const auto& cycle : cycles_)
        if (cycle.child == i && cycle.nullable) {
          nulled.insert(nulled.end(), cycle.key->columns.begin(), cycle.key->columns.end());
          condition = condition.empty() ? ReferencePresent(*cycle.key)
                                        : condition + " AND " + ReferencePresent(*cycle.key);
        }
      counts.inserted = stage.new_rows
                            ? *stage.new_rows
                            : static_cast<uint64_t>(target_.Exec(sql.CountNew(rows)).GetInt(0, 0));
      uint64_t written = target_.Exec(sql.Upsert(rows, nulled, condition)).AffectedRows();
      counts.updated = written > counts.inserted ? written - counts.inserted : 0;
      counts.unchanged = stage.rows > written ? stage.rows - written : 0;
    }
    for (const auto& cycle : cycles_)
      if (cycle.nullable)
        target_.Exec(
            SqlOf(cycle.child).FixCycle(StageTablesFor(cycle.child).rows, cycle.key->columns));
  }

  void Deletes() {
    for (const ForeignKey* key : revalidated_)
      target_.Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", key->table.Quoted(),
                               QuoteIdent(key->name)));
    for (size_t i = plan_.tables.size(); i-- > 0;) {
      if (!stages_[i].staged_deletes) continue;
      counts_[i].deleted =
          target_.Exec(SqlOf(i).DeleteKeys(StageTablesFor(i).delete_keys)).AffectedRows();
    }
    for (const ForeignKey* key : revalidated_)
      target_.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", key->table.Quoted(),
                               QuoteIdent(key->name), ReaddedAs(key->definition, key->validated)));
    if (!revalidated_.empty())
      log_.Debug("{} foreign keys without an index re-validated after the deletes",
                 revalidated_.size());
  }

  std::vector<MergeCounts> counts() const { return counts_; }

 private:
  IncrementalSql SqlOf(size_t i) const {
    const Table* table = catalog_.Find(plan_.tables[i].name);
    if (!table) throw Error(fmt::format("{}: not on the target", plan_.tables[i].name.Display()));
    return IncrementalSql(plan_.tables[i], *table, catalog_);
  }

  Connection& target_;
  const Plan& plan_;
  const Catalog& catalog_;
  const std::vector<TableStage>& stages_;
  RunLog log_;
  std::vector<MergeCounts> counts_;
  std::vector<CycleKey> cycles_;
  std::vector<const ForeignKey*> revalidated_;
};

}  // namespace

std::vector<MergeCounts> MergeStaged(Connection& target, const Plan& plan, const Catalog& catalog,
                                     const std::vector<TableStage>& stages,
                                     const std::string& lock_timeout,
                                     const std::function<void()>& before_commit,
                                     const RunLog& log) {
  Merger merger(target, plan, catalog, stages, log);
  InTransaction(target, [&] {
    target.Exec(fmt::format("SET LOCAL lock_timeout = {}", QuoteLiteral(lock_timeout)));
    target.Exec("SET CONSTRAINTS ALL DEFERRED");
    // The merge joins small staging tables to the tables' key indexes: a
    // low random_page_cost keeps the planner on index lookups instead of
    // scanning whole tables for a few thousand keys.
    target.Exec("SET LOCAL random_page_cost = 1.1");
    target.Exec("SET LOCAL jit = off");  // see incremental_stage.cc
    merger.SetAside(true);
    merger.Upserts();
    TestPause("merge upserted");
    merger.Deletes();
    TestPause("merge deleted");
    before_commit();
    merger.SetAside(false);
    TestPause("merge before commit");
  });
  log.Info("merged the changes in one transaction");
  return merger.counts();
}

}  // namespace freshet
