#include "sync/engine/subset_closure.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>

#include "copy/error.h"

namespace freshet {
namespace {

uint32_t ParseNumber(std::string_view text, std::string_view what) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw Error(fmt::format("subset: unexpected {} \"{}\" from the source", what, text));
  return value;
}

// "(block,offset)"
RowPlace ParseCtid(std::string_view text) {
  size_t comma = text.find(',');
  if (text.size() < 5 || text.front() != '(' || text.back() != ')' || comma == text.npos)
    throw Error(fmt::format("subset: unexpected ctid \"{}\" from the source", text));
  RowPlace place;
  place.block = ParseNumber(text.substr(1, comma - 1), "ctid");
  place.offset =
      static_cast<uint16_t>(ParseNumber(text.substr(comma + 1, text.size() - comma - 2), "ctid"));
  return place;
}

// One condition finding the rows whose `columns` hold one of `keys`; `first`
// is the number of the first parameter it uses (one text array per column).
std::string Condition(const std::vector<std::string>& columns,
                      const std::vector<std::string>& types, int first) {
  if (columns.size() == 1 && !types[0].ends_with("]"))  // an index or hashed array scan
    return fmt::format("{} = ANY(${}::{}[])", QuoteIdent(columns[0]), first, types[0]);
  std::vector<std::string> casts, arrays, names;
  for (size_t i = 0; i < columns.size(); ++i) {
    casts.push_back(fmt::format("u.k{}::{}", i, types[i]));
    arrays.push_back(
        fmt::format("pg_catalog.unnest(${}::pg_catalog.text[])", first + static_cast<int>(i)));
    names.push_back(fmt::format("k{}", i));
  }
  return fmt::format("({}) IN (SELECT {} FROM ROWS FROM ({}) AS u({}))", QuoteIdentList(columns),
                     fmt::join(casts, ", "), fmt::join(arrays, ", "), fmt::join(names, ", "));
}

}  // namespace

SubsetClosure::SubsetClosure(Connection& source, std::vector<ClosureTable> tables,
                             std::vector<ClosureEdge> edges, bool children, const RunLog& log)
    : source_(source),
      log_(log),
      tables_(std::move(tables)),
      edges_(std::move(edges)),
      children_(children),
      state_(tables_.size()),
      asked_up_(edges_.size()),
      asked_down_(edges_.size()),
      up_done_(edges_.size()),
      down_done_(edges_.size()) {}

void SubsetClosure::Run() {
  for (size_t t = 0; t < tables_.size(); ++t)
    if (tables_[t].root) Seed(t);
  std::vector<std::vector<size_t>> order = ComponentsInOrder();
  if (children_)
    for (const auto& component : order)
      while (Expand(component, true)) {
      }
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    while (Expand(*it, false)) {
    }
}

// Strongly connected components of the graph parent -> child, sources
// first (Kosaraju: finish order on the graph, then the reversed graph).
std::vector<std::vector<size_t>> SubsetClosure::ComponentsInOrder() const {
  const size_t n = tables_.size();
  std::vector<std::vector<size_t>> children(n), parents(n);
  for (const auto& edge : edges_) {
    children[edge.parent].push_back(edge.child);
    parents[edge.child].push_back(edge.parent);
  }
  std::vector<char> seen(n, 0);
  std::vector<size_t> finished;
  std::function<void(size_t)> visit = [&](size_t t) {
    seen[t] = 1;
    for (size_t c : children[t])
      if (!seen[c]) visit(c);
    finished.push_back(t);
  };
  for (size_t t = 0; t < n; ++t)
    if (!seen[t]) visit(t);
  std::vector<std::vector<size_t>> components;
  std::vector<char> placed(n, 0);
  std::function<void(size_t)> gather = [&](size_t t) {
    placed[t] = 1;
    components.back().push_back(t);
    for (size_t p : parents[t])
      if (!placed[p]) gather(p);
  };
  for (auto it = finished.rbegin(); it != finished.rend(); ++it)
    if (!placed[*it]) {
      components.emplace_back();
      gather(*it);
    }
  return components;
}

// Reads each table of `component` once for the keys not followed yet: going
// down, the rows referencing taken rows of its parents; going up, the rows
// its children's kept rows reference. False: nothing was left to follow.
bool SubsetClosure::Expand(const std::vector<size_t>& component, bool down) {
  bool read = false;
  for (size_t t : component) {
    std::vector<Lookup> lookups;
    for (size_t e = 0; e < edges_.size(); ++e) {
      const ClosureEdge& edge = edges_[e];
      if (down && edge.down && edge.child == t && !tables_[t].root) {
        const auto& rows = state_[edge.parent].down_rows;
        Lookup lookup{edge.child_at, {}, true};
        AddKeys(rows, down_done_[e], edge.parent_at, asked_down_[e], lookup);
        down_done_[e] = rows.size();
        if (!lookup.keys.empty()) lookups.push_back(std::move(lookup));
      } else if (!down && edge.parent == t) {
        const auto& rows = state_[edge.child].kept_rows;
        Lookup lookup{edge.parent_at, {}, false};
        AddKeys(rows, up_done_[e], edge.child_at, asked_up_[e], lookup);
        up_done_[e] = rows.size();
        if (!lookup.keys.empty()) lookups.push_back(std::move(lookup));
      }
    }
    if (lookups.empty()) continue;
    Fetch(t, lookups);
    read = true;
  }
  return read;
}

std::string SubsetClosure::SelectList(size_t t) const {
  std::string list = "tableoid::pg_catalog.int8, ctid";
  for (const auto& column : tables_[t].columns)
    list += fmt::format(", {}::pg_catalog.text", QuoteIdent(column));
  return list;
}

void SubsetClosure::Seed(size_t t) {
  const ClosureTable& table = tables_[t];
  std::string sql = fmt::format("SELECT {}, true, false FROM {}{}", SelectList(t),
                                table.partitioned ? "" : "ONLY ", table.name.Quoted());
  if (!table.seed_condition.empty()) sql += " WHERE " + table.seed_condition;
  if (table.limit) sql += fmt::format(" LIMIT {}", *table.limit);
  Result result;
  try {
    result = source_.Exec(sql);
  } catch (const Error& error) {
    throw Error(fmt::format("subset: choosing the rows of {} failed: {}", table.name.Display(),
                            error.what()),
                error.sqlstate(), error.kind());
  }
  Take(t, result, true, false);
}

// The keys of `rows` at `from` not looked up through this edge before. A
// NULL in a key references nothing (MATCH SIMPLE; MATCH FULL allows only
// all-NULL keys, which reference nothing either).
void SubsetClosure::AddKeys(const std::vector<Values>& rows, size_t first,
                            const std::vector<size_t>& from, std::unordered_set<std::string>& asked,
                            Lookup& lookup) const {
  for (size_t r = first; r < rows.size(); ++r) {
    const Values& row = rows[r];
    std::vector<std::string> key;
    std::string joined;
    bool null = false;
    for (size_t at : from) {
      if (!row[at]) {
        null = true;
        break;
      }
      key.push_back(*row[at]);
      joined += *row[at];
      joined += '\0';  // text values hold no NUL
    }
    if (null || !asked.insert(std::move(joined)).second) continue;
    lookup.keys.push_back(std::move(key));
  }
}

void SubsetClosure::Fetch(size_t t, const std::vector<Lookup>& lookups) {
  const ClosureTable& table = tables_[t];
  std::vector<std::string> down, up;
  Params params;
  for (const Lookup& lookup : lookups) {
    std::vector<std::string> columns, types;
    for (size_t i = 0; i < lookup.at.size(); ++i) {
      columns.push_back(table.columns[lookup.at[i]]);
      types.push_back(table.types[lookup.at[i]]);
      std::vector<std::string> values;
      values.reserve(lookup.keys.size());
      for (const auto& key : lookup.keys) values.push_back(key[i]);
      params.push_back(TextArrayLiteral(values));
    }
    int first = static_cast<int>(params.size() - columns.size()) + 1;
    (lookup.down ? down : up).push_back(Condition(columns, types, first));
  }
  auto any = [](const std::vector<std::string>& conditions) {
    return conditions.empty() ? std::string("false")
                              : fmt::format("({})", fmt::join(conditions, " OR "));
  };
  std::vector<std::string> all = down;
  all.insert(all.end(), up.begin(), up.end());
  std::string sql =
      fmt::format("SELECT {}, {}, {} FROM {}{} WHERE {}", SelectList(t), any(down), any(up),
                  table.partitioned ? "" : "ONLY ", table.name.Quoted(), fmt::join(all, " OR "));
  Result result;
  auto started = std::chrono::steady_clock::now();
  try {
    result = source_.Exec(sql, params);
  } catch (const Error& error) {
    throw Error(fmt::format("subset: following references into {} failed: {}", table.name.Display(),
                            error.what()),
                error.sqlstate(), error.kind());
  }
  size_t before = state_[t].kept.size();
  Take(t, result, !down.empty(), !up.empty());
  ++queries_;
  log_.Debug("subset query {}: {} by {} conditions: {} rows read, {} new, {:.2f} s", queries_,
             table.name.Display(), lookups.size(), result.Rows(), state_[t].kept.size() - before,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

// Rows read from table `t` with their flags (found from above: taken by
// choice within the limit; found from below: kept whatever the limit).
void SubsetClosure::Take(size_t t, const Result& result, bool any_down, bool any_up) {
  const ClosureTable& table = tables_[t];
  State& state = state_[t];
  const int width = static_cast<int>(table.columns.size());
  for (int row = 0; row < result.Rows(); ++row) {
    uint64_t id = RowId(result.Text(row, 0), result.Text(row, 1));
    bool from_above = any_down && result.GetBool(row, 2 + width);
    bool from_below = any_up && result.GetBool(row, 3 + width);
    bool take = from_above && !state.down.count(id) && (!table.limit || state.taken < *table.limit);
    if (!take && !(from_below && !state.kept.count(id))) continue;
    Values values;
    for (int c = 0; c < width; ++c) values.push_back(result.GetOptional(row, 2 + c));
    if (take) {
      state.down.insert(id);
      ++state.taken;
      state.down_rows.push_back(values);
    }
    if (state.kept.insert(id).second) state.kept_rows.push_back(std::move(values));
  }
}

uint64_t SubsetClosure::RowId(std::string_view oid, std::string_view ctid) {
  uint32_t relation = ParseNumber(oid, "tableoid");
  auto [at, added] = relation_index_.try_emplace(relation, relations_.size());
  if (added) {
    if (relations_.size() >= 0xffff) throw Error("subset: more than 65535 relations");
    relations_.push_back(relation);
  }
  RowPlace place = ParseCtid(ctid);
  return (static_cast<uint64_t>(at->second) << 48) | (static_cast<uint64_t>(place.block) << 16) |
         place.offset;
}

std::map<uint32_t, std::vector<RowPlace>> SubsetClosure::Kept(size_t t) const {
  std::map<uint32_t, std::vector<RowPlace>> kept;
  for (uint64_t id : state_[t].kept) {
    RowPlace place{static_cast<uint32_t>((id >> 16) & 0xffffffffu),
                   static_cast<uint16_t>(id & 0xffff)};
    kept[relations_[id >> 48]].push_back(place);
  }
  for (auto& [oid, places] : kept)
    std::sort(places.begin(), places.end(), [](const RowPlace& a, const RowPlace& b) {
      return a.block != b.block ? a.block < b.block : a.offset < b.offset;
    });
  return kept;
}

}  // namespace freshet
