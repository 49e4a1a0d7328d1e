#include "sync/fit_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <optional>
#include <set>

#include "copy/identifiers.h"
#include "copy/snapshot_file.h"
#include "sync/parallel.h"

namespace freshet {
namespace {

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

}  // namespace

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
                     const Catalog& target_catalog, Plan& plan) {
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
      spdlog::info("checking that {}'s rows meet the narrower columns of {} on the target",
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

std::vector<std::string> CheckSnapshotFits(const std::filesystem::path& dir,
                                           const SnapshotTable& table,
                                           const std::vector<NarrowedColumn>& columns, int jobs) {
  std::vector<std::pair<size_t, const NarrowedColumn*>> fields;  // file field -> column
  for (const auto& column : columns)
    for (size_t f = 0; f < table.columns.size(); ++f)
      if (table.columns[f] == column.name) fields.push_back({f, &column});
  if (fields.empty()) return {};
  spdlog::info("reading {}'s files: {} column(s) are narrower on the target", table.name.Display(),
               fields.size());
  std::vector<uint64_t> misfits(fields.size(), 0);
  std::vector<std::string> examples(fields.size());
  std::mutex mutex;
  auto failures = ForEachParallel(table.files.size(), jobs, [&](size_t i) {
    const SnapshotFile& file = table.files[i];
    SnapshotFileReader reader = SnapshotFileReader::Open(dir / file.path);
    CopyRowReader rows(table.format, file.path);
    FieldSplitter splitter(table.format, table.columns.size());
    std::vector<uint64_t> found(fields.size(), 0);
    std::vector<std::string> first(fields.size());
    std::string piece;
    while (reader.Read(piece))
      rows.Feed(piece, [&](std::string_view row) {
        const auto& values = splitter.Split(row);
        for (size_t k = 0; k < fields.size(); ++k) {
          if (fields[k].first >= values.size()) continue;
          const auto& value = values[fields[k].first];
          const auto& limit = fields[k].second->limit;
          if (!limit) {  // NOT NULL
            if (!value) ++found[k];
            continue;
          }
          if (!value) continue;
          auto misfit = Misfit(*limit, table.format, *value);
          if (!misfit) continue;
          if (!found[k]++) first[k] = std::move(*misfit);
        }
      });
    rows.Finish();
    std::lock_guard lock(mutex);
    for (size_t k = 0; k < fields.size(); ++k) {
      misfits[k] += found[k];
      if (examples[k].empty()) examples[k] = std::move(first[k]);
    }
  });
  if (!failures.empty())
    throw Error(fmt::format("reading {}'s files: {}", table.name.Display(), failures.front()));
  std::vector<std::string> errors;
  for (size_t k = 0; k < fields.size(); ++k)
    if (misfits[k])
      errors.push_back(
          MisfitError(table.name, *fields[k].second, misfits[k], "the snapshot", examples[k]));
  return errors;
}

}  // namespace freshet
