#include "sync/engine/target_rules.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <set>

#include "copy/identifiers.h"
#include "schema/type_graph.h"
#include "schema/type_limits.h"

namespace freshet {
namespace {

// How a rule reads a table's rows: the source's table itself, partitions
// included when `with_partitions`, unless the caller says otherwise.
std::string ReadOf(const RowsOf& rows, const QualifiedName& name, bool with_partitions) {
  if (rows) return rows(name, with_partitions);
  return (with_partitions ? "" : "ONLY ") + name.Quoted();
}

// How a planned table is read for whole-table rules.
std::string SourceRelation(const PlannedTable& table, const RowsOf& rows) {
  return ReadOf(rows, table.name, table.source_partitioned);
}

std::string ColumnSql(const std::string& column) { return "t." + QuoteIdent(column); }

// `condition(value)` for each value of a column: for arrays, true when any
// element meets it.
std::string AnyValue(const std::string& column_sql, bool array,
                     const std::function<std::string(const std::string&)>& condition) {
  if (!array) return condition(column_sql);
  return fmt::format("EXISTS (SELECT 1 FROM pg_catalog.unnest({}) AS e(v) WHERE {})", column_sql,
                     condition("e.v"));
}

std::string CountWhere(const std::string& relation, const std::string& condition) {
  return fmt::format("SELECT count(*) FROM {} AS t WHERE {}", relation, condition);
}

bool IsIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

}  // namespace

std::string SubstituteDomainValue(const std::string& expression, const std::string& value) {
  std::string out;
  for (size_t i = 0; i < expression.size();) {
    char c = expression[i];
    if (c == '\'' || c == '"') {  // copy the literal or identifier through
      bool escapes = c == '\'' && i > 0 && (expression[i - 1] == 'E' || expression[i - 1] == 'e');
      size_t j = i + 1;
      while (j < expression.size()) {
        if (escapes && expression[j] == '\\') {
          j += 2;
          continue;
        }
        if (expression[j] == c) {
          if (j + 1 < expression.size() && expression[j + 1] == c) {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      size_t end = std::min(j + 1, expression.size());
      out.append(expression, i, end - i);
      i = end;
      continue;
    }
    bool boundary_before =
        i == 0 || (!IsIdentifierChar(expression[i - 1]) && expression[i - 1] != '.');
    if (boundary_before && expression.compare(i, 5, "VALUE") == 0 &&
        (i + 5 == expression.size() || !IsIdentifierChar(expression[i + 5]))) {
      out += "(" + value + ")";
      i += 5;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

namespace {

struct ColumnPair {
  const Column* source;
  const Column* target;
};

std::vector<ColumnPair> CopiedColumns(const Table& src, const Table& dst,
                                      const PlannedTable& planned) {
  std::vector<ColumnPair> out;
  for (const auto& name : planned.mapping.columns) {
    const Column* s = src.FindColumn(name);
    const Column* t = dst.FindColumn(name);
    if (s && t && !t->type_id.empty() && !s->type_id.empty()) out.push_back({s, t});
  }
  return out;
}

void EnumRules(const Catalog& source, const Catalog& target, const PlannedTable& planned,
               const ColumnPair& column, const RowsOf& rows, std::vector<TargetRule>& rules) {
  ResolvedType to = Resolve(target, column.target->type_id);
  const TypeInfo* target_enum = target.FindType(to.base);
  if (!target_enum || target_enum->kind != 'e') return;
  ResolvedType from = Resolve(source, column.source->type_id);
  const TypeInfo* source_enum = source.FindType(from.base);
  std::vector<std::string> missing;
  if (source_enum && source_enum->kind == 'e') {
    for (const auto& label : source_enum->enum_labels)
      if (std::find(target_enum->enum_labels.begin(), target_enum->enum_labels.end(), label) ==
          target_enum->enum_labels.end())
        missing.push_back(QuoteLiteral(label));
    if (missing.empty()) return;
  }
  std::vector<std::string> labels;
  for (const auto& label : target_enum->enum_labels) labels.push_back(QuoteLiteral(label));
  std::string allowed = labels.empty()
                            ? "'{}'::pg_catalog.text[]"
                            : fmt::format("ARRAY[{}]::pg_catalog.text[]", fmt::join(labels, ", "));
  std::string condition =
      AnyValue(ColumnSql(column.target->name), from.known ? from.array : to.array,
               [&](const std::string& v) {
                 return fmt::format("({})::pg_catalog.text <> ALL ({})", v, allowed);
               });
  std::string rule = fmt::format(
      "column {}: enum {} of the target{}", QuoteIdent(column.target->name), target_enum->name,
      missing.empty() ? "" : fmt::format(" lacks the label(s) {}", fmt::join(missing, ", ")));
  rules.push_back({planned.name, rule, CountWhere(SourceRelation(planned, rows), condition),
                   fmt::format("add the label(s) to the target's enum (ALTER TYPE {} ADD VALUE "
                               "...), or exclude the table",
                               target_enum->name)});
}

// The (domain, constraint) pairs the source's column type already enforces.
std::set<std::pair<std::string, std::string>> SourceDomainRules(const Catalog& source,
                                                                const Column& column) {
  std::set<std::pair<std::string, std::string>> out;
  ResolvedType from = Resolve(source, column.type_id);
  for (const auto* list : {&from.value_domains, &from.element_domains})
    for (const TypeInfo* domain : *list) {
      if (domain->domain_not_null) out.insert({domain->name, "NOT NULL"});
      for (const auto& check : domain->domain_checks) out.insert({domain->name, check.expression});
    }
  return out;
}

void DomainRules(const Catalog& source, const Catalog& target, const PlannedTable& planned,
                 const ColumnPair& column, const RowsOf& rows, std::vector<TargetRule>& rules) {
  ResolvedType to = Resolve(target, column.target->type_id);
  if (to.value_domains.empty() && to.element_domains.empty()) return;
  auto enforced = SourceDomainRules(source, *column.source);
  std::string value = ColumnSql(column.target->name);
  auto add = [&](const TypeInfo& domain, bool per_element) {
    std::string way_out = fmt::format(
        "fix the rows on the source, relax the domain {} on the target, or exclude the table",
        domain.name);
    if (domain.domain_not_null && !enforced.count({domain.name, "NOT NULL"}) &&
        !(column.source->not_null && !per_element)) {
      std::string condition =
          per_element ? AnyValue(value, true, [](const std::string& v) { return v + " IS NULL"; })
                      : value + " IS NULL";
      rules.push_back({planned.name,
                       fmt::format("column {}: domain {} of the target is NOT NULL",
                                   QuoteIdent(column.target->name), domain.name),
                       CountWhere(SourceRelation(planned, rows), condition), way_out});
    }
    for (const auto& check : domain.domain_checks) {
      if (enforced.count({domain.name, check.expression})) continue;
      auto broken = [&](const std::string& v) {
        return fmt::format("NOT ({})", SubstituteDomainValue(check.expression, v));
      };
      std::string condition = per_element ? AnyValue(value, true, broken) : broken(value);
      rules.push_back(
          {planned.name,
           fmt::format("column {}: CHECK constraint {} of domain {} on the target ({})",
                       QuoteIdent(column.target->name), check.name, domain.name, check.expression),
           CountWhere(SourceRelation(planned, rows), condition), way_out});
    }
  };
  for (const TypeInfo* domain : to.value_domains) add(*domain, false);
  for (const TypeInfo* domain : to.element_domains) add(*domain, true);
}

// Type changes every value of the source type survives (widenings), so no
// row needs looking at. `target_type` is the column's declared type with its
// modifiers (an unconstrained numeric or varchar only).
bool AlwaysFits(const std::string& source_base, const std::string& target_type) {
  static const std::set<std::pair<std::string, std::string>> kWidenings = {
      {"smallint", "integer"},
      {"smallint", "bigint"},
      {"integer", "bigint"},
      {"smallint", "numeric"},
      {"integer", "numeric"},
      {"bigint", "numeric"},
      {"real", "double precision"},
      {"timestamp without time zone", "timestamp with time zone"},
      {"date", "timestamp without time zone"},
      {"date", "timestamp with time zone"},
      {"character varying", "text"},
      {"character", "text"},
  };
  if (target_type == "text" || target_type == "character varying") return true;
  return kWidenings.count({source_base, target_type}) > 0;
}

// Integer narrowing (bigint into integer, numeric into smallint) counts the
// rows out of range; other type changes into a built-in type are probed by
// casting each value's text as the target's COPY would read it.
void TypeChangeRules(const Catalog& source, const Catalog& target, const PlannedTable& planned,
                     const ColumnPair& column, const RowsOf& rows, std::vector<TargetRule>& rules) {
  const Column& s = *column.source;
  const Column& t = *column.target;
  if (TypeWithoutModifiers(s.type) == TypeWithoutModifiers(t.type)) return;  // fit_check's case
  ResolvedType from = Resolve(source, s.type_id);
  ResolvedType to = Resolve(target, t.type_id);
  const TypeInfo* target_base = target.FindType(to.base);
  if (!target_base || !target_base->built_in || target_base->kind != 'b') return;
  if (from.known && from.base == to.base) return;  // the same values, through domains
  if (from.array == to.array && AlwaysFits(from.base, t.type)) return;
  std::string value = ColumnSql(t.name);
  struct Range {
    const char* type;
    const char* low;
    const char* high;
  };
  static const Range kRanges[] = {{"smallint", "-32768", "32767"},
                                  {"integer", "-2147483648", "2147483647"},
                                  {"bigint", "-9223372036854775808", "9223372036854775807"}};
  static const std::set<std::string> kNumbers = {"smallint", "integer", "bigint",
                                                 "numeric",  "real",    "double precision"};
  for (const Range& range : kRanges) {
    if (to.base != range.type || !kNumbers.count(from.base)) continue;
    std::string condition = AnyValue(value, from.array, [&](const std::string& v) {
      return fmt::format("pg_catalog.round(({})::pg_catalog.numeric) NOT BETWEEN {} AND {}", v,
                         range.low, range.high);
    });
    rules.push_back({planned.name,
                     fmt::format("column {}: {} on the target ({} on the source)",
                                 QuoteIdent(t.name), t.type, s.type),
                     CountWhere(SourceRelation(planned, rows), condition),
                     "widen the column on the target, or exclude the table"});
    return;
  }
  // The type the target's COPY reads the text into: the column's own type
  // when built in, else the innermost domain's base with its modifier.
  std::string cast = t.type;
  if (!to.element_domains.empty())
    cast = to.element_domains.back()->domain_base + "[]";
  else if (!to.value_domains.empty())
    cast = to.value_domains.back()->domain_base;
  std::string condition =
      fmt::format("({0})::pg_catalog.text::{1} IS NULL AND {0} IS NOT NULL", value, cast);
  TargetRule rule{planned.name,
                  fmt::format("column {}: {} on the target ({} on the source)", QuoteIdent(t.name),
                              t.type, s.type),
                  CountWhere(SourceRelation(planned, rows), condition),
                  "change the column's type on the target, fix the rows on the source, or "
                  "exclude the table"};
  rule.fails_when_broken = true;
  rules.push_back(std::move(rule));
}

void CheckRules(const Table& src, const Table& dst, const PlannedTable& planned, const RowsOf& rows,
                std::vector<TargetRule>& rules) {
  for (const auto& check : dst.checks) {
    bool enforced = false;
    for (const auto& other : src.checks)
      enforced |= other.expression == check.expression && other.validated;
    if (enforced) continue;
    rules.push_back(
        {planned.name,
         fmt::format("CHECK constraint {} of the target ({})", check.name, check.expression),
         CountWhere(SourceRelation(planned, rows), fmt::format("NOT ({})", check.expression)),
         "fix the rows on the source, drop or relax the constraint on the target, or "
         "exclude the table"});
  }
}

std::vector<const Table*> LeavesOf(const Catalog& catalog, const QualifiedName& root) {
  std::vector<const Table*> out;
  for (const auto& table : catalog.tables)
    if (table.partition_root == root && table.kind == TableKind::kTable) out.push_back(&table);
  return out;
}

void PartitionRules(const Catalog& target, const PlannedTable& planned, const RowsOf& rows,
                    std::vector<TargetRule>& rules) {
  if (planned.target_kind != TableKind::kPartitioned || planned.route == "per partition") return;
  std::vector<std::string> fits;
  for (const Table* leaf : LeavesOf(target, planned.name)) {
    if (leaf->partition_constraint.empty()) return;  // a lone default partition takes any row
    fits.push_back(fmt::format("coalesce(({}), false)", leaf->partition_constraint));
  }
  std::string condition = fits.empty() ? "true" : fmt::format("NOT ({})", fmt::join(fits, " OR "));
  rules.push_back({planned.name, "the partitions of the target (no partition takes these rows)",
                   CountWhere(SourceRelation(planned, rows), condition),
                   "add a partition (or a DEFAULT partition) on the target for them, or exclude "
                   "the table"});
}

bool SourceHasUnique(const Catalog& source, const Index& wanted) {
  for (const auto& index : source.indexes) {
    if (index.table != wanted.table || !index.unique || !index.valid || index.keys.empty())
      continue;
    bool nulls_ok = index.nulls_not_distinct || !wanted.nulls_not_distinct;
    if (index.keys == wanted.keys && index.predicate == wanted.predicate && nulls_ok) return true;
    bool subset =
        index.predicate.empty() && nulls_ok &&
        std::all_of(index.keys.begin(), index.keys.end(), [&](const std::string& key) {
          return std::find(wanted.keys.begin(), wanted.keys.end(), key) != wanted.keys.end();
        });
    if (subset) return true;
  }
  return false;
}

void UniqueRules(const Catalog& source, const Catalog& target, const PlannedTable& planned,
                 const RowsOf& rows, std::vector<TargetRule>& rules) {
  for (const auto& index : target.indexes) {
    if (index.table != planned.name || !index.unique || !index.valid || index.keys.empty())
      continue;
    if (SourceHasUnique(source, index)) continue;
    std::vector<std::string> where;
    if (!index.predicate.empty()) where.push_back("(" + index.predicate + ")");
    if (!index.nulls_not_distinct)
      for (const auto& key : index.keys) where.push_back("(" + key + ") IS NOT NULL");
    std::string sql = fmt::format(
        "SELECT coalesce(sum(n), 0)::pg_catalog.int8 FROM (SELECT count(*) AS n FROM {} AS t{} "
        "GROUP BY {} HAVING count(*) > 1) AS d",
        SourceRelation(planned, rows),
        where.empty() ? "" : fmt::format(" WHERE {}", fmt::join(where, " AND ")),
        fmt::join(index.keys, ", "));
    std::string what = index.constraint_name.empty()
                           ? fmt::format("unique index {} of the target ({})", index.name,
                                         fmt::join(index.keys, ", "))
                           : fmt::format("constraint {} of the target ({})", index.constraint_name,
                                         index.constraint_definition);
    rules.push_back({planned.name, what + " (rows sharing a key)", sql,
                     "remove the duplicates on the source, drop the constraint on the target, or "
                     "exclude the table"});
  }
}

std::string SourceRead(const Catalog& source, const QualifiedName& name, const RowsOf& rows) {
  const Table* table = source.Find(name);
  return ReadOf(rows, name, table && table->kind == TableKind::kPartitioned);
}

void ForeignKeyRules(const Catalog& source, const Catalog& target, const Plan& plan,
                     const RowsOf& rows, std::vector<TargetRule>& rules) {
  std::set<QualifiedName> synced;
  for (const auto& planned : plan.tables) {
    synced.insert(planned.name);
    for (const auto& table : target.tables)
      if (table.partition_root == planned.name) synced.insert(table.name);
  }
  for (const auto& fk : target.foreign_keys) {
    if (!synced.count(fk.table) || !synced.count(fk.referenced)) continue;
    if (fk.referenced_columns.size() != fk.columns.size() || fk.columns.empty()) continue;
    if (!source.Find(fk.table) || !source.Find(fk.referenced)) continue;
    bool enforced = false;
    for (const auto& other : source.foreign_keys)
      enforced |= other.table == fk.table && other.definition == fk.definition && other.validated;
    if (enforced) continue;
    const PlannedTable* planned = nullptr;
    for (const auto& table : plan.tables) {
      if (table.name == fk.table) planned = &table;
      for (const auto& unit : table.units)
        if (unit.target == fk.table) planned = &table;
    }
    if (!planned) continue;
    bool copied = std::all_of(fk.columns.begin(), fk.columns.end(), [&](const std::string& c) {
      return std::count(planned->mapping.columns.begin(), planned->mapping.columns.end(), c) > 0;
    });
    if (!copied) continue;
    std::vector<std::string> present, match;
    for (size_t i = 0; i < fk.columns.size(); ++i) {
      present.push_back(ColumnSql(fk.columns[i]));
      match.push_back(fmt::format("p.{} = t.{}", QuoteIdent(fk.referenced_columns[i]),
                                  QuoteIdent(fk.columns[i])));
    }
    std::string nonnulls = fmt::format("pg_catalog.num_nonnulls({})", fmt::join(present, ", "));
    std::string orphan = fmt::format(
        "{} = {} AND NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})", nonnulls, fk.columns.size(),
        SourceRead(source, fk.referenced, rows), fmt::join(match, " AND "));
    if (fk.match_full && fk.columns.size() > 1)
      orphan =
          fmt::format("({} BETWEEN 1 AND {}) OR ({})", nonnulls, fk.columns.size() - 1, orphan);
    rules.push_back({planned->name,
                     fmt::format("foreign key {} of the target on {} ({}) (rows whose "
                                 "referenced row the source does not have)",
                                 fk.name, fk.table.Display(), fk.definition),
                     CountWhere(SourceRead(source, fk.table, rows), orphan),
                     "fix the rows on the source, drop the foreign key on the target, or re-add "
                     "it NOT VALID"});
  }
}

}  // namespace

std::vector<TargetRule> TargetRulesToCheck(const Catalog& source, const Catalog& target,
                                           const Plan& plan, const RowsOf& rows) {
  std::vector<TargetRule> rules;
  for (const auto& planned : plan.tables) {
    const Table* src = source.Find(planned.name);
    const Table* dst = target.Find(planned.name);
    if (!src || !dst) continue;
    for (const ColumnPair& column : CopiedColumns(*src, *dst, planned)) {
      EnumRules(source, target, planned, column, rows, rules);
      DomainRules(source, target, planned, column, rows, rules);
      TypeChangeRules(source, target, planned, column, rows, rules);
    }
    CheckRules(*src, *dst, planned, rows, rules);
    PartitionRules(target, planned, rows, rules);
    UniqueRules(source, target, planned, rows, rules);
  }
  ForeignKeyRules(source, target, plan, rows, rules);
  return rules;
}

std::vector<ObjectNameColumn> ObjectNameColumns(const Catalog& source, const Catalog& target,
                                                const Plan& plan) {
  std::vector<ObjectNameColumn> out;
  for (const auto& planned : plan.tables) {
    const Table* src = source.Find(planned.name);
    const Table* dst = target.Find(planned.name);
    if (!src || !dst) continue;
    for (const ColumnPair& column : CopiedColumns(*src, *dst, planned)) {
      std::string reg = ObjectNameType(source, column.source->type_id);
      if (reg.empty()) continue;
      bool array = Resolve(source, column.source->type_id).array;
      std::string value = ColumnSql(column.source->name);
      std::string values =
          array ? fmt::format("SELECT pg_catalog.unnest({}) AS v FROM {} AS t", value,
                              SourceRelation(planned, {}))
                : fmt::format("SELECT {} AS v FROM {} AS t", value, SourceRelation(planned, {}));
      out.push_back({planned.name, column.source->name, reg, array,
                     fmt::format("SELECT DISTINCT v::pg_catalog.text FROM ({}) AS s WHERE v IS "
                                 "NOT NULL AND v::pg_catalog.oid <> 0 LIMIT 10001",
                                 values)});
    }
  }
  return out;
}

namespace {

// Runs `sql` on `connection`, inside a savepoint when it is in a transaction
// (the source's snapshot must survive a rule it cannot evaluate).
Result TryOn(Connection& connection, const std::string& sql) {
  bool in_transaction = PQtransactionStatus(connection.handle()) == PQTRANS_INTRANS;
  if (!in_transaction) return connection.Exec(sql);
  connection.Exec("SAVEPOINT freshet_rule");
  try {
    Result result = connection.Exec(sql);
    connection.Exec("RELEASE SAVEPOINT freshet_rule");
    return result;
  } catch (const Error&) {
    connection.Exec("ROLLBACK TO SAVEPOINT freshet_rule");
    connection.Exec("RELEASE SAVEPOINT freshet_rule");
    throw;
  }
}

// The names the target cannot resolve. to_reg* answers NULL instead of
// failing; regconfig and regdictionary have none in PostgreSQL 15, so each
// name is cast on its own there.
std::vector<std::string> MissingOnTarget(Connection& target, const std::string& reg,
                                         const std::vector<std::string>& names) {
  static const std::set<std::string> kLookups = {"regclass",     "regcollation", "regnamespace",
                                                 "regoper",      "regoperator",  "regproc",
                                                 "regprocedure", "regrole",      "regtype"};
  std::vector<std::string> missing;
  if (kLookups.count(reg)) {
    Result rows =
        TryOn(target, fmt::format("SELECT n FROM pg_catalog.unnest({}::pg_catalog.text[]) "
                                  "AS n WHERE pg_catalog.to_{}(n) IS NULL ORDER BY 1",
                                  QuoteLiteral(TextArrayLiteral(names)), reg));
    for (int row = 0; row < rows.Rows(); ++row) missing.push_back(rows.Get(row, 0));
    return missing;
  }
  for (const auto& name : names) {
    try {
      TryOn(target, fmt::format("SELECT {}::pg_catalog.{}", QuoteLiteral(name), reg));
    } catch (const Error&) {
      missing.push_back(name);
    }
  }
  return missing;
}

void CheckObjectNames(Connection& source, Connection& target, const ObjectNameColumn& column,
                      Plan& plan, const RunLog& log) {
  constexpr size_t kShown = 5;
  constexpr int kMostNames = 10000;
  log.Info("checking that the objects column {} of {} names exist on the target",
           QuoteIdent(column.column), column.table.Display());
  std::vector<std::string> names;
  try {
    Result rows = TryOn(source, column.source_sql);
    for (int row = 0; row < rows.Rows() && row < kMostNames; ++row)
      names.push_back(rows.Get(row, 0));
  } catch (const Error& error) {
    if (error.sqlstate() == "57014") throw;  // cancelled: the run is stopping
    plan.warnings.push_back(fmt::format("column {} of {}: could not read its object names ({})",
                                        QuoteIdent(column.column), column.table.Display(),
                                        WithoutValues(error.what())));
    return;
  }
  if (names.empty()) return;
  std::vector<std::string> missing = MissingOnTarget(target, column.reg_type, names);
  if (missing.empty()) return;
  std::vector<std::string> shown(missing.begin(),
                                 missing.begin() + std::min(kShown, missing.size()));
  plan.errors.push_back(fmt::format(
      "column {} of {} ({}): {} object(s) its rows name do not exist on the target ({}{}), so "
      "the load would fail: create them on the target, or exclude the table",
      QuoteIdent(column.column), column.table.Display(), column.reg_type, missing.size(),
      fmt::join(shown, ", "), missing.size() > kShown ? ", ..." : ""));
}

}  // namespace

std::string WithoutValues(const std::string& message) {
  std::string out;
  bool quoted = false;
  for (char c : message) {
    if (c == '"') {
      if (!quoted) out += "...";
      quoted = !quoted;
      continue;
    }
    if (!quoted) out.push_back(c);
  }
  size_t context = out.find(" (while running");
  if (context != std::string::npos) out.resize(context);
  return out;
}

void RunTargetRule(Connection& connection, const TargetRule& rule, const std::string& rows_from,
                   Plan& plan, const RunLog& log) {
  log.Info("checking the rows of {} in {} against {}", rule.table.Display(), rows_from, rule.rule);
  try {
    int64_t rows = TryOn(connection, rule.count_sql).GetInt(0, 0);
    if (rows > 0)
      plan.errors.push_back(fmt::format("table {}: {} row(s) in {} break {}: {}",
                                        rule.table.Display(), rows, rows_from, rule.rule,
                                        rule.way_out));
  } catch (const Error& error) {
    std::string state = error.sqlstate();
    if (state == "57014") throw;  // cancelled: the run is stopping
    if (rule.fails_when_broken && state.rfind("22", 0) == 0) {
      plan.errors.push_back(fmt::format(
          "table {}: rows in {} (at least one) break {}: the target would refuse them ({}): {}",
          rule.table.Display(), rows_from, rule.rule, WithoutValues(error.what()), rule.way_out));
      return;
    }
    plan.warnings.push_back(fmt::format(
        "table {}: could not check {} on {} ({}); rows that break it would fail the load",
        rule.table.Display(), rule.rule, rows_from, WithoutValues(error.what())));
  }
}

void CheckTargetRules(Connection& source, Connection& target, const Catalog& source_catalog,
                      const Catalog& target_catalog, Plan& plan, const RunLog& log) {
  for (const TargetRule& rule : TargetRulesToCheck(source_catalog, target_catalog, plan))
    RunTargetRule(source, rule, "the source", plan, log);
  for (const ObjectNameColumn& column : ObjectNameColumns(source_catalog, target_catalog, plan))
    CheckObjectNames(source, target, column, plan, log);
}

}  // namespace freshet
