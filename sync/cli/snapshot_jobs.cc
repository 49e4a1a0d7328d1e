// `snapshot-capture` and `snapshot-restore` jobs: the options of `freshet
// snapshot capture` and `freshet snapshot restore` (sync/cli/snapshot_cli.h),
// over a directory of successive captures with a `latest` link
// (sync/cli/snapshot_store.h).
#include <fmt/format.h>

#include <filesystem>

#include "copy/error.h"
#include "copy/markdown.h"
#include "sync/cli/job_kinds.h"
#include "sync/cli/snapshot_cli.h"
#include "sync/cli/snapshot_store.h"
#include "sync/engine/report.h"
#include "sync/service/api_error.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;

constexpr int kDefaultKeep = 3;

// `path` absolute and without a trailing slash, as a target key names it.
fs::path Absolute(const std::string& path) {
  fs::path out = fs::absolute(path).lexically_normal();
  if (out.has_parent_path() && out.filename().empty()) out = out.parent_path();
  return out;
}

nlohmann::json CaptureJson(const SnapshotManifest& manifest, const fs::path& dir, double seconds,
                           const std::vector<std::string>& removed) {
  nlohmann::json tables = nlohmann::json::array();
  for (const SnapshotTable& table : manifest.tables) {
    uint64_t raw = 0, compressed = 0;
    for (const SnapshotFile& file : table.files) {
      raw += file.file.raw_bytes;
      compressed += file.file.compressed_bytes;
    }
    tables.push_back({{"table", table.name.Display()},
                      {"rows", table.rows},
                      {"files", table.files.size()},
                      {"raw_bytes", raw},
                      {"compressed_bytes", compressed}});
  }
  return {{"command", "snapshot capture"},
          {"ok", true},
          {"error", nullptr},
          {"snapshot", dir.string()},
          {"source", manifest.source},
          {"snapshot_time", manifest.snapshot_time},
          {"created_at", manifest.created_at},
          {"seconds", seconds},
          {"totals",
           {{"tables", manifest.tables.size()},
            {"rows", manifest.TotalRows()},
            {"raw_bytes", manifest.RawBytes()},
            {"compressed_bytes", manifest.CompressedBytes()}}},
          {"tables", tables},
          {"removed", removed}};
}

std::string CaptureMarkdown(const nlohmann::json& report) {
  std::string out = fmt::format(
      "## freshet snapshot capture\n\n{} of {}: {} tables, {} rows, {:.1f} MB compressed "
      "({:.1f} MB raw), in {:.1f} s.\n\n| Table | Rows | Files | Raw MB | zstd MB |\n|---|--:|--:|"
      "--:|--:|\n",
      MarkdownCode(report["snapshot"].get<std::string>()),
      MarkdownCode(report["source"].get<std::string>()), report["totals"]["tables"].get<size_t>(),
      report["totals"]["rows"].get<uint64_t>(),
      report["totals"]["compressed_bytes"].get<uint64_t>() / 1048576.0,
      report["totals"]["raw_bytes"].get<uint64_t>() / 1048576.0, report["seconds"].get<double>());
  for (const nlohmann::json& table : report["tables"])
    out +=
        fmt::format("| {} | {} | {} | {:.1f} | {:.1f} |\n",
                    MarkdownCell(table["table"].get<std::string>()), table["rows"].get<uint64_t>(),
                    table["files"].get<size_t>(), table["raw_bytes"].get<uint64_t>() / 1048576.0,
                    table["compressed_bytes"].get<uint64_t>() / 1048576.0);
  for (const nlohmann::json& name : report["removed"])
    out += fmt::format("\nRemoved the older capture {}.", MarkdownCode(name.get<std::string>()));
  return out + "\n";
}

SnapshotArguments SelectionArguments(const JobSpec& job) {
  SnapshotArguments args;
  args.from = job.from;
  args.include = JobOption<std::vector<std::string>>(job, "include").value_or(args.include);
  args.exclude = JobOption<std::vector<std::string>>(job, "exclude").value_or(args.exclude);
  args.jobs = JobOption<int>(job, "jobs");
  return args;
}

// `snapshot-capture`: `from` a source, `to` the directory captures go in.
class SnapshotCaptureJobs final : public JobExecutor {
 public:
  explicit SnapshotCaptureJobs(const Config& config) : config_(config) {}

  void Check(const JobSpec& job) const override {
    CheckNamingTheJob(job, [&] {
      if (job.to.size() != 1)
        throw Error(ErrorKind::kUsage, "`to` must be the one directory the snapshots go in");
      if (job.from.empty() && !config_.from)
        throw Error(ErrorKind::kUsage, "it has no `from`, and [sync] names no default source");
      ResolveCaptureOptions(ArgumentsFor(job, Root(job)), config_);
      std::error_code error;
      if (fs::exists(Root(job), error) && !fs::is_directory(Root(job), error))
        throw Error(ErrorKind::kUsage,
                    fmt::format("`to` = {} is not a directory", Root(job).string()));
    });
  }

  std::vector<std::string> Targets(const JobSpec& job,
                                   const nlohmann::json& overrides) const override {
    RefuseOverrides(job, overrides);
    return {"snapshot:" + Root(job).string()};
  }

  void Execute(const RunContext& context, Report& report) override {
    fs::path root = Root(context.job);
    auto started = std::chrono::system_clock::now();
    fs::path dir = NewCaptureDirectory(root, context.run.id, started);
    CaptureOptions options = ResolveCaptureOptions(ArgumentsFor(context.job, dir), config_);
    options.observer = &context.observer;
    SnapshotManifest manifest;
    try {
      manifest = RunCapture(options, context.stop);
    } catch (const std::exception& error) {
      report.json = {{"command", "snapshot capture"},
                     {"ok", false},
                     {"error", error.what()},
                     {"snapshot", dir.string()}};
      report.markdown =
          fmt::format("## freshet snapshot capture\n\nFailed: {}\n", MarkdownCell(error.what()));
      throw;
    }
    PublishLatest(root, dir);
    context.observer.Log(LogLevel::kInfo,
                         fmt::format("snapshot {} is now {}/{}", dir.filename().string(),
                                     root.string(), kLatestSnapshotLink));
    std::vector<std::string> removed;
    for (const std::string& line : PruneCaptures(root, Keep(context.job))) {
      bool problem = line.starts_with("problem: ");
      context.observer.Log(problem ? LogLevel::kWarning : LogLevel::kInfo,
                           problem ? line : "removed the older capture " + line);
      if (!problem) removed.push_back(line);
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::system_clock::now() - started).count();
    report.json = CaptureJson(manifest, dir, seconds, removed);
    report.markdown = CaptureMarkdown(report.json);
  }

  std::vector<std::string> Repair(const JobSpec& job, const RunRecord&) override {
    return {
        fmt::format("nothing to repair: an interrupted capture leaves no capture in {} (it "
                    "writes under a temporary name), and `{}` still names the last complete "
                    "one",
                    Root(job).string(), kLatestSnapshotLink)};
  }

 private:
  static fs::path Root(const JobSpec& job) { return Absolute(job.to.at(0)); }
  static int Keep(const JobSpec& job) { return JobOption<int>(job, "keep").value_or(kDefaultKeep); }

  static SnapshotArguments ArgumentsFor(const JobSpec& job, const fs::path& out) {
    SnapshotArguments args = SelectionArguments(job);
    args.out = out.string();
    args.level = JobOption<int>(job, "level").value_or(args.level);
    args.threads = JobOption<int>(job, "zstd_threads").value_or(args.threads);
    args.chunk_mb = JobOption<int64_t>(job, "chunk_size");
    return args;
  }

  const Config& config_;
};

// `snapshot-restore`: `from` a snapshot directory (its `latest`), `to` one
// or more targets.
class SnapshotRestoreJobs final : public JobExecutor {
 public:
  explicit SnapshotRestoreJobs(const Config& config) : config_(config) {}

  void Check(const JobSpec& job) const override {
    CheckNamingTheJob(job, [&] {
      if (job.from.empty())
        throw Error(ErrorKind::kUsage, "`from` must name the snapshot directory");
      ResolveRestoreOptions(ArgumentsFor(job, job.from), config_);
    });
  }

  std::vector<std::string> Targets(const JobSpec& job,
                                   const nlohmann::json& overrides) const override {
    RefuseOverrides(job, overrides);
    return TargetKeys(config_, TargetNames(job));
  }

  void Execute(const RunContext& context, Report& report) override {
    LockedSnapshot locked = LockSnapshot(Absolute(context.job.from));  // no capture removes it
    const fs::path& snapshot = locked.path;
    context.observer.Log(LogLevel::kInfo, fmt::format("restoring snapshot {}", snapshot.string()));
    RestoreOptions options = ResolveRestoreOptions(ArgumentsFor(context.job, snapshot), config_);
    options.observer = &context.observer;
    std::vector<RunReport> reports;
    auto keep = [&] {
      std::vector<nlohmann::json> json;
      std::vector<std::string> markdown;
      for (const RunReport& run : reports) {
        if (run.target.empty()) continue;
        json.push_back(RenderJson(run));
        markdown.push_back(RenderMarkdown(run) + "\n");
      }
      report = CombineReports(json, markdown);
    };
    try {
      RestoreAndReport(options, reports, context.stop);
    } catch (...) {
      keep();
      throw;
    }
    keep();
  }

  std::vector<std::string> Repair(const JobSpec& job, const RunRecord& run) override {
    std::vector<std::string> lines;
    for (const std::string& target : TargetsOfRun(config_, TargetNames(job), run, lines)) {
      std::string url = ResolveEndpoint(config_.targets, target).ResolveUrl();
      for (std::string& line : RepairTarget(url, JobOption<int>(job, "jobs").value_or(4)))
        lines.push_back(std::move(line));
    }
    return lines;
  }

 private:
  std::vector<std::string> TargetNames(const JobSpec& job) const {
    return SyncTargetNames(config_, job);
  }

  SnapshotArguments ArgumentsFor(const JobSpec& job, const fs::path& dir) const {
    SnapshotArguments args = SelectionArguments(job);
    args.dir = dir.string();
    args.to = TargetNames(job);
    args.verify = JobOption<bool>(job, "verify").value_or(false);
    args.allow_remote_target = JobOption<bool>(job, "allow_remote_target").value_or(false);
    args.strategy = JobOption<std::string>(job, "strategy").value_or(args.strategy);
    args.fk_outside = JobOption<std::string>(job, "fk_outside").value_or(args.fk_outside);
    args.lock_timeout = JobOption<std::string>(job, "lock_timeout").value_or(args.lock_timeout);
    args.targets_order = JobOption<std::string>(job, "targets").value_or(args.targets_order);
    return args;
  }

  const Config& config_;
};

}  // namespace

std::unique_ptr<JobExecutor> MakeSnapshotCaptureJobs(const Config& config) {
  return std::make_unique<SnapshotCaptureJobs>(config);
}

std::unique_ptr<JobExecutor> MakeSnapshotRestoreJobs(const Config& config) {
  return std::make_unique<SnapshotRestoreJobs>(config);
}

}  // namespace freshet
