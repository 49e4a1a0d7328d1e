#include "sync/cli/serve_jobs.h"

#include <fmt/format.h>

#include "copy/conninfo.h"
#include "copy/error.h"
#include "sync/cli/job_kinds.h"
#include "sync/cli/preview_jobs.h"
#include "sync/cli/sync_options.h"
#include "sync/engine/sync_run.h"

namespace freshet {
namespace {

// `sync` and `incremental` jobs: the SyncArguments `freshet sync` would get.
class SyncJobs final : public JobExecutor {
 public:
  SyncJobs(std::string config_path, const Config& config)
      : config_path_(std::move(config_path)), config_(config) {}

  void Check(const JobSpec& job) const override {
    CheckNamingTheJob(job, [&] {
      if (job.from.empty() && !config_.from)
        throw Error(ErrorKind::kUsage, "it has no `from`, and [sync] names no default source");
      for (const std::string& target : TargetNames(job))
        ResolveSyncOptions(ArgumentsFor(job, target), true);
    });
  }

  std::vector<std::string> Targets(const JobSpec& job,
                                   const nlohmann::json& overrides) const override {
    RefuseOverrides(job, overrides);
    return TargetKeys(config_, TargetNames(job));
  }

  void Execute(const RunContext& context, Report& report) override {
    std::vector<nlohmann::json> reports;
    std::vector<std::string> markdown;
    auto keep = [&](const RunReport& run) {
      reports.push_back(RenderJson(run));
      markdown.push_back(RenderMarkdown(run));
      report = CombineReports(reports, markdown);
    };
    for (const std::string& target : TargetNames(context.job)) {
      SyncOptions options = ResolveSyncOptions(ArgumentsFor(context.job, target), true);
      options.observer = &context.observer;
      RunReport run;
      try {
        RunSync(options, run, context.stop);
      } catch (...) {
        if (!run.command.empty()) keep(run);
        throw;
      }
      keep(run);
    }
  }

  std::vector<std::string> Repair(const JobSpec& job, const RunRecord& run) override {
    std::vector<std::string> lines;
    for (const std::string& target : TargetsOfRun(config_, TargetNames(job), run, lines)) {
      SyncOptions options = ResolveSyncOptions(ArgumentsFor(job, target), false);
      for (std::string& line : RepairTarget(options.target_url, options.jobs))
        lines.push_back(std::move(line));
    }
    return lines;
  }

 private:
  std::vector<std::string> TargetNames(const JobSpec& job) const {
    return SyncTargetNames(config_, job);
  }

  SyncArguments ArgumentsFor(const JobSpec& job, const std::string& target) const {
    SyncArguments args;
    args.config_path = config_path_;
    args.from = job.from;
    args.to = target;
    args.jobs = JobOption<int>(job, "jobs");
    args.include = JobOption<std::vector<std::string>>(job, "include").value_or(args.include);
    args.exclude = JobOption<std::vector<std::string>>(job, "exclude").value_or(args.exclude);
    args.full = JobOption<std::vector<std::string>>(job, "full").value_or(args.full);
    args.diff = JobOption<std::vector<std::string>>(job, "diff").value_or(args.diff);
    args.verify = JobOption<bool>(job, "verify").value_or(false);
    args.allow_remote_target = JobOption<bool>(job, "allow_remote_target").value_or(false);
    args.strategy = JobOption<std::string>(job, "strategy").value_or("auto");
    args.fk_outside = JobOption<std::string>(job, "fk_outside");
    args.lock_timeout = JobOption<std::string>(job, "lock_timeout");
    args.incremental = job.kind == "incremental";
    return args;
  }

  std::string config_path_;
  const Config& config_;
};

}  // namespace

std::unique_ptr<JobExecutor> MakeSyncJobs(const std::string& config_path, const Config& config) {
  return std::make_unique<SyncJobs>(config_path, config);
}

ConfigJobExecutor::ConfigJobExecutor(std::string config_path, Config config)
    : config_path_(std::move(config_path)), config_(std::move(config)) {
  kinds_["sync"] = MakeSyncJobs(config_path_, config_);
  kinds_["incremental"] = MakeSyncJobs(config_path_, config_);
  kinds_["snapshot-capture"] = MakeSnapshotCaptureJobs(config_);
  kinds_["snapshot-restore"] = MakeSnapshotRestoreJobs(config_);
  kinds_["migrate-up"] = MakeMigrateUpJobs(config_);
  auto previews = std::make_unique<PreviewJobs>(config_path_, config_);
  previews_ = previews.get();
  kinds_["preview"] = std::move(previews);
}

PreviewDatabases* ConfigJobExecutor::previews() { return previews_; }

ConfigJobExecutor::~ConfigJobExecutor() = default;

JobExecutor& ConfigJobExecutor::KindOf(const JobSpec& job) const {
  auto it = kinds_.find(job.kind);
  if (it == kinds_.end())
    throw Error(ErrorKind::kUsage, fmt::format("job '{}': kind '{}' is not one this freshet runs",
                                               job.name, job.kind));
  return *it->second;
}

void ConfigJobExecutor::Check(const JobSpec& job) const { KindOf(job).Check(job); }

std::vector<std::string> ConfigJobExecutor::Targets(const JobSpec& job,
                                                    const nlohmann::json& overrides) const {
  return KindOf(job).Targets(job, overrides);
}

void ConfigJobExecutor::Execute(const RunContext& context, Report& report) {
  KindOf(context.job).Execute(context, report);
}

std::vector<std::string> ConfigJobExecutor::Repair(const JobSpec& job, const RunRecord& run) {
  return KindOf(job).Repair(job, run);
}

}  // namespace freshet
