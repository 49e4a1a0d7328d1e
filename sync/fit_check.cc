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
  }
  return out;
}

void CheckSourceFits(Connection& source, const Catalog& source_catalog,
                     const Catalog& target_catalog, Plan& plan) {
  for (const PlannedTable& table : plan.tables) {
    std::vector<NarrowedColumn> columns;
    std::vector<std::string> counts;
    for (auto& column : NarrowedColumns(source_catalog, target_catalog, table)) {
      auto condition = MisfitCondition(column.limit, column.source_type, QuoteIdent(column.name));
      if (!condition) continue;  // a type pair freshet cannot judge: the load will
      counts.push_back(fmt::format("count(*) FILTER (WHERE {})", *condition));
      columns.push_back(std::move(column));
    }
    if (columns.empty()) continue;
    std::vector<uint64_t> misfits(columns.size(), 0);
    std::set<std::pair<QualifiedName, bool>> relations;  // each source relation once
    for (const CopyUnit& unit : table.units) relations.insert({unit.source, unit.source_only});
    for (const auto& [relation, only] : relations) {
      spdlog::info("checking that the narrower column types of {} on the target hold {}'s rows",
                   table.name.Display(), relation.Display());
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
    FieldSplitter splitter(table.format);
    std::vector<uint64_t> found(fields.size(), 0);
    std::vector<std::string> first(fields.size());
    std::string piece;
    while (reader.Read(piece))
      rows.Feed(piece, [&](std::string_view row) {
        const auto& values = splitter.Split(row);
        for (size_t k = 0; k < fields.size(); ++k) {
          if (fields[k].first >= values.size() || !values[fields[k].first]) continue;
          auto misfit = Misfit(fields[k].second->limit, table.format, *values[fields[k].first]);
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
