// The plan of a sync: which tables are copied, through which relations, in
// which COPY format, in what order, and which constraints are set aside while
// loading. Built from the two catalogs without touching either server, so
// `freshet plan` and `freshet sync` always agree and the planner is unit-tested.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "schema/catalog.h"
#include "schema/column_mapping.h"
#include "sync/engine/incremental_mode.h"
#include "sync/engine/mask_plan.h"
#include "sync/engine/subset.h"

namespace freshet {

enum class FkOutsidePolicy { kError, kNotValid };

// How the target is loaded.
//  - kBulk: every foreign key among the synced tables and every index
//    (primary keys and unique constraints included) is set aside, journaled,
//    for the load and rebuilt after it in parallel. Needs the role to own the
//    tables. Much faster: no per-row FK checks or index maintenance.
//  - kOrdered: indexes stay; tables load parents first; only the constraints
//    that close FK cycles are set aside.
enum class LoadStrategy { kBulk, kOrdered };
enum class StrategyChoice { kAuto, kBulk, kOrdered };

struct PlanOptions {
  std::vector<std::string> includes;
  std::vector<std::string> excludes;
  FkOutsidePolicy fk_outside = FkOutsidePolicy::kError;
  StrategyChoice strategy = StrategyChoice::kAuto;
  // Tables (and leaf partitions) larger than this are read as several ctid
  // ranges in parallel (PostgreSQL 14+ sources). 0: chosen from the total size
  // and `jobs`; negative: never split.
  int64_t chunk_bytes = 0;
  int jobs = 4;
  MaskSettings masks;     // [mask] rules (sync/engine/mask_plan.h)
  SubsetSettings subset;  // [subset] (sync/engine/subset.h)
};

// Heap blocks [begin, end) of a chunk; no end: to the end of the relation.
struct BlockRange {
  int64_t begin = 0;
  std::optional<int64_t> end;
};

// One COPY stream: source relation -> target relation.
struct CopyUnit {
  QualifiedName source;
  bool source_only = true;  // read with ONLY (ordinary tables); false for partitioned roots
  QualifiedName target;
  int64_t estimated_rows = 0;
  int64_t estimated_bytes = 0;
  std::optional<BlockRange> blocks;  // set on chunks of a split relation
  // Subsets: which rows of `source` are read, as a WHERE condition over it
  // (its rows by ctid, in the run's snapshot); empty: all of them.
  std::string row_filter;
};

struct SequenceSync {
  std::string column;
  QualifiedName target_sequence;
  std::optional<QualifiedName> source_sequence;  // none: only max(column) counts
};

struct TriggerToDisable {
  QualifiedName table;  // the relation the trigger is on (may be a partition)
  std::string name;
  char enabled = 'O';  // state to restore
};

struct PlannedTable {
  QualifiedName name;  // top-level table: ordinary, or a partitioned root
  TableKind target_kind = TableKind::kTable;
  bool source_partitioned = false;
  ColumnMapping mapping;
  std::vector<CopyUnit> units;     // per leaf partition, or one
  std::string route;               // "direct", "per partition", "through the root"
  std::vector<int> prerequisites;  // indexes into Plan::tables, loaded first
  std::vector<SequenceSync> sequences;
  std::vector<TriggerToDisable> triggers;
  // Relations (this table or its partitions) whose FORCE ROW LEVEL SECURITY
  // is lifted for the load (COPY FROM refuses tables whose policies apply).
  std::vector<QualifiedName> force_row_security;
  // What verification compares, per copied column, on each side: the
  // column, or an expression that makes equal values read the same (the
  // source's cast to a wider target type, a composite's attributes by name).
  std::vector<std::string> verify_source;
  std::vector<std::string> verify_target;
  // Incremental runs: how this table is brought up to date (ChooseModes).
  std::optional<TableMode> incremental;
  // Masked columns (PlanMasks), in no particular order.
  std::vector<ColumnMask> masks;
  // Subsets (ApplySubset): the rows kept, and the same rows as a WHERE
  // condition over the top-level table for verification. Unset: every row.
  std::optional<int64_t> subset_rows;
  std::string subset_filter;
  int64_t estimated_rows = 0;
  int64_t estimated_bytes = 0;
};

enum class DeferReason { kCycle, kOutsideSync, kBulkLoad, kSelfReference };

// A foreign key dropped before the load and re-added after it.
struct DeferredConstraint {
  QualifiedName table;
  std::string name;
  std::string definition;  // pg_get_constraintdef on the target
  bool validate = true;    // VALIDATE after re-adding (false: stays NOT VALID)
  DeferReason reason = DeferReason::kCycle;
  QualifiedName referenced;  // the table it references
};

// An index (or the primary key, unique or exclusion constraint it backs)
// dropped before a bulk load and rebuilt after it.
struct DeferredIndex {
  QualifiedName table;
  std::string name;             // index name
  std::string definition;       // pg_get_indexdef
  std::string constraint_name;  // set for constraint-backed indexes
  std::string constraint_definition;
  bool clustered = false;
  int64_t bytes = 0;  // size before the load: rebuilds go largest first
  // On a partitioned table: its leaf partitions' indexes, rebuilt one by one
  // (in parallel) before the parent index attaches them.
  std::vector<PartitionIndex> partitions;
};

struct Plan {
  LoadStrategy strategy = LoadStrategy::kOrdered;
  std::string strategy_reason;
  std::vector<PlannedTable> tables;  // in a valid load order
  std::vector<DeferredConstraint> deferred;
  std::vector<DeferredIndex> indexes;             // kBulk only
  std::vector<QualifiedName> source_only_tables;  // selected, not on the target: skipped
  std::vector<QualifiedName> target_only_tables;  // selected, not on the source: untouched
  // Target columns outside the sync that share a synced table's sequence:
  // their rows count when the sequence is set after the load.
  std::vector<std::pair<QualifiedName, ColumnSequence>> unsynced_sequence_columns;
  // A subset was taken (ApplySubset): what it kept, for the plan and report.
  std::optional<SubsetOutcome> subset;
  std::vector<std::string> errors;  // the sync must not start
  std::vector<std::string> warnings;

  bool ok() const { return errors.empty(); }
  const PlannedTable* Find(const QualifiedName& name) const;
};

// Builds the plan. Never throws on schema problems: they become `errors`
// (each naming the table, column or constraint and the ways out).
Plan BuildPlan(const Catalog& source, const Catalog& target, const PlanOptions& options);

// "breaks an FK cycle", "references a table outside the sync", "bulk load".
const char* DeferReasonText(DeferReason reason);

// The plan as text for `freshet plan`: load order, formats, deferred
// constraints, what is only on one side, warnings and errors.
std::string DescribePlan(const Plan& plan);

}  // namespace freshet
