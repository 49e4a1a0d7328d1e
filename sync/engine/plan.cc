#include "sync/engine/plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

#include "schema/fk_graph.h"
#include "schema/patterns.h"
#include "schema/type_graph.h"
#include "sync/engine/incremental_describe.h"

namespace freshet {

const PlannedTable* Plan::Find(const QualifiedName& name) const {
  for (const auto& table : tables)
    if (table.name == name) return &table;
  return nullptr;
}

namespace {

const char* RelationKindText(char kind) {
  switch (kind) {
    case 'v':
      return "view";
    case 'm':
      return "materialized view";
    case 'f':
      return "foreign table";
  }
  return "relation that is not a table";
}

// Every partition under `root` (all levels), in catalog order.
std::vector<const Table*> PartitionsOf(const Catalog& catalog, const QualifiedName& root) {
  std::vector<const Table*> out;
  for (const auto& table : catalog.tables)
    if (table.partition_root && *table.partition_root == root) out.push_back(&table);
  return out;
}

// Per-partition loading needs the same partition tree on both sides: the same
// partitions, parents and bounds. Otherwise rows go through the target root.
bool SamePartitionTree(const std::vector<const Table*>& source,
                       const std::vector<const Table*>& target) {
  if (source.size() != target.size()) return false;
  std::map<QualifiedName, const Table*> by_name;
  for (const Table* table : source) by_name[table->name] = table;
  for (const Table* table : target) {
    auto it = by_name.find(table->name);
    if (it == by_name.end()) return false;
    const Table* other = it->second;
    if (other->kind != table->kind || other->partition_parent != table->partition_parent ||
        other->partition_bound != table->partition_bound)
      return false;
  }
  return true;
}

void PlanUnits(const Catalog& source, const Catalog& target, const Table& src, const Table& dst,
               PlannedTable& planned) {
  std::vector<const Table*> src_parts = PartitionsOf(source, src.name);
  auto whole_source = [&]() {
    CopyUnit unit{src.name,  src.kind == TableKind::kTable,
                  dst.name,  src.estimated_rows,
                  src.bytes, std::nullopt,
                  {}};
    for (const Table* part : src_parts) {
      unit.estimated_rows += part->estimated_rows;
      unit.estimated_bytes += part->bytes;
    }
    return unit;
  };
  if (dst.kind == TableKind::kTable) {
    planned.units.push_back(whole_source());
    planned.route = src.kind == TableKind::kTable ? "direct" : "from the partitioned root";
    return;
  }
  std::vector<const Table*> dst_parts = PartitionsOf(target, dst.name);
  if (src.kind == TableKind::kPartitioned && SamePartitionTree(src_parts, dst_parts)) {
    for (const Table* part : src_parts) {
      if (part->kind != TableKind::kTable) continue;
      planned.units.push_back(
          {part->name, true, part->name, part->estimated_rows, part->bytes, std::nullopt, {}});
    }
    planned.route = "per partition";
    return;
  }
  planned.units.push_back(whole_source());
  planned.route = "through the root";
}

void PlanTriggers(const Catalog& target, const Table& dst, PlannedTable& planned) {
  auto add = [&](const Table& table) {
    for (const auto& trigger : table.user_triggers)
      if (trigger.enabled != 'D')
        planned.triggers.push_back({table.name, trigger.name, trigger.enabled});
  };
  add(dst);
  for (const Table* part : PartitionsOf(target, dst.name)) add(*part);
}

void PlanSequences(const Table& src, const Table& dst, PlannedTable& planned) {
  for (const auto& owned : dst.column_sequences) {
    if (!std::count(planned.mapping.columns.begin(), planned.mapping.columns.end(), owned.column))
      continue;
    SequenceSync sync{owned.column, owned.sequence, std::nullopt};
    for (const auto& source_owned : src.column_sequences)
      if (source_owned.column == owned.column) sync.source_sequence = source_owned.sequence;
    planned.sequences.push_back(std::move(sync));
  }
}

void PlanSharedSequences(const Catalog& target, Plan& plan) {
  std::set<QualifiedName> synced;
  for (const auto& table : plan.tables)
    for (const auto& sequence : table.sequences) synced.insert(sequence.target_sequence);
  for (const auto& table : target.tables) {
    if (table.IsPartition() || plan.Find(table.name)) continue;
    for (const auto& used : table.column_sequences)
      if (synced.count(used.sequence)) plan.unsynced_sequence_columns.push_back({table.name, used});
  }
}

void PlanForeignKeys(const Catalog& target, const PlanOptions& options, Plan& plan) {
  // Each synced relation (top-level or partition) -> index of its planned table.
  std::map<QualifiedName, int> node_of;
  for (int i = 0; i < static_cast<int>(plan.tables.size()); ++i) {
    node_of[plan.tables[i].name] = i;
    for (const Table* part : PartitionsOf(target, plan.tables[i].name)) node_of[part->name] = i;
  }
  std::vector<FkEdge> edges;
  std::vector<const ForeignKey*> edge_fks;
  for (const auto& fk : target.foreign_keys) {
    auto child = node_of.find(fk.table);
    auto parent = node_of.find(fk.referenced);
    bool child_synced = child != node_of.end(), parent_synced = parent != node_of.end();
    if (child_synced && parent_synced) {
      edges.push_back({child->second, parent->second, fk.name, fk.deferrable, fk.columns_nullable});
      edge_fks.push_back(&fk);
    } else if (child_synced) {
      if (options.fk_outside == FkOutsidePolicy::kNotValid) {
        plan.deferred.push_back(
            {fk.table, fk.name, fk.definition, false, DeferReason::kOutsideSync, fk.referenced});
        plan.warnings.push_back(fmt::format(
            "foreign key {} on {} references {}, which is not in the sync: it is dropped for the "
            "load and re-added NOT VALID (rows may reference missing {} rows)",
            fk.name, fk.table.Display(), fk.referenced.Display(), fk.referenced.Display()));
      } else {
        plan.errors.push_back(fmt::format(
            "foreign key {} on {} references {}, which is not in the sync. Either include it "
            "(--include '{}') or re-add the constraint NOT VALID after the load "
            "(--fk-outside=not-valid)",
            fk.name, fk.table.Display(), fk.referenced.Display(), fk.referenced.Display()));
      }
    } else if (parent_synced) {
      plan.errors.push_back(fmt::format(
          "foreign key {} on {} references {}, which the sync truncates, but {} is not in the "
          "sync (freshet never truncates tables it was not asked to). Either include it "
          "(--include '{}') or exclude {} (--exclude '{}')",
          fk.name, fk.table.Display(), fk.referenced.Display(), fk.table.Display(),
          fk.table.Display(), fk.referenced.Display(), fk.referenced.Display()));
    }
  }

  std::vector<int64_t> weights;
  for (const auto& table : plan.tables) weights.push_back(table.estimated_bytes);
  LoadOrder order = OrderForLoad(static_cast<int>(plan.tables.size()), edges, weights);
  std::vector<bool> breaks_cycle(edges.size(), false);
  for (int edge : order.deferred) breaks_cycle[edge] = true;
  for (size_t edge = 0; edge < edges.size(); ++edge) {
    const ForeignKey& fk = *edge_fks[edge];
    if (breaks_cycle[edge])
      plan.deferred.push_back(
          {fk.table, fk.name, fk.definition, fk.validated, DeferReason::kCycle, fk.referenced});
    else if (plan.strategy == LoadStrategy::kBulk)
      plan.deferred.push_back(
          {fk.table, fk.name, fk.definition, fk.validated, DeferReason::kBulkLoad, fk.referenced});
  }
  // Without foreign keys during the load, any order works: largest first.
  if (plan.strategy == LoadStrategy::kBulk)
    for (auto& prerequisites : order.prerequisites) prerequisites.clear();

  // Reorder the tables into load order and remap prerequisites.
  std::vector<int> position(plan.tables.size());
  for (size_t i = 0; i < order.order.size(); ++i) position[order.order[i]] = static_cast<int>(i);
  std::vector<PlannedTable> ordered;
  for (int node : order.order) {
    PlannedTable table = std::move(plan.tables[node]);
    table.prerequisites.clear();
    for (int parent : order.prerequisites[node]) table.prerequisites.push_back(position[parent]);
    std::sort(table.prerequisites.begin(), table.prerequisites.end());
    ordered.push_back(std::move(table));
  }
  plan.tables = std::move(ordered);
}

// Bulk loading drops and rebuilds indexes and constraints, which only the
// tables' owner may do.
void ChooseStrategy(const Catalog& target, const PlanOptions& options, Plan& plan) {
  std::vector<std::string> not_owned;
  for (const auto& planned : plan.tables) {
    bool owned = target.Find(planned.name)->owned_by_current_user;
    for (const Table* part : PartitionsOf(target, planned.name))
      owned = owned && part->owned_by_current_user;
    if (!owned) not_owned.push_back(planned.name.Display());
  }
  if (options.strategy == StrategyChoice::kOrdered) {
    plan.strategy = LoadStrategy::kOrdered;
    plan.strategy_reason = "asked for (--strategy ordered)";
  } else if (not_owned.empty()) {
    plan.strategy = LoadStrategy::kBulk;
    plan.strategy_reason =
        "the role owns every synced table, so indexes and foreign keys are "
        "set aside for the load and rebuilt in parallel after it";
  } else {
    plan.strategy = LoadStrategy::kOrdered;
    plan.strategy_reason = fmt::format(
        "the role does not own {} (bulk loading drops and rebuilds indexes, which needs "
        "ownership): tables load parents first with their indexes in place",
        fmt::join(not_owned, ", "));
    if (options.strategy == StrategyChoice::kBulk)
      plan.errors.push_back("--strategy bulk: " + plan.strategy_reason);
  }
}

// Every valid index of the synced tables, except replica identity indexes
// (dropping one would silently change what logical replication sends).
void PlanIndexes(const Catalog& target, Plan& plan) {
  std::map<QualifiedName, bool> synced;
  for (const auto& planned : plan.tables) {
    synced[planned.name] = true;
    for (const Table* part : PartitionsOf(target, planned.name)) synced[part->name] = true;
  }
  for (const auto& index : target.indexes) {
    if (!synced.count(index.table)) continue;
    if (index.replica_identity) {
      plan.warnings.push_back(
          fmt::format("index {} on {} is the replica identity: kept during the "
                      "load",
                      index.name, index.table.Display()));
      continue;
    }
    if (!index.valid) continue;  // an invalid index is left exactly as it is
    plan.indexes.push_back({index.table, index.name, index.definition, index.constraint_name,
                            index.constraint_definition, index.clustered, index.bytes,
                            index.partitions});
  }
  std::stable_sort(plan.indexes.begin(), plan.indexes.end(),
                   [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
}

// Splits the streams of large ordinary tables and leaf partitions into ctid
// ranges (TID Range Scans need a PostgreSQL 14 source) so several workers read
// one big relation and the last large table does not run alone. Ranges are
// cut from the heap size; the last one is open-ended, so pages added since the
// size was read are still copied.
void SplitLargeUnits(const Catalog& source, const PlanOptions& options, Plan& plan) {
  if (options.chunk_bytes < 0 || source.server_version < 140000) return;
  int64_t chunk = options.chunk_bytes;
  if (chunk == 0) {
    int64_t total = 0;
    for (const auto& table : plan.tables) total += table.estimated_bytes;
    chunk = std::clamp<int64_t>(total / (4 * std::max(1, options.jobs)), int64_t{32} << 20,
                                int64_t{1} << 30);
  }
  constexpr int64_t kBlockSize = 8192;  // only sizes the ranges; any size stays correct
  for (auto& table : plan.tables) {
    std::vector<CopyUnit> units;
    for (const auto& unit : table.units) {
      const Table* relation = source.Find(unit.source);
      int64_t blocks = relation ? relation->heap_bytes / kBlockSize : 0;
      int64_t pieces = std::min<int64_t>((unit.estimated_bytes + chunk - 1) / chunk, blocks);
      if (!unit.source_only || !relation || relation->kind != TableKind::kTable || pieces < 2) {
        units.push_back(unit);
        continue;
      }
      for (int64_t i = 0; i < pieces; ++i) {
        CopyUnit part = unit;
        part.blocks = BlockRange{blocks * i / pieces, std::nullopt};
        if (i + 1 < pieces) part.blocks->end = blocks * (i + 1) / pieces;
        part.estimated_rows = unit.estimated_rows / pieces;
        part.estimated_bytes = unit.estimated_bytes / pieces;
        units.push_back(part);
      }
    }
    table.units = std::move(units);
  }
}

// COPY (binary and text) assigns a composite's attributes by position: a
// type whose attributes differ between the sides would put values in the
// wrong attribute, silently. Refused, naming the type.
void CheckCompositeTypes(const Catalog& source, const Catalog& target, const Table& src,
                         const Table& dst, Plan& plan) {
  for (const auto& name : plan.tables.back().mapping.columns) {
    const Column* s = src.FindColumn(name);
    const Column* t = dst.FindColumn(name);
    if (!s || !t || s->type_id.empty() || t->type_id.empty()) continue;
    std::string difference = CompositeDifference(source, s->type_id, target, t->type_id);
    if (!difference.empty())
      plan.errors.push_back(fmt::format(
          "column {} of {}: {}: give the type the same attributes in the same order on both "
          "sides (a migration), or exclude the table",
          QuoteIdent(name), dst.name.Display(), difference));
  }
}

// Verification compares each row's text on both sides. Equal values of
// different types can print differently (timestamp into timestamptz,
// numeric(10,2) into numeric(12,4)): the source's value is read as the
// load reads it, its text cast to the target's type, when that is a built-in
// type (or a domain over one). A
// composite whose attributes differ is compared attribute by attribute, by
// name, in the target's order.
void PlanVerification(const Catalog& source, const Catalog& target, const Table& src,
                      const Table& dst, PlannedTable& planned) {
  for (const auto& name : planned.mapping.columns) {
    std::string quoted = QuoteIdent(name);
    const Column* s = src.FindColumn(name);
    const Column* t = dst.FindColumn(name);
    std::string from = quoted, to = quoted;
    if (s && t && !t->type_id.empty() &&
        !CompositeDifference(source, s->type_id, target, t->type_id).empty()) {
      const TypeInfo* composite = target.FindType(Resolve(target, t->type_id).base);
      const TypeInfo* source_composite = source.FindType(Resolve(source, s->type_id).base);
      if (composite && source_composite && !Resolve(target, t->type_id).array) {
        std::vector<std::string> from_parts, to_parts;
        for (const auto& [attribute, type] : composite->attributes) {
          bool on_source = false;
          for (const auto& other : source_composite->attributes)
            on_source |= other.first == attribute;
          std::string field = "(" + quoted + ")." + QuoteIdent(attribute);
          to_parts.push_back(field);
          from_parts.push_back(on_source ? field : "NULL");
        }
        from = "ROW(" + fmt::format("{}", fmt::join(from_parts, ", ")) + ")";
        to = "ROW(" + fmt::format("{}", fmt::join(to_parts, ", ")) + ")";
      }
    } else if (s && t && s->type != t->type) {
      const TypeInfo* type = target.FindType(t->type_id);
      if (type && type->kind == 'd') {
        const TypeInfo* base = target.FindType(Resolve(target, t->type_id).base);
        if (base && base->built_in && !Resolve(target, t->type_id).array &&
            type->domain_base_id == base->name)
          from = "(" + quoted + ")::pg_catalog.text::" + type->domain_base;
      } else if (type && type->built_in) {
        from = "(" + quoted + ")::pg_catalog.text::" + t->type;
      }
    }
    planned.verify_source.push_back(from);
    planned.verify_target.push_back(to);
  }
}

// COPY FROM refuses a table whose row-level security applies to the role
// ("COPY FROM not supported with row-level security"): FORCE on a table the
// role owns is lifted for the load (journaled, like a trigger); RLS on a
// table it does not own, for a role without BYPASSRLS, cannot be loaded.
void PlanRowSecurity(const Catalog& target, Plan& plan) {
  if (target.bypasses_row_security) return;
  for (auto& planned : plan.tables) {
    std::set<QualifiedName> written;
    for (const auto& unit : planned.units) written.insert(unit.target);
    for (const auto& name : written) {
      const Table* table = target.Find(name);
      if (!table || !table->row_security) continue;
      if (!table->owned_by_current_user) {
        plan.errors.push_back(fmt::format(
            "target table {} has row-level security enabled and the connecting role neither owns "
            "it nor has BYPASSRLS, so COPY cannot load it: connect as its owner or a role with "
            "BYPASSRLS, or exclude the table",
            name.Display()));
      } else if (table->force_row_security) {
        planned.force_row_security.push_back(name);
      }
    }
  }
}

// Under the ordered strategy foreign keys are checked while rows stream. A
// self-referencing key on a table loaded by several streams (ctid ranges,
// partitions), each committing alone, would see a row whose parent is in
// another stream not yet committed: the key is set aside for the load
// (journaled, re-added and validated after it) when the role owns the table,
// else the table is loaded as one stream.
void GuardSelfReferences(const Catalog& target, Plan& plan) {
  if (plan.strategy != LoadStrategy::kOrdered) return;
  for (auto& planned : plan.tables) {
    if (planned.units.size() < 2) continue;
    std::set<QualifiedName> relations{planned.name};
    for (const Table* part : PartitionsOf(target, planned.name)) relations.insert(part->name);
    for (const auto& fk : target.foreign_keys) {
      if (!relations.count(fk.table) || !relations.count(fk.referenced)) continue;
      bool deferred = false;
      for (const auto& d : plan.deferred) deferred |= d.table == fk.table && d.name == fk.name;
      if (deferred) continue;
      const Table* dst = target.Find(fk.table);
      if (dst && dst->owned_by_current_user) {
        plan.deferred.push_back({fk.table, fk.name, fk.definition, fk.validated,
                                 DeferReason::kSelfReference, fk.referenced});
        continue;
      }
      CopyUnit whole = planned.units.front();
      whole.source = planned.name;
      whole.source_only = !planned.source_partitioned;
      whole.target = planned.name;
      whole.blocks.reset();
      whole.estimated_rows = planned.estimated_rows;
      whole.estimated_bytes = planned.estimated_bytes;
      planned.units = {whole};
      planned.route += ", one stream (self-referencing foreign key " + fk.name + ")";
      break;
    }
  }
}

// A pattern that matches no table is almost always a typo: say so rather than
// silently syncing something else.
void CheckPatternsMatch(const Catalog& source, const Catalog& target, const PlanOptions& options,
                        Plan& plan) {
  auto matches_any = [&](const TablePattern& pattern) {
    for (const Catalog* catalog : {&source, &target})
      for (const auto& table : catalog->tables)
        if (!table.IsPartition() && pattern.Matches(table.name)) return true;
    return false;
  };
  for (const auto& text : options.includes)
    if (!matches_any(TablePattern::Parse(text)))
      plan.errors.push_back(
          fmt::format("--include '{}' matches no table on the source or the target", text));
  for (const auto& text : options.excludes)
    if (!matches_any(TablePattern::Parse(text)))
      plan.warnings.push_back(fmt::format("--exclude '{}' matches no table", text));
}

}  // namespace

Plan BuildPlan(const Catalog& source, const Catalog& target, const PlanOptions& options) {
  Plan plan;
  TableSelection selection(options.includes, options.excludes);
  for (const auto& dst : target.tables) {
    if (dst.IsPartition() || !selection.Selected(dst.name)) continue;
    const Table* src = source.Find(dst.name);
    if (!src) {
      if (const OtherRelation* other = source.FindOther(dst.name))
        plan.warnings.push_back(
            fmt::format("{} is a table on the target but a {} on the source: not copied",
                        dst.name.Display(), RelationKindText(other->kind)));
      else
        plan.target_only_tables.push_back(dst.name);
      continue;
    }
    PlannedTable planned;
    planned.name = dst.name;
    planned.target_kind = dst.kind;
    planned.source_partitioned = src->kind == TableKind::kPartitioned;
    planned.mapping = MapColumns(*src, dst);
    for (const auto& error : planned.mapping.errors) plan.errors.push_back(error);
    PlanUnits(source, target, *src, dst, planned);
    for (const auto& unit : planned.units) {
      planned.estimated_rows += unit.estimated_rows;
      planned.estimated_bytes += unit.estimated_bytes;
    }
    PlanTriggers(target, dst, planned);
    PlanSequences(*src, dst, planned);
    PlanVerification(source, target, *src, dst, planned);
    plan.tables.push_back(std::move(planned));
    CheckCompositeTypes(source, target, *src, dst, plan);
  }
  PlanSharedSequences(target, plan);
  for (const auto& src : source.tables) {
    if (src.IsPartition() || !selection.Selected(src.name)) continue;
    if (target.Find(src.name)) continue;
    if (const OtherRelation* other = target.FindOther(src.name))
      plan.warnings.push_back(
          fmt::format("{} is a table on the source but a {} on the target: not copied",
                      src.name.Display(), RelationKindText(other->kind)));
    else
      plan.source_only_tables.push_back(src.name);
  }
  ChooseStrategy(target, options, plan);
  PlanForeignKeys(target, options, plan);
  if (plan.strategy == LoadStrategy::kBulk) PlanIndexes(target, plan);
  CheckPatternsMatch(source, target, options, plan);
  SplitLargeUnits(source, options, plan);
  GuardSelfReferences(target, plan);
  PlanRowSecurity(target, plan);
  PlanMasks(source, target, options.masks, plan);
  CheckSubset(options.subset, plan);

  // Setting triggers and constraints aside is DDL: it needs the table's owner.
  for (const auto& planned : plan.tables) {
    const Table* dst = target.Find(planned.name);
    bool needs_ddl = !planned.triggers.empty() || !planned.force_row_security.empty();
    for (const auto& deferred : plan.deferred)
      if (deferred.table == planned.name) needs_ddl = true;
    if (needs_ddl && !dst->owned_by_current_user)
      plan.errors.push_back(fmt::format(
          "target table {} is not owned by the connecting role (or a role it is a member of): "
          "freshet must own it to set its triggers and foreign keys aside during the load",
          planned.name.Display()));
  }
  return plan;
}

const char* DeferReasonText(DeferReason reason) {
  switch (reason) {
    case DeferReason::kCycle:
      return "breaks an FK cycle";
    case DeferReason::kOutsideSync:
      return "references a table outside the sync";
    case DeferReason::kBulkLoad:
      return "bulk load";
    case DeferReason::kSelfReference:
      return "references its own table, loaded by several streams";
  }
  return "";
}

std::string DescribePlan(const Plan& plan) {
  std::string out;
  out +=
      fmt::format("Strategy: {} ({})\n", plan.strategy == LoadStrategy::kBulk ? "bulk" : "ordered",
                  plan.strategy_reason);
  out += fmt::format("Load order ({} tables):\n", plan.tables.size());
  for (size_t i = 0; i < plan.tables.size(); ++i) {
    const PlannedTable& table = plan.tables[i];
    std::string after;
    for (int prerequisite : table.prerequisites)
      after += (after.empty() ? "" : ", ") + plan.tables[prerequisite].name.Display();
    size_t chunks = 0;
    for (const auto& unit : table.units) chunks += unit.blocks ? 1 : 0;
    out += fmt::format("  {:>3}. {}  [{}; {}; ~{} rows{}]{}\n", i + 1, table.name.Display(),
                       table.mapping.format == CopyFormat::kBinary ? "binary" : "text", table.route,
                       table.estimated_rows, chunks ? fmt::format("; {} ctid ranges", chunks) : "",
                       after.empty() ? "" : "  after " + after);
    if (table.mapping.format == CopyFormat::kText)
      out += fmt::format("       text format: {}\n", table.mapping.format_reason);
    if (!table.mapping.target_only.empty())
      out += fmt::format("       target-only columns (get their defaults): {}\n",
                         fmt::join(table.mapping.target_only, ", "));
    if (!table.mapping.source_only.empty())
      out += fmt::format("       source-only columns (not copied): {}\n",
                         fmt::join(table.mapping.source_only, ", "));
    for (const auto& trigger : table.triggers)
      out += fmt::format("       trigger {} on {} disabled during the load\n", trigger.name,
                         trigger.table.Display());
    for (const auto& relation : table.force_row_security)
      out += fmt::format("       FORCE ROW LEVEL SECURITY on {} lifted during the load\n",
                         relation.Display());
    for (const auto& mask : table.masks)
      out += fmt::format("       masked: {} by rule \"{}\" {} ({})\n", mask.column, mask.rule.rule,
                         MaskPlacement(mask), mask.origin);
    if (table.subset_rows) out += fmt::format("       subset: {} rows kept\n", *table.subset_rows);
  }
  if (plan.subset)
    out += fmt::format(
        "Subset: {}: {} rows in {} tables (references followed in {} queries, {:.1f} s); {} "
        "tables in no reference to it copied whole\n",
        plan.subset->description, plan.subset->rows, plan.subset->tables_cut, plan.subset->queries,
        plan.subset->seconds, plan.subset->tables_whole);
  out += DescribeIncremental(plan);  // empty unless modes were chosen
  if (!plan.deferred.empty()) {
    out += "Deferred constraints (dropped for the load, journaled, re-added after):\n";
    for (const auto& deferred : plan.deferred)
      out += fmt::format(
          "  {} on {} ({}{})\n", deferred.name, deferred.table.Display(),
          DeferReasonText(deferred.reason),
          deferred.validate ? ", re-added NOT VALID then validated" : ", re-added NOT VALID");
  }
  if (!plan.indexes.empty()) {
    out += fmt::format("Indexes dropped for the load and rebuilt after it ({}):\n",
                       plan.indexes.size());
    for (const auto& index : plan.indexes)
      out += fmt::format(
          "  {} on {}{}\n", index.name, index.table.Display(),
          index.constraint_name.empty() ? "" : " (backs constraint " + index.constraint_name + ")");
  }
  if (!plan.target_only_tables.empty()) {
    out += "Target-only tables (never touched):\n";
    for (const auto& name : plan.target_only_tables) out += "  " + name.Display() + "\n";
  }
  if (!plan.source_only_tables.empty()) {
    out += "Source-only tables (not copied: the target has no such table):\n";
    for (const auto& name : plan.source_only_tables) out += "  " + name.Display() + "\n";
  }
  for (const auto& warning : plan.warnings) out += "warning: " + warning + "\n";
  for (const auto& error : plan.errors) out += "error: " + error + "\n";
  return out;
}

}  // namespace freshet
