#include "sync/engine/subset_closure.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

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

std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

SubsetClosure::SubsetClosure(Connection& source, std::vector<ClosureTable> tables,
                             std::vector<ClosureEdge> edges, bool children)
    : source_(source),
      tables_(std::move(tables)),
      edges_(std::move(edges)),
      children_(children),
      state_(tables_.size()),
      asked_up_(edges_.size()),
      asked_down_(edges_.size()) {}

void SubsetClosure::Run() {
  for (size_t t = 0; t < tables_.size(); ++t)
    if (tables_[t].root) Seed(t);
  for (;;) {
    std::map<size_t, std::vector<Lookup>> lookups;
    if (!CollectLookups(lookups)) break;
    ++rounds_;
    for (const auto& [t, list] : lookups) Fetch(t, list);
  }
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

// Turns last round's new rows into lookups; clears them. False: none left.
bool SubsetClosure::CollectLookups(std::map<size_t, std::vector<Lookup>>& lookups) {
  for (size_t e = 0; e < edges_.size(); ++e) {
    const ClosureEdge& edge = edges_[e];
    const State& child = state_[edge.child];
    const State& parent = state_[edge.parent];
    if (!child.new_kept.empty()) {  // what kept rows reference is kept
      Lookup lookup{edge.parent_at, {}, false};
      AddKeys(child.new_kept, edge.child_at, asked_up_[e], lookup);
      if (!lookup.keys.empty()) lookups[edge.parent].push_back(std::move(lookup));
    }
    if (children_ && !parent.new_down.empty() && !tables_[edge.child].root) {
      Lookup lookup{edge.child_at, {}, true};
      AddKeys(parent.new_down, edge.parent_at, asked_down_[e], lookup);
      if (!lookup.keys.empty()) lookups[edge.child].push_back(std::move(lookup));
    }
  }
  for (State& state : state_) {
    state.new_kept.clear();
    state.new_down.clear();
  }
  return !lookups.empty();
}

// The keys of `rows` at `from` not looked up through this edge before. A
// NULL in a key references nothing (MATCH SIMPLE; MATCH FULL allows only
// all-NULL keys, which reference nothing either).
void SubsetClosure::AddKeys(const std::vector<Values>& rows, const std::vector<size_t>& from,
                            std::unordered_set<std::string>& asked, Lookup& lookup) const {
  for (const Values& row : rows) {
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
      params.push_back(ArrayLiteral(values));
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
  try {
    result = source_.Exec(sql, params);
  } catch (const Error& error) {
    throw Error(fmt::format("subset: following references into {} failed: {}", table.name.Display(),
                            error.what()),
                error.sqlstate(), error.kind());
  }
  Take(t, result, !down.empty(), !up.empty());
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
      state.new_down.push_back(values);
    }
    if (state.kept.insert(id).second) state.new_kept.push_back(std::move(values));
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
