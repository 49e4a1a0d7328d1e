#include "sync/engine/mask_plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "copy/error.h"
#include "copy/identifiers.h"
#include "schema/patterns.h"
#include "sync/engine/mask_coverage.h"
#include "sync/engine/plan.h"

namespace freshet {
namespace {

// A column of a table, as foreign keys and rules name it.
using ColumnRef = std::pair<QualifiedName, std::string>;

std::string Display(const ColumnRef& column) {
  return column.first.Display() + "." + column.second;
}

bool InSelect(const MaskRule& rule) {
  return rule.rule == "null" || rule.rule == "constant" || rule.rule == "sql";
}

struct ParsedPattern {
  TablePattern table;
  std::string column;  // glob
  int wildcards = 0;
};

// Union-find over columns, joined by foreign keys.
class KeyComponents {
 public:
  size_t Id(const ColumnRef& column) {
    auto [it, added] = ids_.emplace(column, parent_.size());
    if (added) parent_.push_back(parent_.size());
    return it->second;
  }
  size_t Root(size_t id) {
    while (parent_[id] != id) id = parent_[id] = parent_[parent_[id]];
    return id;
  }
  void Join(const ColumnRef& a, const ColumnRef& b) { parent_[Root(Id(a))] = Root(Id(b)); }

 private:
  std::map<ColumnRef, size_t> ids_;
  std::vector<size_t> parent_;
};

// The table a foreign key's columns belong to in the plan: a partition's
// keys count for its root.
QualifiedName PlannedName(const Catalog& catalog, const QualifiedName& table) {
  const Table* found = catalog.Find(table);
  return found && found->partition_root ? *found->partition_root : table;
}

class MaskPlanner {
 public:
  MaskPlanner(const Catalog& source, const Catalog& target, const MaskSettings& settings,
              Plan& plan)
      : source_(source), target_(target), settings_(settings), plan_(plan) {}

  void Run() {
    if (!ParsePatterns()) return;
    matched_.assign(patterns_.size(), false);
    for (const auto& table : plan_.tables)
      for (const auto& column : table.mapping.columns) Match({table.name, column});
    for (size_t i = 0; i < patterns_.size(); ++i)
      if (!matched_[i])
        plan_.warnings.push_back(fmt::format(
            "mask rule '{}' matches no copied column (a partitioned table's columns are named "
            "by the partitioned table, not its partitions)",
            settings_.rules[i].first));
    Propagate();
    for (auto& table : plan_.tables) Bind(table);
    Coverage();
  }

 private:
  bool ParsePatterns() {
    for (const auto& [text, rule] : settings_.rules) {
      try {
        auto [table, column] = SplitColumnPattern(text);
        int wildcards = static_cast<int>(std::count(text.begin(), text.end(), '*'));
        patterns_.push_back({TablePattern::Parse(table), column, wildcards});
      } catch (const Error& error) {
        plan_.errors.push_back(fmt::format("mask rule '{}': {}", text, error.what()));
      }
    }
    return plan_.errors.empty();
  }

  // The most specific matching rule, then the first in the file.
  void Match(const ColumnRef& column) {
    int best = -1;
    for (size_t i = 0; i < patterns_.size(); ++i) {
      const ParsedPattern& pattern = patterns_[i];
      if (!pattern.table.Matches(column.first) || !GlobMatch(pattern.column, column.second))
        continue;
      matched_[i] = true;
      if (best < 0 || pattern.wildcards < patterns_[best].wildcards) best = static_cast<int>(i);
    }
    if (best < 0) return;
    assigned_[column] = {settings_.rules[best].second, "rule " + settings_.rules[best].first};
  }

  // Columns joined by a foreign key (on either side) mask alike: one rule
  // per group, carried to the group's other synced columns.
  void Propagate() {
    KeyComponents components;
    std::map<ColumnRef, std::string> via;  // column -> the key joining it
    for (const Catalog* catalog : {&source_, &target_})
      for (const auto& key : catalog->foreign_keys)
        for (size_t c = 0; c < key.columns.size() && c < key.referenced_columns.size(); ++c) {
          ColumnRef from{PlannedName(*catalog, key.table), key.columns[c]};
          ColumnRef to{PlannedName(*catalog, key.referenced), key.referenced_columns[c]};
          components.Join(from, to);
          via.emplace(from, fmt::format("{} ({})", Display(to), key.name));
          via.emplace(to, fmt::format("{} ({})", Display(from), key.name));
        }
    std::map<size_t, std::pair<ColumnRef, Assignment>> group_rule;
    for (const auto& [column, assignment] : assigned_) {
      size_t root = components.Root(components.Id(column));
      auto [it, added] = group_rule.emplace(root, std::pair(column, assignment));
      if (!added && RuleSignature(it->second.second.rule) != RuleSignature(assignment.rule))
        plan_.errors.push_back(fmt::format(
            "{} and {} are joined by foreign keys but masked differently ({} and {}): their "
            "values would no longer match; give them the same rule",
            Display(it->second.first), Display(column), it->second.second.origin,
            assignment.origin));
    }
    for (const auto& table : plan_.tables)
      for (const auto& name : table.mapping.columns) {
        ColumnRef column{table.name, name};
        if (assigned_.count(column)) continue;
        auto it = group_rule.find(components.Root(components.Id(column)));
        if (it == group_rule.end()) continue;
        auto hop = via.find(column);
        if (it->second.second.rule.rule == "sql") {  // it reads its own table's columns
          plan_.errors.push_back(fmt::format(
              "{} is masked by an sql expression and joined by a foreign key to {}, which has no "
              "rule: an expression reads each table's own columns, so the values would no longer "
              "match; use a keyed rule (uuid, hash, integer...) on the key instead",
              Display(it->second.first), Display(column)));
          continue;
        }
        assigned_[column] = {
            it->second.second.rule,
            "follows " + (hop != via.end() ? hop->second : Display(it->second.first))};
      }
  }

  void Bind(PlannedTable& table) {
    const Table* src = source_.Find(table.name);
    const Table* dst = target_.Find(table.name);
    if (!src || !dst) return;
    for (const auto& name : table.mapping.columns) {
      auto it = assigned_.find({table.name, name});
      if (it == assigned_.end() || it->second.rule.rule == "keep") continue;
      const Column* source_column = src->FindColumn(name);
      const Column* target_column = dst->FindColumn(name);
      if (!source_column || !target_column) continue;
      ColumnMask mask{name, it->second.rule, it->second.origin, "", ValueKind::kText, {}, nullptr,
                      ""};
      std::string where = fmt::format("column {}.{} ({})", table.name.Display(), name, mask.origin);
      if (!CheckTarget(table, *dst, *target_column, mask, where)) continue;
      if (InSelect(mask.rule)) {
        mask.select_expression = SelectExpression(mask.rule, *source_column);
      } else if (!BindStream(table, *source_column, *target_column, mask, where)) {
        continue;
      }
      VerifyMasked(table, name, mask);
      table.masks.push_back(std::move(mask));
    }
  }

  // Verification compares what the target should hold: the source's
  // expression for a mask in the SELECT; nothing for one in the stream (only
  // freshet can compute it), so such a column counts by its rows alone.
  static void VerifyMasked(PlannedTable& table, const std::string& column, const ColumnMask& mask) {
    auto at = std::find(table.mapping.columns.begin(), table.mapping.columns.end(), column) -
              table.mapping.columns.begin();
    if (table.verify_source.size() != table.mapping.columns.size() ||
        table.verify_target.size() != table.mapping.columns.size())
      return;
    if (mask.select_expression.empty()) {
      table.verify_source[at] = table.verify_target[at] = "NULL";
    } else {
      table.verify_source[at] = mask.select_expression;
      table.verify_target[at] = QuoteIdent(column);
    }
  }

  std::string SelectExpression(const MaskRule& rule, const Column& column) const {
    if (rule.rule == "null") return fmt::format("NULL::{}", column.type);
    if (rule.rule == "constant")
      return fmt::format("{}::{}", QuoteLiteral(rule.value), column.type);
    return fmt::format("({})::{}", rule.sql, column.type);
  }

  // The base type a domain stands on (through domains over domains), for
  // the codec: its name, or with `modifier` its text ("character varying(20)").
  static std::string BaseType(const Catalog& catalog, std::string type_id, std::string text,
                              bool modifier) {
    for (int depth = 0; depth < 32; ++depth) {
      const TypeInfo* type = catalog.FindType(type_id);
      if (!type || type->kind != 'd' || type->domain_base_id.empty()) break;
      type_id = type->domain_base_id;
      text = type->domain_base.empty() ? type_id : type->domain_base;
    }
    return modifier ? text : type_id;
  }
  std::string BaseType(const std::string& type_id) const {
    return BaseType(source_, type_id, type_id, false);
  }

  bool BindStream(const PlannedTable& table, const Column& source_column,
                  const Column& target_column, ColumnMask& mask, const std::string& where) {
    if (table.mapping.format != CopyFormat::kBinary) {
      plan_.errors.push_back(fmt::format(
          "{}: masking in the stream needs the binary COPY format, and {} is copied as text ({})",
          where, table.name.Display(), table.mapping.format_reason));
      return false;
    }
    std::string base = BaseType(source_column.type_id);
    std::optional<ValueKind> kind = KindOfType(base);
    if (!kind) {
      plan_.errors.push_back(fmt::format(
          "{}: rule \"{}\" cannot mask type {} in the stream; use rule = \"sql\" with an "
          "expression, or \"null\" or \"constant\"",
          where, mask.rule.rule, source_column.type));
      return false;
    }
    if (!RuleTakes(mask.rule, *kind)) {
      plan_.errors.push_back(fmt::format("{}: rule \"{}\" does not apply to type {} ({} values)",
                                         where, mask.rule.rule, source_column.type,
                                         ValueKindName(*kind)));
      return false;
    }
    mask.kind = *kind;
    mask.limits = LimitsOfType(BaseType(target_, target_column.type_id, target_column.type, true));
    if (BaseType(target_, target_column.type_id, "", false) == "jsonb") mask.limits.jsonb = true;
    try {
      static const MaskKey check_key = MaskKey::Ephemeral();
      const MaskKey& key = settings_.key ? *settings_.key : check_key;
      mask.masker = MakeMasker(mask.rule, key, *kind, mask.limits);
      if (settings_.key) mask.key_fingerprint = settings_.key->Fingerprint();
    } catch (const Error& error) {
      plan_.errors.push_back(fmt::format("{}: {}", where, error.what()));
      return false;
    }
    return true;
  }

  // Columns that look personal (by name and type) with no rule: warnings,
  // or errors under `strict = true`.
  void Coverage() {
    std::vector<std::string> kept;
    for (const auto& [column, assignment] : assigned_)
      if (assignment.rule.rule == "keep") kept.push_back(QuotedColumn(column));
    for (const auto& found : FindPersonalColumns(source_, plan_, kept, nullptr))
      (settings_.strict ? plan_.errors : plan_.warnings).push_back(UnruledColumnMessage(found));
  }

  static std::string QuotedColumn(const ColumnRef& column) {
    return column.first.Quoted() + "." + QuoteIdent(column.second);
  }

  // What the target's constraints demand of the masked values.
  bool CheckTarget(const PlannedTable& table, const Table& dst, const Column& column,
                   const ColumnMask& mask, const std::string& where) {
    if (mask.rule.rule == "null" && column.not_null) {
      plan_.errors.push_back(
          fmt::format("{}: rule \"null\" on a NOT NULL column of the target", where));
      return false;
    }
    // Hashes and addresses stay unique while the column holds them whole.
    size_t max_chars = LimitsOfType(column.type).max_chars;
    size_t whole = mask.rule.rule == "email" ? 38 : mask.rule.rule == "hash" ? 32 : 0;
    if (RuleKeepsUnique(mask.rule) && (max_chars == 0 || max_chars >= whole)) return true;
    for (const auto& index : target_.indexes) {
      if (index.table != dst.name || !index.unique) continue;
      bool covers =
          std::find(index.keys.begin(), index.keys.end(), mask.column) != index.keys.end() ||
          std::find(index.keys.begin(), index.keys.end(), QuoteIdent(mask.column)) !=
              index.keys.end();
      if (!covers) continue;
      plan_.errors.push_back(fmt::format(
          "{}: rule \"{}\" can give two rows the same value, and unique index {} on {} needs "
          "them distinct; use a rule that keeps values unique (uuid; hash or email in a column "
          "of at least 32 or 38 characters)",
          where, mask.rule.rule, index.name, table.name.Display()));
      return false;
    }
    return true;
  }

  struct Assignment {
    MaskRule rule;
    std::string origin;
  };

  const Catalog& source_;
  const Catalog& target_;
  const MaskSettings& settings_;
  Plan& plan_;
  std::vector<ParsedPattern> patterns_;
  std::vector<bool> matched_;  // per pattern
  std::map<ColumnRef, Assignment> assigned_;
};

}  // namespace

std::pair<std::string, std::string> SplitColumnPattern(const std::string& pattern) {
  bool quoted = false;
  size_t last_dot = std::string::npos;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '"') quoted = !quoted;  // "" inside quotes toggles twice
    if (pattern[i] == '.' && !quoted) last_dot = i;
  }
  if (quoted) throw Error("unterminated double quote");
  if (last_dot == std::string::npos || last_dot == 0 || last_dot + 1 == pattern.size())
    throw Error("expected schema.table.column (each part a name or a `*` pattern)");
  std::string column = pattern.substr(last_dot + 1);
  if (column.size() >= 2 && column.front() == '"' && column.back() == '"') {
    std::string unquoted;
    for (size_t i = 1; i + 1 < column.size(); ++i) {
      unquoted += column[i];
      if (column[i] == '"') ++i;
    }
    column = unquoted;
  }
  return {pattern.substr(0, last_dot), column};
}

void PlanMasks(const Catalog& source, const Catalog& target, const MaskSettings& settings,
               Plan& plan) {
  if (!settings.any() && !settings.strict) return;
  MaskPlanner(source, target, settings, plan).Run();
}

void PlanSampledCoverage(Connection& source, const Catalog& source_catalog,
                         const MaskSettings& settings, Plan& plan) {
  if (!settings.any() && !settings.strict) return;
  std::vector<std::string> kept;
  for (const auto& [pattern, rule] : settings.rules)
    if (rule.rule == "keep") kept.push_back(pattern);
  for (const auto& found : FindPersonalColumns(source_catalog, plan, kept, &source))
    if (found.sampled)
      (settings.strict ? plan.errors : plan.warnings).push_back(UnruledColumnMessage(found));
}

std::string MaskedSelectList(const std::vector<std::string>& columns,
                             const std::vector<ColumnMask>& masks) {
  bool any = false;
  std::vector<std::string> items;
  for (const auto& column : columns) {
    std::string item = QuoteIdent(column);
    for (const auto& mask : masks)
      if (mask.column == column && !mask.select_expression.empty()) {
        item = mask.select_expression + " AS " + QuoteIdent(column);
        any = true;
      }
    items.push_back(std::move(item));
  }
  return any ? fmt::format("{}", fmt::join(items, ", ")) : "";
}

std::unique_ptr<MaskRows> StreamMasker(const std::vector<std::string>& columns,
                                       const std::vector<ColumnMask>& masks) {
  bool any = false;
  std::vector<std::optional<ColumnMasker>> fields(columns.size());
  for (size_t i = 0; i < columns.size(); ++i)
    for (const auto& mask : masks)
      if (mask.column == columns[i] && mask.select_expression.empty()) {
        fields[i] = ColumnMasker{mask.kind, mask.limits, mask.masker, mask.column};
        any = true;
      }
  if (!any) return nullptr;
  return std::make_unique<MaskRows>(StreamFormat::kBinary, std::move(fields));
}

std::string MaskPlacement(const ColumnMask& mask) {
  return mask.select_expression.empty() ? "in the stream" : "in the source's SELECT";
}

}  // namespace freshet
