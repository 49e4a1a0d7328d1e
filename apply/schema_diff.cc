// Diff of two SchemaModels: walks both sides' maps in key order, so the
// output is deterministic before the final sort by kind and object.
#include "apply/schema_diff.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <sstream>
#include <string_view>

#include "apply/grant_diff.h"

namespace freshet {
namespace {

using Aspects = std::vector<std::string>;

constexpr std::array<std::string_view, 15> kKindOrder = {
    "schema",     "extension", "enum",   "sequence", "table",    "view",  "column",           "rls",
    "constraint", "index",     "policy", "trigger",  "function", "grant", "default-privilege"};

size_t KindRank(const std::string& kind) {
  auto found = std::find(kKindOrder.begin(), kKindOrder.end(), kind);
  // Views sort with tables: both are relations.
  if (kind == "view") return 4;
  return static_cast<size_t>(found - kKindOrder.begin());
}

std::string Join(const Aspects& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

std::string OrNone(const std::optional<std::string>& value) { return value ? *value : "none"; }

std::string OrNone(const std::string& value) { return value.empty() ? "none" : value; }

// Adds "<name> <expected> vs <actual>" when the values differ.
template <typename T>
void Compare(Aspects& out, std::string_view name, const T& expected, const T& actual) {
  if (expected == actual) return;
  std::string prefix = name.empty() ? "" : std::string(name) + " ";
  out.push_back(prefix + OrNone(expected) + " vs " + OrNone(actual));
}

std::string Shorten(std::string_view text, size_t max = 80) {
  size_t begin = text.find_first_not_of(" \t");
  text = begin == std::string_view::npos ? std::string_view() : text.substr(begin);
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max - 3)) + "...";
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// "definition differs at line 3: `a` vs `b`" for long texts (function
// bodies, view queries), where printing both whole would drown the report.
void CompareDefinition(Aspects& out, const std::string& expected, const std::string& actual) {
  if (expected == actual) return;
  std::vector<std::string_view> left = Lines(expected), right = Lines(actual);
  size_t line = 0;
  while (line < left.size() && line < right.size() && left[line] == right[line]) ++line;
  auto at = [](const std::vector<std::string_view>& lines, size_t index) {
    return index < lines.size() ? "`" + Shorten(lines[index]) + "`" : std::string("(end)");
  };
  out.push_back("definition differs at line " + std::to_string(line + 1) + ": " + at(left, line) +
                " vs " + at(right, line));
}

std::string DescribeColumn(const ColumnModel& column) {
  std::string out = column.type;
  if (!column.collation.empty()) out += " COLLATE " + column.collation;
  if (column.not_null) out += " NOT NULL";
  if (column.default_expr) out += " DEFAULT " + *column.default_expr;
  if (column.generated_expr) out += " GENERATED ALWAYS AS (" + *column.generated_expr + ") STORED";
  if (!column.identity.empty()) out += " GENERATED " + column.identity + " AS IDENTITY";
  return out;
}

Aspects CompareColumns(const ColumnModel& e, const ColumnModel& a) {
  Aspects out;
  Compare(out, "type", e.type, a.type);
  if (e.not_null != a.not_null)
    out.push_back(e.not_null ? "NOT NULL vs nullable" : "nullable vs NOT NULL");
  Compare(out, "default", e.default_expr, a.default_expr);
  Compare(out, "generated", e.generated_expr, a.generated_expr);
  Compare(out, "identity", e.identity, a.identity);
  if (e.collation != a.collation)
    out.push_back("collation " + (e.collation.empty() ? "default" : e.collation) + " vs " +
                  (a.collation.empty() ? "default" : a.collation));
  return out;
}

std::string DescribePolicy(const PolicyModel& policy) {
  std::string out = policy.permissive + " FOR " + policy.command + " TO " + policy.roles;
  if (policy.using_expr) out += " USING (" + *policy.using_expr + ")";
  if (policy.check_expr) out += " WITH CHECK (" + *policy.check_expr + ")";
  return out;
}

Aspects ComparePolicies(const PolicyModel& e, const PolicyModel& a) {
  Aspects out;
  Compare(out, "", e.permissive, a.permissive);
  Compare(out, "command", e.command, a.command);
  Compare(out, "roles", e.roles, a.roles);
  Compare(out, "using", e.using_expr, a.using_expr);
  Compare(out, "with check", e.check_expr, a.check_expr);
  return out;
}

std::string TriggerState(const std::string& enabled) {
  if (enabled == "D") return "disabled";
  if (enabled == "R") return "enabled replica";
  if (enabled == "A") return "enabled always";
  return "enabled";
}

std::string DescribeSequence(const SequenceModel& s) {
  return "AS " + s.type + " START " + s.start + " INCREMENT " + s.increment + " MINVALUE " + s.min +
         " MAXVALUE " + s.max + " CACHE " + s.cache + (s.cycle ? " CYCLE" : "");
}

class Differ {
 public:
  Differ(const SchemaModel& expected, const SchemaModel& actual)
      : expected_(expected),
        actual_(actual),
        only_expected_("only in " + (expected.label.empty() ? "shadow" : expected.label)),
        only_actual_("only in " +
                     (actual.label.empty() ? std::string("compared database") : actual.label)) {}

  std::vector<DriftItem> Run() {
    CompareSets("schema", "", expected_.schemas, actual_.schemas);
    CompareMaps(
        "extension", "", expected_.extensions, actual_.extensions,
        [](const std::string& schema) { return "in schema " + schema; },
        [](const std::string& e, const std::string& a) {
          Aspects out;
          Compare(out, "schema", e, a);
          return out;
        });
    CompareMaps(
        "enum", "", expected_.enums, actual_.enums,
        [](const std::vector<std::string>& labels) { return "(" + Join(labels, ", ") + ")"; },
        [this](const std::vector<std::string>& e, const std::vector<std::string>& a) {
          return CompareEnums(e, a);
        });
    CompareMaps("sequence", "", expected_.sequences, actual_.sequences, DescribeSequence,
                [](const SequenceModel& e, const SequenceModel& a) {
                  Aspects out;
                  Compare(out, "type", e.type, a.type);
                  Compare(out, "start", e.start, a.start);
                  Compare(out, "increment", e.increment, a.increment);
                  Compare(out, "minvalue", e.min, a.min);
                  Compare(out, "maxvalue", e.max, a.max);
                  Compare(out, "cache", e.cache, a.cache);
                  if (e.cycle != a.cycle)
                    out.push_back(e.cycle ? "cycle vs no cycle" : "no cycle vs cycle");
                  return out;
                });
    CompareTables();
    CompareMaps(
        "function", "", expected_.functions, actual_.functions,
        [](const FunctionModel& f) { return f.kind + " returning " + OrNone(f.result); },
        [](const FunctionModel& e, const FunctionModel& a) {
          Aspects out;
          Compare(out, "kind", e.kind, a.kind);
          Compare(out, "returns", e.result, a.result);
          CompareDefinition(out, e.definition, a.definition);
          return out;
        });
    std::vector<DriftItem> grants = DiffGrants(expected_, actual_);
    items_.insert(items_.end(), std::make_move_iterator(grants.begin()),
                  std::make_move_iterator(grants.end()));
    std::stable_sort(items_.begin(), items_.end(), [](const DriftItem& x, const DriftItem& y) {
      size_t rx = KindRank(x.kind), ry = KindRank(y.kind);
      if (rx != ry) return rx < ry;
      return x.object < y.object;
    });
    return std::move(items_);
  }

 private:
  void Add(std::string kind, std::string object, std::string change, std::string detail) {
    items_.push_back({std::move(kind), std::move(object), std::move(change), std::move(detail)});
  }

  void CompareSets(const std::string& kind, const std::string& prefix,
                   const std::set<std::string>& e, const std::set<std::string>& a) {
    for (const auto& name : e)
      if (!a.count(name)) Add(kind, prefix + name, only_expected_, "");
    for (const auto& name : a)
      if (!e.count(name)) Add(kind, prefix + name, only_actual_, "");
  }

  // Items for keys on one side only (detail: describe(value)) and for keys
  // on both whose compare(expected, actual) lists differing aspects.
  template <typename Map, typename Describe, typename Comparer>
  void CompareMaps(const std::string& kind, const std::string& prefix, const Map& e, const Map& a,
                   Describe describe, Comparer compare) {
    for (const auto& [key, value] : e) {
      auto other = a.find(key);
      if (other == a.end()) {
        Add(kind, prefix + key, only_expected_, describe(value));
      } else if (Aspects aspects = compare(value, other->second); !aspects.empty()) {
        Add(kind, prefix + key, "differs", Join(aspects, "; "));
      }
    }
    for (const auto& [key, value] : a)
      if (!e.count(key)) Add(kind, prefix + key, only_actual_, describe(value));
  }

  Aspects CompareEnums(const std::vector<std::string>& e, const std::vector<std::string>& a) {
    Aspects out;
    auto contains = [](const std::vector<std::string>& labels, const std::string& label) {
      return std::find(labels.begin(), labels.end(), label) != labels.end();
    };
    for (const auto& label : e)
      if (!contains(a, label)) out.push_back("value '" + label + "' " + only_expected_);
    for (const auto& label : a)
      if (!contains(e, label)) out.push_back("value '" + label + "' " + only_actual_);
    if (out.empty() && e != a) out.push_back("order " + Join(e, ", ") + " vs " + Join(a, ", "));
    return out;
  }

  void CompareTables() {
    auto describe_table = [](const TableModel& table) {
      std::string out = table.kind;
      if (!table.partition_of.empty())
        out += " partition of " + table.partition_of + " " + table.partition_bound;
      return out;
    };
    auto kind_of = [](const TableModel& table) {
      return table.kind == "view" || table.kind == "materialized view" ? "view" : "table";
    };
    for (const auto& [name, table] : expected_.tables)
      if (!actual_.tables.count(name))
        Add(kind_of(table), name, only_expected_, describe_table(table));
    for (const auto& [name, table] : actual_.tables)
      if (!expected_.tables.count(name))
        Add(kind_of(table), name, only_actual_, describe_table(table));
    for (const auto& [name, e] : expected_.tables) {
      auto found = actual_.tables.find(name);
      if (found != actual_.tables.end()) CompareTable(name, e, found->second, kind_of(e));
    }
  }

  void CompareTable(const std::string& name, const TableModel& e, const TableModel& a,
                    const std::string& kind) {
    Aspects aspects;
    Compare(aspects, "kind", e.kind, a.kind);
    Compare(aspects, "partition of", e.partition_of, a.partition_of);
    Compare(aspects, "partition bound", e.partition_bound, a.partition_bound);
    Compare(aspects, "partition key", e.partition_key, a.partition_key);
    CompareDefinition(aspects, e.definition, a.definition);
    if (!aspects.empty()) Add(kind, name, "differs", Join(aspects, "; "));

    Aspects rls;
    if (e.row_security != a.row_security)
      rls.push_back(e.row_security ? "enabled vs disabled" : "disabled vs enabled");
    if (e.force_row_security != a.force_row_security)
      rls.push_back(e.force_row_security ? "forced vs not forced" : "not forced vs forced");
    if (!rls.empty()) Add("rls", name, "differs", Join(rls, "; "));

    std::string prefix = name + ".";
    CompareMaps("column", prefix, e.columns, a.columns, DescribeColumn, CompareColumns);
    CompareMaps(
        "constraint", prefix, e.constraints, a.constraints,
        [](const std::string& definition) { return definition; },
        [](const std::string& x, const std::string& y) {
          Aspects out;
          Compare(out, "", x, y);
          return out;
        });
    CompareIndexes(prefix, e.indexes, a.indexes);
    CompareMaps("policy", prefix, e.policies, a.policies, DescribePolicy, ComparePolicies);
    CompareMaps(
        "trigger", prefix, e.triggers, a.triggers,
        [](const TriggerModel& t) { return t.definition; },
        [](const TriggerModel& x, const TriggerModel& y) {
          Aspects out;
          Compare(out, "", x.definition, y.definition);
          Compare(out, "", TriggerState(x.enabled), TriggerState(y.enabled));
          return out;
        });
  }

  // Indexes pair up by definition without the name; of several with one
  // definition, equal names pair first, then the rest in name order (a
  // "differs" item naming both). Left over: one name on both sides is a
  // changed definition, anything else is "only in".
  void CompareIndexes(const std::string& prefix, const std::map<std::string, std::string>& e,
                      const std::map<std::string, std::string>& a) {
    std::map<std::string, std::vector<std::string>> by_definition_e, by_definition_a;
    for (const auto& [index, definition] : e)
      by_definition_e[IndexDefinitionWithoutName(definition)].push_back(index);
    for (const auto& [index, definition] : a)
      by_definition_a[IndexDefinitionWithoutName(definition)].push_back(index);
    std::set<std::string> left_e, left_a;
    for (auto& [definition, names_e] : by_definition_e) {
      std::vector<std::string> names_a;
      if (auto found = by_definition_a.find(definition); found != by_definition_a.end())
        names_a = std::move(found->second), by_definition_a.erase(found);
      std::vector<std::string> rest_e, rest_a;
      std::set_difference(names_e.begin(), names_e.end(), names_a.begin(), names_a.end(),
                          std::back_inserter(rest_e));
      std::set_difference(names_a.begin(), names_a.end(), names_e.begin(), names_e.end(),
                          std::back_inserter(rest_a));
      size_t paired = std::min(rest_e.size(), rest_a.size());
      for (size_t i = 0; i < paired; ++i)
        Add("index", prefix + rest_e[i], "differs",
            "named " + rest_e[i] + " vs " + rest_a[i] + " (" + definition + ")");
      left_e.insert(rest_e.begin() + static_cast<std::ptrdiff_t>(paired), rest_e.end());
      left_a.insert(rest_a.begin() + static_cast<std::ptrdiff_t>(paired), rest_a.end());
    }
    for (const auto& [definition, names_a] : by_definition_a)
      left_a.insert(names_a.begin(), names_a.end());
    for (const auto& name : left_e) {
      if (left_a.count(name)) {
        Add("index", prefix + name, "differs", e.at(name) + " vs " + a.at(name));
      } else {
        Add("index", prefix + name, only_expected_, e.at(name));
      }
    }
    for (const auto& name : left_a)
      if (!left_e.count(name)) Add("index", prefix + name, only_actual_, a.at(name));
  }

  const SchemaModel& expected_;
  const SchemaModel& actual_;
  std::string only_expected_;
  std::string only_actual_;
  std::vector<DriftItem> items_;
};

}  // namespace

std::string IndexDefinitionWithoutName(const std::string& definition) {
  // CREATE [UNIQUE] INDEX <name> ON ...; the name is quoted when it needs to
  // be, with embedded quotes doubled.
  size_t start = definition.find(" INDEX ");
  if (start == std::string::npos) return definition;
  start += 7;
  size_t end = start;
  if (end < definition.size() && definition[end] == '"') {
    for (++end; end < definition.size(); ++end) {
      if (definition[end] != '"') continue;
      if (end + 1 < definition.size() && definition[end + 1] == '"') {
        ++end;
      } else {
        ++end;
        break;
      }
    }
  } else {
    end = definition.find(' ', start);
    if (end == std::string::npos) return definition;
  }
  if (definition.compare(end, 4, " ON ") != 0) return definition;
  return definition.substr(0, start) + definition.substr(end + 1);
}

std::vector<DriftItem> Diff(const SchemaModel& expected, const SchemaModel& actual) {
  return Differ(expected, actual).Run();
}

std::string DriftText(const std::vector<DriftItem>& drift) {
  if (drift.empty()) return "no schema drift\n";
  std::ostringstream out;
  out << "schema drift: " << drift.size() << (drift.size() == 1 ? " difference" : " differences")
      << "\n";
  for (const auto& item : drift) {
    out << "  " << item.kind << " " << item.object << ": " << item.change;
    if (!item.detail.empty()) out << " (" << item.detail << ")";
    out << "\n";
  }
  return out.str();
}

nlohmann::json DriftJson(const std::vector<DriftItem>& drift) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : drift)
    out.push_back({{"kind", item.kind},
                   {"object", item.object},
                   {"change", item.change},
                   {"detail", item.detail}});
  return out;
}

}  // namespace freshet
