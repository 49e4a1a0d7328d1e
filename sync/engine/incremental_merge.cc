#include "sync/engine/incremental_merge.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

#include "sync/engine/incremental_sql.h"
#include "sync/engine/restore_tasks.h"
#include "sync/engine/test_hooks.h"

namespace freshet {
namespace {

bool Written(const TableStage& stage) {
  return stage.staged_rows || stage.staged_deletes || stage.replace_all ||
         !stage.replace_where.empty();
}

// A foreign key that closes a cycle among the written tables, or leads out
// of the sync, on a table the merge writes rows into.
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

std::optional<size_t> PlanIndex(const Plan& plan, const QualifiedName& name) {
  for (size_t i = 0; i < plan.tables.size(); ++i)
    if (plan.tables[i].name == name) return i;
  return std::nullopt;
}

// The order of the upserts: the plan's (parents first), with the tables no
// other planned table references moved to the end, smallest first. Those
// are free to go last, and the biggest table stages longest: the others are
// merged while it stages.
std::vector<size_t> MergeOrder(const Plan& plan, const Catalog& catalog) {
  std::vector<bool> referenced(plan.tables.size(), false);
  for (const auto& key : catalog.foreign_keys) {
    if (key.table == key.referenced || !PlanIndex(plan, key.table)) continue;
    if (auto parent = PlanIndex(plan, key.referenced)) referenced[*parent] = true;
  }
  std::vector<size_t> order, leaves;
  for (size_t i = 0; i < plan.tables.size(); ++i) (referenced[i] ? order : leaves).push_back(i);
  std::stable_sort(leaves.begin(), leaves.end(), [&](size_t a, size_t b) {
    return plan.tables[a].estimated_bytes < plan.tables[b].estimated_bytes;
  });
  order.insert(order.end(), leaves.begin(), leaves.end());
  return order;
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
  Merger(Connection& target, const Plan& plan, const Catalog& catalog, StagedFeed& feed,
         const RunLog& log)
      : target_(target),
        plan_(plan),
        catalog_(catalog),
        feed_(feed),
        log_(log),
        order_(MergeOrder(plan, catalog)),
        set_aside_(plan.tables.size(), false),
        keys_handled_(plan.deferred.size(), false) {
    counts_.resize(plan.tables.size());
  }

  // Table by table in merge order, each once its stage (and the stages of
  // the tables its writes reach) arrived.
  void Upserts() {
    for (size_t i : order_) {
      const TableStage& stage = feed_.Wait(i);
      if (!Written(stage)) continue;
      SetAsideCascadeTargets(i);
      SetAsideTable(i);
      SetAsideKeysTouching(i);
      Upsert(i, stage);
    }
    for (const auto& cycle : cycles_)
      if (cycle.nullable)
        target_.Exec(
            SqlOf(cycle.child).FixCycle(StageTablesFor(cycle.child).rows, cycle.key->columns));
  }

  void Deletes() {
    stages_ = feed_.All();
    std::vector<const ForeignKey*> revalidated =
        KeysToRevalidate(plan_, catalog_, stages_, cycles_);
    for (const ForeignKey* key : revalidated)
      target_.Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", key->table.Quoted(),
                               QuoteIdent(key->name)));
    for (size_t i = plan_.tables.size(); i-- > 0;) {
      if (!stages_[i].staged_deletes) continue;
      counts_[i].deleted =
          target_.Exec(SqlOf(i).DeleteKeys(StageTablesFor(i).delete_keys)).AffectedRows();
    }
    for (const ForeignKey* key : revalidated)
      target_.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", key->table.Quoted(),
                               QuoteIdent(key->name), ReaddedAs(key->definition, key->validated)));
    if (!revalidated.empty())
      log_.Debug("{} foreign keys without an index re-validated after the deletes",
                 revalidated.size());
  }

  // Triggers, row security and the keys set aside, as they were.
  void Restore() {
    for (size_t i = 0; i < plan_.tables.size(); ++i)
      if (set_aside_[i]) SetAside(i, false);
    for (const auto& cycle : cycles_)
      if (!cycle.nullable)
        target_.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", cycle.key->table.Quoted(),
                                 QuoteIdent(cycle.key->name), cycle.definition));
  }

  const std::vector<TableStage>& stages() const { return stages_; }
  std::vector<MergeCounts> counts() const { return counts_; }

 private:
  IncrementalSql SqlOf(size_t i) const {
    const Table* table = catalog_.Find(plan_.tables[i].name);
    if (!table) throw Error(fmt::format("{}: not on the target", plan_.tables[i].name.Display()));
    return IncrementalSql(plan_.tables[i], *table, catalog_);
  }

  void SetAside(size_t i, bool lift) {
    const PlannedTable& table = plan_.tables[i];
    for (const auto& trigger : table.triggers)
      target_.Exec(fmt::format("ALTER TABLE {} {} {}", trigger.table.Quoted(),
                               lift ? "DISABLE TRIGGER" : EnableClause(trigger.enabled),
                               QuoteIdent(trigger.name)));
    for (const auto& relation : table.force_row_security)
      target_.Exec(fmt::format("ALTER TABLE {} {} ROW LEVEL SECURITY", relation.Quoted(),
                               lift ? "NO FORCE" : "FORCE"));
  }

  // The user triggers of written table `i` disabled, FORCE ROW LEVEL
  // SECURITY lifted, until Restore.
  void SetAsideTable(size_t i) {
    if (set_aside_[i]) return;
    SetAside(i, true);
    set_aside_[i] = true;
  }

  // Written tables whose rows an update of `i` can change (ON UPDATE
  // actions of their keys into it): set aside before `i` is written.
  void SetAsideCascadeTargets(size_t i) {
    for (const auto& key : catalog_.foreign_keys) {
      if (key.referenced != plan_.tables[i].name ||
          key.definition.find(" ON UPDATE ") == std::string::npos)
        continue;
      std::optional<size_t> child = PlanIndex(plan_, key.table);
      if (child && *child != i && Written(feed_.Wait(*child))) SetAsideTable(*child);
    }
  }

  // The keys closing a cycle, or leading out of the sync, that `i` takes
  // part in (either end), on tables with staged rows: nullable ones are
  // written NULL then set (FixCycle); the others dropped until Restore,
  // once both of their tables are staged (a dropped key locks both).
  void SetAsideKeysTouching(size_t i) {
    for (size_t d = 0; d < plan_.deferred.size(); ++d) {
      const DeferredConstraint& deferred = plan_.deferred[d];
      if (keys_handled_[d] ||
          (deferred.reason != DeferReason::kCycle && deferred.reason != DeferReason::kOutsideSync))
        continue;
      const QualifiedName& name = plan_.tables[i].name;
      const ForeignKey* key = FindKey(catalog_, deferred);
      bool nullable = key && deferred.reason == DeferReason::kCycle && key->columns_nullable;
      // A nullable key stays while its referenced table is written.
      if (deferred.table != name && (deferred.referenced != name || nullable)) continue;
      keys_handled_[d] = true;
      std::optional<size_t> child = PlanIndex(plan_, deferred.table);
      if (!key || !child || !feed_.Wait(*child).staged_rows) continue;
      CycleKey cycle{*child, key, Readded(deferred), nullable};
      if (!cycle.nullable) {
        if (auto parent = PlanIndex(plan_, key->referenced)) feed_.Wait(*parent);
        target_.Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", key->table.Quoted(),
                                 QuoteIdent(key->name)));
      }
      cycles_.push_back(std::move(cycle));
    }
  }

  void Upsert(size_t i, const TableStage& stage) {
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
      return;
    }
    if (!stage.staged_rows) return;
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

  Connection& target_;
  const Plan& plan_;
  const Catalog& catalog_;
  StagedFeed& feed_;
  RunLog log_;
  std::vector<size_t> order_;
  std::vector<bool> set_aside_;
  std::vector<bool> keys_handled_;  // per plan.deferred
  std::vector<TableStage> stages_;  // every table's, from Deletes on
  std::vector<MergeCounts> counts_;
  std::vector<CycleKey> cycles_;
};

// The merge's cost of a table against its staging's, per byte of the
// table: on the reference workload, upserting a big table's changes takes
// about half as long as reading the table for them.
constexpr double kMergeShare = 0.5;

}  // namespace

std::vector<double> MergeTails(const Plan& plan, const Catalog& catalog) {
  std::vector<double> tails(plan.tables.size(), 0);
  double after = 0;
  std::vector<size_t> order = MergeOrder(plan, catalog);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    after +=
        kMergeShare * static_cast<double>(std::max<int64_t>(plan.tables[*it].estimated_bytes, 0));
    tails[*it] = after;
  }
  return tails;
}

void StagedFeed::Arrive(size_t i, const TableStage& stage) {
  std::lock_guard lock(mutex_);
  stages_.at(i) = stage;
  arrived_.at(i) = true;
  changed_.notify_all();
}

void StagedFeed::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

bool StagedFeed::closed() {
  std::lock_guard lock(mutex_);
  return closed_;
}

const TableStage& StagedFeed::Wait(size_t i) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return arrived_.at(i) || closed_; });
  if (!arrived_[i]) throw Error("staging stopped before every table was staged");
  return stages_[i];  // not written again once arrived
}

std::vector<TableStage> StagedFeed::All() {
  for (size_t i = 0; i < stages_.size(); ++i) Wait(i);
  std::lock_guard lock(mutex_);
  return stages_;
}

std::vector<MergeCounts> MergeStaged(
    Connection& target, const Plan& plan, const Catalog& catalog, StagedFeed& feed,
    const std::string& lock_timeout,
    const std::function<void(const std::vector<TableStage>&)>& before_commit, const RunLog& log) {
  Merger merger(target, plan, catalog, feed, log);
  InTransaction(target, [&] {
    target.Exec(fmt::format("SET LOCAL lock_timeout = {}", QuoteLiteral(lock_timeout)));
    target.Exec("SET CONSTRAINTS ALL DEFERRED");
    // The merge joins small staging tables to the tables' key indexes: a
    // low random_page_cost keeps the planner on index lookups instead of
    // scanning whole tables for a few thousand keys.
    target.Exec("SET LOCAL random_page_cost = 1.1");
    target.Exec("SET LOCAL jit = off");  // see incremental_stage.cc
    merger.Upserts();
    TestPause("merge upserted");
    merger.Deletes();
    TestPause("merge deleted");
    before_commit(merger.stages());
    merger.Restore();
    TestPause("merge before commit");
  });
  log.Info("merged the changes in one transaction");
  return merger.counts();
}

}  // namespace freshet
