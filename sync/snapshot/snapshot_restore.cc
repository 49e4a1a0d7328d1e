#include "sync/snapshot/snapshot_restore.h"

#include <fmt/format.h>

#include "copy/copy_file.h"
#include "sync/engine/parallel.h"
#include "sync/engine/target_run.h"
#include "sync/snapshot/snapshot_loads.h"

namespace freshet {

namespace fs = std::filesystem;

void RunRestore(const RestoreOptions& options, std::vector<RunReport>& reports,
                std::stop_token stop) {
  const RunLog log(options.observer ? *options.observer : DefaultObserver());
  if (options.targets.empty()) throw Error(ErrorKind::kUsage, "no target: pass --to URL");
  SnapshotLoads source(options, log);
  reports.assign(options.targets.size(), RunReport{});
  std::vector<TargetRun> targets(options.targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    targets[i].url = options.targets[i].url;
    targets[i].safety = options.targets[i].safety;
    targets[i].report = &reports[i];
  }
  LoadOptions load{options.jobs, options.verify, options.lock_timeout};
  RunLoad(source, targets, load, stop, log);
}

std::vector<std::string> VerifySnapshot(const fs::path& dir, int jobs) {
  SnapshotManifest manifest = ReadManifest(dir);
  std::vector<std::pair<const SnapshotTable*, const SnapshotFile*>> files;
  for (const auto& table : manifest.tables)
    for (const auto& file : table.files) files.push_back({&table, &file});
  return ForEachParallel(files.size(), jobs, [&](size_t i) {
    const auto& [table, file] = files[i];
    fs::path path = dir / file->path;
    if (!fs::exists(path)) throw Error(fmt::format("{}: missing", file->path));
    FileDigest bytes = DigestFileBytes(path);
    if (bytes.compressed_bytes != file->file.compressed_bytes ||
        bytes.file_xxh3 != file->file.file_xxh3)
      throw Error(fmt::format("{}: {} bytes with checksum {}, the manifest says {} bytes with {}",
                              file->path, bytes.compressed_bytes, bytes.file_xxh3,
                              file->file.compressed_bytes, file->file.file_xxh3));
    SnapshotFileReader reader = SnapshotFileReader::Open(path);
    CopyRowReader rows(table->format, file->path);
    RowDigest digest;
    std::string piece;
    while (reader.Read(piece)) rows.Feed(piece, [&](std::string_view row) { digest.Add(row); });
    rows.Finish();
    FileDigest stream = reader.digest();
    if (stream.raw_bytes != file->file.raw_bytes || stream.raw_xxh3 != file->file.raw_xxh3)
      throw Error(fmt::format("{}: the decompressed stream differs from the manifest", file->path));
    if (!(digest == file->digest))
      throw Error(fmt::format("{}: rows {} differ from the manifest's {}", file->path,
                              digest.ToString(), file->digest.ToString()));
  });
}

}  // namespace freshet
