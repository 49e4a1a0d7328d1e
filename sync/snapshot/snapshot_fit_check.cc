#include "sync/snapshot/snapshot_fit_check.h"

#include <fmt/format.h>

#include <mutex>

#include "copy/snapshot_file.h"
#include "sync/engine/parallel.h"

namespace freshet {

std::vector<std::string> CheckSnapshotFits(const std::filesystem::path& dir,
                                           const SnapshotTable& table,
                                           const std::vector<NarrowedColumn>& columns, int jobs,
                                           std::stop_token stop, const RunLog& log) {
  std::vector<std::pair<size_t, const NarrowedColumn*>> fields;  // file field -> column
  for (const auto& column : columns)
    for (size_t f = 0; f < table.columns.size(); ++f)
      if (table.columns[f] == column.name) fields.push_back({f, &column});
  if (fields.empty()) return {};
  log.Info("reading {}'s files: {} column(s) are narrower on the target", table.name.Display(),
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
    while (!stop.stop_requested() && reader.Read(piece))
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
  ThrowIfStopped(stop, fmt::format("reading {}'s files", table.name.Display()));
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
