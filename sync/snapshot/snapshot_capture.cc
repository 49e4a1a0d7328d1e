#include "sync/snapshot/snapshot_capture.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "copy/conninfo.h"
#include "copy/copy_file.h"
#include "schema/patterns.h"
#include "sync/engine/incremental_run.h"
#include "sync/engine/loader.h"
#include "sync/engine/progress.h"
#include "sync/engine/run_steps.h"
#include "sync/engine/source_snapshot.h"
#include "sync/engine/task_graph.h"
#include "sync/engine/test_hooks.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;

StreamFormat FormatOf(const PlannedTable& table) {
  return table.mapping.format == CopyFormat::kBinary ? StreamFormat::kBinary : StreamFormat::kText;
}

// The source catalog cut down to the captured tables: their partitions, the
// foreign keys and indexes declared on them, and the types.
Catalog CapturedCatalog(const Catalog& source, const Plan& plan) {
  std::set<QualifiedName> captured;
  for (const auto& table : plan.tables) captured.insert(table.name);
  auto keep = [&](const QualifiedName& name) {
    if (captured.count(name)) return true;
    const Table* table = source.Find(name);
    return table && table->partition_root && captured.count(*table->partition_root);
  };
  Catalog out;
  out.system_identifier = source.system_identifier;
  out.database = source.database;
  out.server_version = source.server_version;
  for (const auto& table : source.tables)
    if (keep(table.name)) out.tables.push_back(table);
  for (const auto& fk : source.foreign_keys)
    if (keep(fk.table)) out.foreign_keys.push_back(fk);
  for (const auto& index : source.indexes)
    if (keep(index.table)) out.indexes.push_back(index);
  // The types the columns use (enum labels, composite attributes, domains):
  // a restore compares them with the target's as a sync does.
  out.types = source.types;
  return out;
}

void CheckPatterns(const Catalog& source, const PlanOptions& options) {
  for (const auto& text : options.includes) {
    TablePattern pattern = TablePattern::Parse(text);
    bool matched = false;
    for (const auto& table : source.tables)
      matched = matched || (!table.IsPartition() && pattern.Matches(table.name));
    if (!matched)
      throw Error(ErrorKind::kUsage,
                  fmt::format("--include '{}' matches no table on the source", text));
  }
}

void FsyncPath(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Where a capture writes: the requested directory, and the temporary sibling
// that holds the files until the capture is complete.
struct CapturePaths {
  fs::path out;
  fs::path partial;
};

CapturePaths ChoosePaths(const fs::path& requested) {
  if (fs::exists(requested))
    throw Error(ErrorKind::kUsage,
                fmt::format("{} already exists: snapshots are never overwritten; choose a new "
                            "directory or remove it",
                            requested.string()));
  fs::path out = fs::absolute(requested).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  std::string run_id = NewRunId();
  fs::path partial = out.parent_path() / ("." + out.filename().string() + ".partial-" + run_id);
  return {out, partial};
}

// The manifest before any file is written: where and when the snapshot was
// taken, the catalog, and one entry per table to capture.
SnapshotManifest StartManifest(const CaptureOptions& options, Connection& control,
                               const Catalog& catalog, const Plan& plan) {
  SnapshotManifest manifest;
  manifest.freshet_version = FRESHET_VERSION;
  manifest.source = ConnInfo::Parse(options.source_url).Describe();
  Result clock = control.Exec(
      "SELECT pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), pg_catalog.current_setting('server_version')");
  manifest.snapshot_time = clock.Get(0, 0);
  manifest.source_server_version = clock.Get(0, 1);
  manifest.compression = options.compression;
  SourceHorizon horizon = ReadHorizon(control);
  manifest.source_xmin = std::to_string(horizon.xmin);
  manifest.source_snapshot = horizon.snapshot;
  manifest.catalog = CapturedCatalog(catalog, plan);
  if (options.plan.masks.any()) {
    SnapshotMasking masking;
    masking.rules = RuleSetFingerprint(options.plan.masks.rules);
    if (options.plan.masks.key) masking.key = options.plan.masks.key->Fingerprint();
    for (const auto& table : plan.tables)
      for (const auto& mask : table.masks)
        masking.columns.push_back(
            fmt::format("{}.{}: {}", table.name.Display(), mask.column, mask.rule.rule));
    manifest.masking = std::move(masking);
  }
  for (const auto& table : plan.tables) {
    SnapshotTable entry;
    entry.name = table.name;
    entry.columns = table.mapping.columns;
    entry.format = FormatOf(table);
    manifest.tables.push_back(std::move(entry));
  }
  return manifest;
}

void CreateDataDirectory(const fs::path& partial) {
  try {
    fs::create_directories(partial / "data");
  } catch (const fs::filesystem_error& error) {
    throw Error(fmt::format("cannot create the snapshot directory {}: {}", partial.string(),
                            error.code().message()));
  }
}

// Writes every copy unit of `plan` to its own file under `partial`, in
// parallel on workers of `snapshot`, and records the files in `manifest`
// (sorted by path when this returns).
void CaptureFiles(const CaptureOptions& options, const RunLog& log, SourceSnapshot& snapshot,
                  const Plan& plan, const CapturePaths& paths, SnapshotManifest& manifest,
                  std::stop_token stop) {
  std::vector<Progress::Item> items;
  for (const auto& table : plan.tables)
    items.push_back({table.name.Display(), table.estimated_rows, table.estimated_bytes});
  Progress progress(std::move(items), log);
  std::mutex mutex;
  TaskGraph graph;
  const fs::path& partial = paths.partial;
  const std::chrono::milliseconds delay = TestUnitDelay();
  int file_number = 0;
  for (size_t t = 0; t < plan.tables.size(); ++t) {
    const PlannedTable& table = plan.tables[t];
    for (const CopyUnit& unit : table.units) {
      std::string relative = fmt::format("data/{:05d}.copy.zst", ++file_number);
      std::string what = unit.source == table.name
                             ? table.name.Display()
                             : table.name.Display() + " (" + unit.source.Display() + ")";
      Task task;
      task.name = "capture " + what;
      task.weight = static_cast<double>(std::max<int64_t>(unit.estimated_bytes, 1));
      task.fatal = true;
      task.run = [&, t, relative, what, delay](WorkerSession& session, std::stop_token token) {
        if (progress.MarkStarted(t)) log.observer().TableStarted(table.name.Display());
        SnapshotFileWriter writer =
            SnapshotFileWriter::Create(partial / relative, options.compression);
        std::unique_ptr<MaskRows> masker = StreamMasker(table.mapping.columns, table.masks);
        std::vector<RowTransform*> transforms;
        if (masker) transforms.push_back(masker.get());
        CaptureResult captured =
            CaptureCopy(session.Source(), CopyOutSql(table, unit), FormatOf(table), writer, what,
                        &progress.Counters(t), token, std::move(transforms));
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        std::unique_lock lock(mutex);
        SnapshotTable& entry = manifest.tables[t];
        entry.files.push_back(
            {relative, unit.source, captured.rows, captured.digest, captured.file});
        entry.rows += captured.rows;
        entry.digest.Merge(captured.digest);
        if (entry.files.size() < table.units.size()) return;
        uint64_t rows = entry.rows;
        lock.unlock();
        progress.MarkDone(t);
        log.observer().TableDone(table.name.Display(), rows, progress.Counters(t).bytes.load());
      };
      graph.Add(std::move(task));
    }
  }
  log.Info("capturing {} tables ({} files) into {}, {} jobs, zstd level {}", plan.tables.size(),
           graph.size(), paths.out.string(), options.jobs, options.compression.level);
  progress.Start();
  try {
    graph.Run(
        options.jobs, [&] { return snapshot.OpenWorker(); }, {}, stop, log);
  } catch (...) {
    progress.Stop();
    throw;
  }
  progress.Stop();
  for (auto& entry : manifest.tables)
    std::sort(entry.files.begin(), entry.files.end(),
              [](const SnapshotFile& a, const SnapshotFile& b) { return a.path < b.path; });
}

// The values of the sequences the captured columns use, once each; read
// while the snapshot is still held.
void ReadSequenceValues(Connection& control, const Plan& plan, SnapshotManifest& manifest) {
  for (const auto& table : plan.tables)
    for (const auto& sequence : table.sequences) {
      if (!sequence.source_sequence) continue;
      if (std::any_of(
              manifest.sequences.begin(), manifest.sequences.end(),
              [&](const SnapshotSequence& seen) { return seen.name == *sequence.source_sequence; }))
        continue;  // shared by several columns
      Result row = control.Exec(
          "SELECT last_value FROM pg_catalog.pg_sequences WHERE schemaname = $1 AND "
          "sequencename = $2",
          {sequence.source_sequence->schema, sequence.source_sequence->name});
      SnapshotSequence value{*sequence.source_sequence, std::nullopt};
      if (row.Rows() && !row.IsNull(0, 0)) value.last_value = row.GetInt(0, 0);
      manifest.sequences.push_back(value);
    }
}

// Writes the manifest and makes the capture durable.
void Complete(const CapturePaths& paths, SnapshotManifest& manifest) {
  manifest.created_at = NowIso();
  WriteManifest(paths.partial, manifest);
  FsyncPath(paths.partial / "data");
}

// Renames the complete capture to the requested name, never over anything
// that appeared there meanwhile (an empty directory included): then the
// capture stays where it is, and the error says where.
void Publish(const CapturePaths& paths) {
  if (::renameat2(AT_FDCWD, paths.partial.c_str(), AT_FDCWD, paths.out.c_str(), RENAME_NOREPLACE) !=
      0) {
    int error = errno;
    throw Error(
        ErrorKind::kUsage,
        fmt::format("{} {}; the complete capture is left in {} (rename it, or remove it)",
                    paths.out.string(),
                    error == EEXIST ? "appeared while capturing"
                                    : fmt::format("could not be created: {}", std::strerror(error)),
                    paths.partial.string()));
  }
  FsyncPath(paths.out.parent_path());
}

}  // namespace

SnapshotManifest RunCapture(const CaptureOptions& options, std::stop_token stop) {
  const RunLog log(options.observer ? *options.observer : DefaultObserver());
  auto started = std::chrono::steady_clock::now();
  CapturePaths paths = ChoosePaths(options.out);

  SourceSnapshot snapshot(options.source_url);
  Connection& control = snapshot.control();
  Catalog catalog = ReadCatalog(control);
  CheckPatterns(catalog, options.plan);
  Plan plan = BuildPlan(catalog, catalog, options.plan);
  PlanSampledCoverage(control, catalog, options.plan.masks, plan);
  ThrowIfPlanErrors(plan);
  if (options.plan.masks.any() && !options.plan.masks.key)
    throw Error(ErrorKind::kRefused,
                "refusing to capture: the [mask] rules need a key; set FRESHET_MASK_KEY (or "
                "[mask] key_file or key_env), or pass --mask-key-ephemeral");
  ApplySubset(control, catalog, catalog, options.plan.subset, plan, log);
  SnapshotManifest manifest = StartManifest(options, control, catalog, plan);
  if (plan.subset) manifest.subset = SubsetSummary(*plan.subset);

  CreateDataDirectory(paths.partial);
  try {
    CaptureFiles(options, log, snapshot, plan, paths, manifest, stop);
    ReadSequenceValues(control, plan, manifest);
    snapshot.Finish();
    Complete(paths, manifest);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(paths.partial, ignored);
    throw;
  }
  Publish(paths);  // a complete capture is never deleted
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log.Info(
      "snapshot {}: {} tables, {} rows, {:.1f} MB of COPY data in {:.1f} MB of files, "
      "{:.1f} s",
      paths.out.string(), manifest.tables.size(), manifest.TotalRows(),
      manifest.RawBytes() / 1048576.0, manifest.CompressedBytes() / 1048576.0, seconds);
  return manifest;
}

std::string DescribeSnapshot(const SnapshotManifest& manifest) {
  std::string out;
  out += fmt::format("freshet snapshot (format version {}), written by freshet {}\n",
                     manifest.version, manifest.freshet_version);
  out +=
      fmt::format("source: {} (PostgreSQL {})\n", manifest.source, manifest.source_server_version);
  out += fmt::format("snapshot taken at {}, capture finished at {}\n", manifest.snapshot_time,
                     manifest.created_at);
  out += fmt::format("compression: zstd level {}\n", manifest.compression.level);
  out += fmt::format("{:<40} {:>12} {:>6} {:>10} {:>10}  {}\n", "table", "rows", "files", "raw MB",
                     "zstd MB", "format");
  for (const auto& table : manifest.tables) {
    uint64_t raw = 0, compressed = 0;
    for (const auto& file : table.files) {
      raw += file.file.raw_bytes;
      compressed += file.file.compressed_bytes;
    }
    out += fmt::format("{:<40} {:>12} {:>6} {:>10.1f} {:>10.1f}  {}\n", table.name.Display(),
                       table.rows, table.files.size(), raw / 1048576.0, compressed / 1048576.0,
                       table.format == StreamFormat::kBinary ? "binary" : "text");
  }
  double raw = manifest.RawBytes() / 1048576.0, compressed = manifest.CompressedBytes() / 1048576.0;
  out += fmt::format("total: {} tables, {} rows, {:.1f} MB raw, {:.1f} MB compressed ({:.1f}x)\n",
                     manifest.tables.size(), manifest.TotalRows(), raw, compressed,
                     compressed > 0 ? raw / compressed : 0.0);
  if (!manifest.sequences.empty()) out += fmt::format("sequences: {}\n", manifest.sequences.size());
  return out;
}

}  // namespace freshet
