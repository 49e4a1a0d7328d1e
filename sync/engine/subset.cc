#include "sync/engine/subset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "schema/catalog.h"
#include "sync/engine/plan.h"
#include "sync/engine/run_observer.h"
#include "sync/engine/subset_closure.h"

namespace freshet {
namespace {

// The planned table a relation belongs to (itself, or its partition root).
std::optional<size_t> PlannedIndex(const Plan& plan, const Catalog& catalog,
                                   const QualifiedName& name) {
  QualifiedName top = name;
  if (const Table* table = catalog.Find(name); table && table->partition_root)
    top = *table->partition_root;
  for (size_t i = 0; i < plan.tables.size(); ++i)
    if (plan.tables[i].name == top) return i;
  return std::nullopt;
}

size_t ColumnAt(ClosureTable& table, const Table& source, const std::string& column) {
  auto found = std::find(table.columns.begin(), table.columns.end(), column);
  if (found != table.columns.end()) return found - table.columns.begin();
  table.columns.push_back(column);
  table.types.push_back(source.FindColumn(column)->type_id);
  return table.columns.size() - 1;
}

// The closure's tables (one per planned table) and its edges: the foreign
// keys of both catalogs among planned tables whose columns the source has.
// An edge both catalogs hold is one edge, known by both names.
struct Graph {
  std::vector<ClosureTable> tables;
  std::vector<ClosureEdge> edges;
  std::vector<std::vector<std::string>> edge_names;    // constraint names
  std::vector<std::vector<std::string>> edge_columns;  // the referencing columns
};

Graph BuildGraph(const Catalog& source, const Catalog& target, const Plan& plan) {
  Graph graph;
  for (const auto& planned : plan.tables)
    graph.tables.push_back({planned.name, planned.source_partitioned, {}, {}, false, "", {}});
  std::map<std::tuple<size_t, size_t, std::vector<std::string>, std::vector<std::string>>, size_t>
      seen;
  auto add = [&](const ForeignKey& fk, const Catalog& catalog) {
    auto child = PlannedIndex(plan, catalog, fk.table);
    auto parent = PlannedIndex(plan, catalog, fk.referenced);
    if (!child || !parent) return;
    const Table* child_source = source.Find(plan.tables[*child].name);
    const Table* parent_source = source.Find(plan.tables[*parent].name);
    for (const auto& column : fk.columns)
      if (!child_source || !child_source->FindColumn(column)) return;
    for (const auto& column : fk.referenced_columns)
      if (!parent_source || !parent_source->FindColumn(column)) return;
    auto [at, added] =
        seen.try_emplace({*child, *parent, fk.columns, fk.referenced_columns}, graph.edges.size());
    if (!added) {
      graph.edge_names[at->second].push_back(fk.name);
      return;
    }
    ClosureEdge edge{*child, *parent, {}, {}};
    for (const auto& column : fk.columns)
      edge.child_at.push_back(ColumnAt(graph.tables[*child], *child_source, column));
    for (const auto& column : fk.referenced_columns)
      edge.parent_at.push_back(ColumnAt(graph.tables[*parent], *parent_source, column));
    graph.edges.push_back(std::move(edge));
    graph.edge_names.push_back({fk.name});
    graph.edge_columns.push_back(fk.columns);
  };
  for (const auto& fk : source.foreign_keys) add(fk, source);
  for (const auto& fk : target.foreign_keys) add(fk, target);
  return graph;
}

// Marks the edges `children_except` names as not followed down. A name that
// matches no edge is a usage error: a typo would otherwise widen the subset.
void ExceptChildren(const SubsetSettings& settings, Graph& graph) {
  for (const ForeignKeyName& except : settings.children_except) {
    bool found = false;
    for (size_t e = 0; e < graph.edges.size(); ++e) {
      if (graph.tables[graph.edges[e].child].name != except.table) continue;
      const auto& names = graph.edge_names[e];
      bool named = std::find(names.begin(), names.end(), except.name) != names.end();
      bool column = graph.edge_columns[e] == std::vector<std::string>{except.name};
      if (!named && !column) continue;
      graph.edges[e].down = false;
      found = true;
    }
    if (!found)
      throw Error(ErrorKind::kUsage,
                  fmt::format("[subset] children_except \"{}\": no foreign key of {} among the "
                              "tables this run copies is named {} or is on that one column",
                              except.Display(), except.table.Display(), except.name));
  }
}

// Connected components of the reference graph (directions ignored).
std::vector<size_t> Components(const Graph& graph) {
  std::vector<size_t> parent(graph.tables.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const auto& edge : graph.edges) parent[find(edge.child)] = find(edge.parent);
  std::vector<size_t> component(graph.tables.size());
  for (size_t i = 0; i < component.size(); ++i) component[i] = find(i);
  return component;
}

// Which of the root's rows seed the subset: `where`, and `percent` by a
// hash of the primary key (of the whole row without one), so the same rows
// are chosen every run while they exist.
std::string SeedCondition(const SubsetSettings& settings, const Table& root) {
  std::vector<std::string> parts;
  if (!settings.where.empty()) parts.push_back("(" + settings.where + ")");
  if (settings.percent && *settings.percent < 100) {
    std::string key =
        root.primary_key.empty() ? root.name.Quoted() + ".*" : QuoteIdentList(root.primary_key);
    parts.push_back(fmt::format(
        "(pg_catalog.hashtextextended(ROW({})::pg_catalog.text, 0) & 9223372036854775807) % "
        "1000000 < {}",
        key, static_cast<int64_t>(*settings.percent * 10000 + 0.5)));
  }
  return fmt::format("{}", fmt::join(parts, " AND "));
}

std::string Describe(const SubsetSettings& settings) {
  std::vector<std::string> parts;
  if (settings.root) {
    std::string root = settings.percent
                           ? fmt::format("{}% of {}", *settings.percent, settings.root->Display())
                           : settings.root->Display();
    if (!settings.where.empty()) root += " where " + settings.where;
    parts.push_back(root);
  }
  for (const auto& [table, limit] : settings.limits)
    parts.push_back(fmt::format("at most {} rows of {}", limit, table.Display()));
  std::string children = " (no referencing rows followed)";
  if (settings.children) {
    std::vector<std::string> except;
    for (const auto& name : settings.children_except) except.push_back(name.Display());
    children = except.empty() ? ""
                              : fmt::format(" (referencing rows not followed through {})",
                                            fmt::join(except, ", "));
  }
  return fmt::format("{}{}", fmt::join(parts, "; "), children);
}

}  // namespace

std::string SubsetSummary(const SubsetOutcome& outcome) {
  return fmt::format("{}: {} rows in {} tables; {} tables copied whole", outcome.description,
                     outcome.rows, outcome.tables_cut, outcome.tables_whole);
}

void CheckSubset(const SubsetSettings& settings, Plan& plan) {
  if (!settings.any()) return;
  auto planned = [&](const QualifiedName& name) {
    return std::any_of(plan.tables.begin(), plan.tables.end(),
                       [&](const PlannedTable& table) { return table.name == name; });
  };
  if (settings.root && !planned(*settings.root))
    plan.errors.push_back(fmt::format(
        "[subset] root {} is not a table this run copies (check its name and --include/--exclude)",
        settings.root->Display()));
  if (settings.percent && !(*settings.percent > 0 && *settings.percent <= 100))
    plan.errors.push_back("[subset] percent must be more than 0 and at most 100");
  if ((settings.percent || !settings.where.empty()) && !settings.root)
    plan.errors.push_back("[subset] where and percent need a root table");
  for (const ForeignKeyName& except : settings.children_except)
    if (!planned(except.table))
      plan.errors.push_back(
          fmt::format("[subset] children_except \"{}\": {} is not a table this "
                      "run copies",
                      except.Display(), except.table.Display()));
  for (const auto& [table, limit] : settings.limits) {
    if (!planned(table))
      plan.errors.push_back(
          fmt::format("[subset] limit on {}: not a table this run copies", table.Display()));
    if (limit < 0)
      plan.errors.push_back(fmt::format("[subset] limit on {} is negative", table.Display()));
  }
}

namespace {

std::string TidCondition(const std::vector<RowPlace>& places) {
  if (places.empty()) return "false";
  std::string tids;
  for (const RowPlace& place : places)
    fmt::format_to(std::back_inserter(tids), "{}\"({},{})\"", tids.empty() ? "" : ",", place.block,
                   place.offset);
  return fmt::format("ctid = ANY('{{{}}}'::pg_catalog.tid[])", tids);
}

// The kept rows as a condition over the top-level table (its partitions by
// tableoid).
std::string TableCondition(const std::map<uint32_t, std::vector<RowPlace>>& kept,
                           bool partitioned) {
  if (kept.empty()) return "false";
  if (!partitioned) return TidCondition(kept.begin()->second);
  std::vector<std::string> parts;
  for (const auto& [oid, places] : kept)
    parts.push_back(fmt::format("(tableoid = {} AND {})", oid, TidCondition(places)));
  return fmt::format("({})", fmt::join(parts, " OR "));
}

// The OIDs of the relations the plan's streams read.
std::map<QualifiedName, uint32_t> SourceOids(Connection& source, const Plan& plan) {
  std::vector<QualifiedName> names;
  for (const auto& table : plan.tables)
    for (const auto& unit : table.units) names.push_back(unit.source);
  std::vector<std::string> quoted;
  for (const auto& name : names) quoted.push_back(name.Quoted());
  Result result = source.Exec(
      "SELECT r::pg_catalog.regclass::pg_catalog.oid::pg_catalog.int8 "
      "FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY AS u(r, n) ORDER BY n",
      Params{TextArrayLiteral(quoted)});
  std::map<QualifiedName, uint32_t> oids;
  for (int row = 0; row < result.Rows(); ++row)
    oids[names[row]] = static_cast<uint32_t>(result.GetInt(row, 0));
  return oids;
}

// One stream per relation read, narrowed to the kept rows.
void Narrow(PlannedTable& table, const std::map<uint32_t, std::vector<RowPlace>>& kept,
            int64_t rows, const std::map<QualifiedName, uint32_t>& oids) {
  const double per_row = table.estimated_rows > 0 ? static_cast<double>(table.estimated_bytes) /
                                                        static_cast<double>(table.estimated_rows)
                                                  : 0;
  table.subset_filter = TableCondition(kept, table.source_partitioned);
  std::vector<CopyUnit> units;
  for (const CopyUnit& unit : table.units) {
    bool seen = std::any_of(units.begin(), units.end(),
                            [&](const CopyUnit& other) { return other.source == unit.source; });
    if (seen) continue;
    CopyUnit narrowed = unit;
    narrowed.blocks.reset();
    if (unit.source_only) {
      auto found = kept.find(oids.at(unit.source));
      static const std::vector<RowPlace> kNone;
      const auto& places = found == kept.end() ? kNone : found->second;
      narrowed.row_filter = TidCondition(places);
      narrowed.estimated_rows = static_cast<int64_t>(places.size());
    } else {
      narrowed.row_filter = table.subset_filter;
      narrowed.estimated_rows = rows;
    }
    narrowed.estimated_bytes = static_cast<int64_t>(per_row * narrowed.estimated_rows);
    units.push_back(std::move(narrowed));
  }
  table.units = std::move(units);
  table.subset_rows = rows;
  table.estimated_rows = rows;
  table.estimated_bytes = static_cast<int64_t>(per_row * rows);
}

size_t IndexOf(const Graph& graph, const QualifiedName& name) {
  for (size_t i = 0; i < graph.tables.size(); ++i)
    if (graph.tables[i].name == name) return i;
  throw Error(ErrorKind::kUsage,
              fmt::format("[subset] {} is not a table this run copies", name.Display()));
}

// Marks the roots and limits; returns the components holding a root.
std::set<size_t> MarkRoots(const SubsetSettings& settings, const Catalog& source, Graph& graph,
                           const std::vector<size_t>& component) {
  std::set<size_t> rooted;
  if (settings.root) {
    size_t root = IndexOf(graph, *settings.root);
    graph.tables[root].root = true;
    graph.tables[root].seed_condition = SeedCondition(settings, *source.Find(*settings.root));
    rooted.insert(component[root]);
  }
  std::vector<size_t> more;  // limited tables unrelated to the root: roots of their own
  for (const auto& [name, limit] : settings.limits) {
    size_t t = IndexOf(graph, name);
    graph.tables[t].limit = limit;
    if (!rooted.count(component[t])) more.push_back(t);
  }
  for (size_t t : more) {
    graph.tables[t].root = true;
    rooted.insert(component[t]);
  }
  return rooted;
}

}  // namespace

void ApplySubset(Connection& source, const Catalog& source_catalog, const Catalog& target_catalog,
                 const SubsetSettings& settings, Plan& plan, const RunLog& log) {
  if (!settings.any()) return;
  auto started = std::chrono::steady_clock::now();
  Graph graph = BuildGraph(source_catalog, target_catalog, plan);
  ExceptChildren(settings, graph);
  std::vector<size_t> component = Components(graph);
  std::set<size_t> rooted = MarkRoots(settings, source_catalog, graph, component);
  SubsetClosure closure(source, graph.tables, graph.edges, settings.children, log);
  closure.Run();
  std::map<QualifiedName, uint32_t> oids = SourceOids(source, plan);
  SubsetOutcome outcome;
  outcome.description = Describe(settings);
  outcome.queries = closure.queries();
  for (size_t t = 0; t < plan.tables.size(); ++t) {
    if (!rooted.count(component[t])) {
      ++outcome.tables_whole;
      continue;
    }
    ++outcome.tables_cut;
    outcome.rows += closure.KeptCount(t);
    Narrow(plan.tables[t], closure.Kept(t), closure.KeptCount(t), oids);
  }
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log.Info("subset ({}): {} rows in {} tables, {} tables whole; {} queries, {:.1f} s",
           outcome.description, outcome.rows, outcome.tables_cut, outcome.tables_whole,
           outcome.queries, outcome.seconds);
  plan.subset = std::move(outcome);
}

}  // namespace freshet
