#include "sync/engine/fit_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>
#include <set>

#include "copy/identifiers.h"

namespace freshet {

std::string MisfitError(const QualifiedName& table, const NarrowedColumn& column, uint64_t rows,
                        const std::string& where, const std::string& example) {
  if (!column.limit)
    return fmt::format(
        "column {} of {}: {} row(s) in {} are NULL, but the column is NOT NULL on the target: "
        "fill them on the source, drop NOT NULL on the target, or exclude the table",
        QuoteIdent(column.name), table.Display(), rows, where);
  return fmt::format(
      "column {} of {}: {} row(s) in {} do not fit {} on the target (it is {} in {}{}): widen "
      "the column on the target, or exclude the table",
      QuoteIdent(column.name), table.Display(), rows, where, column.target_type, column.source_type,
      where, example.empty() ? "" : fmt::format("; the first such value {}", example));
}

std::vector<NarrowedColumn> NarrowedColumns(const Catalog& source, const Catalog& target,
                                            const PlannedTable& table) {
  std::vector<NarrowedColumn> out;
  const Table* from = source.Find(table.name);
  const Table* to = target.Find(table.name);
  if (!from || !to) return out;
  for (const auto& name : table.mapping.columns) {
    const Column* s = from->FindColumn(name);
    const Column* t = to->FindColumn(name);
    if (!s || !t) continue;
    if (auto limit = NarrowingLimit(s->type, t->type))
      out.push_back({name, s->type, t->type, *limit});
    if (t->not_null && !s->not_null) out.push_back({name, s->type, t->type, std::nullopt});
  }
  return out;
}

void CheckSourceFits(Connection& source, const Catalog& source_catalog,
                     const Catalog& target_catalog, Plan& plan, const RunLog& log) {
  // char_length counts bytes in SQL_ASCII, where characters cannot be told apart.
  std::optional<bool> counts_bytes;
  for (const PlannedTable& table : plan.tables) {
    std::vector<NarrowedColumn> columns;
    std::vector<std::string> counts;
    for (auto& column : NarrowedColumns(source_catalog, target_catalog, table)) {
      if (column.limit &&
          (column.limit->kind == LimitKind::kVarchar || column.limit->kind == LimitKind::kChar)) {
        if (!counts_bytes)
          counts_bytes = source.Exec("SHOW server_encoding").Text(0, 0) == "SQL_ASCII";
        if (*counts_bytes) continue;  // not judged: the load will
      }
      auto condition =
          column.limit
              ? MisfitCondition(*column.limit, column.source_type, QuoteIdent(column.name))
              : std::optional<std::string>(QuoteIdent(column.name) + " IS NOT DISTINCT FROM NULL");
      if (!condition) continue;  // a type pair freshet cannot judge: the load will
      counts.push_back(fmt::format("count(*) FILTER (WHERE {})", *condition));
      columns.push_back(std::move(column));
    }
    if (columns.empty()) continue;
    std::vector<uint64_t> misfits(columns.size(), 0);
    std::set<std::pair<QualifiedName, bool>> relations;  // each source relation once
    for (const CopyUnit& unit : table.units) relations.insert({unit.source, unit.source_only});
    for (const auto& [relation, only] : relations) {
      log.Info("checking that {}'s rows meet the narrower columns of {} on the target",
               relation.Display(), table.name.Display());
      Result result = source.Exec(fmt::format("SELECT {} FROM {}{}", fmt::join(counts, ", "),
                                              only ? "ONLY " : "", relation.Quoted()));
      for (size_t c = 0; c < columns.size(); ++c)
        misfits[c] += static_cast<uint64_t>(result.GetInt(0, static_cast<int>(c)));
    }
    for (size_t c = 0; c < columns.size(); ++c)
      if (misfits[c])
        plan.errors.push_back(MisfitError(table.name, columns[c], misfits[c], "the source", ""));
  }
}

}  // namespace freshet
