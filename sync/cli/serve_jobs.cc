#include "sync/cli/serve_jobs.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "copy/conninfo.h"
#include "copy/error.h"
#include "sync/cli/sync_options.h"
#include "sync/engine/sync_run.h"
#include "sync/service/api_error.h"

namespace freshet {
namespace {

template <typename T>
std::optional<T> Option(const JobSpec& job, const char* key) {
  if (!job.options.contains(key)) return std::nullopt;
  return job.options.at(key).get<T>();
}

SyncArguments ArgumentsFor(const std::string& config_path, const JobSpec& job,
                           const std::string& target) {
  SyncArguments args;
  args.config_path = config_path;
  args.from = job.from;
  args.to = target;
  args.jobs = Option<int>(job, "jobs");
  args.include = Option<std::vector<std::string>>(job, "include").value_or(args.include);
  args.exclude = Option<std::vector<std::string>>(job, "exclude").value_or(args.exclude);
  args.full = Option<std::vector<std::string>>(job, "full").value_or(args.full);
  args.diff = Option<std::vector<std::string>>(job, "diff").value_or(args.diff);
  args.verify = Option<bool>(job, "verify").value_or(false);
  args.allow_remote_target = Option<bool>(job, "allow_remote_target").value_or(false);
  args.strategy = Option<std::string>(job, "strategy").value_or("auto");
  args.fk_outside = Option<std::string>(job, "fk_outside");
  args.lock_timeout = Option<std::string>(job, "lock_timeout");
  args.incremental = job.kind == "incremental";
  return args;
}

}  // namespace

ConfigJobExecutor::ConfigJobExecutor(std::string config_path, Config config)
    : config_path_(std::move(config_path)), config_(std::move(config)) {}

std::vector<std::string> ConfigJobExecutor::TargetNames(const JobSpec& job) const {
  if (!job.to.empty()) return job.to;
  if (config_.to) return {*config_.to};
  throw Error(ErrorKind::kUsage,
              fmt::format("job '{}' has no `to`, and [sync] names no default target", job.name));
}

void ConfigJobExecutor::Check(const JobSpec& job) const {
  try {
    if (job.from.empty() && !config_.from)
      throw Error(ErrorKind::kUsage, "it has no `from`, and [sync] names no default source");
    for (const std::string& target : TargetNames(job))
      ResolveSyncOptions(ArgumentsFor(config_path_, job, target), true);
  } catch (const Error& error) {
    if (std::string_view(error.what()).starts_with("job '")) throw;
    throw Error(ErrorKind::kUsage, fmt::format("job '{}': {}", job.name, error.what()));
  }
}

std::vector<std::string> ConfigJobExecutor::Targets(const JobSpec& job,
                                                    const nlohmann::json& overrides) const {
  for (const auto& [key, value] : overrides.items())
    throw ApiError(400,
                   fmt::format("job '{}' takes no overrides, and '{}' is not one", job.name, key));
  std::vector<std::string> keys;
  for (const std::string& target : TargetNames(job)) {
    if (config_.targets.count(target))
      keys.push_back("target:" + target);
    else  // a connection string: named by host, port and database, never its password
      keys.push_back("target:" + ConnInfo::Parse(target).Describe());
  }
  return keys;
}

void ConfigJobExecutor::Execute(const RunContext& context, Report& report) {
  std::vector<std::string> targets = TargetNames(context.job);
  nlohmann::json reports = nlohmann::json::array();
  auto keep = [&](const RunReport& run) {
    reports.push_back(RenderJson(run));
    report.markdown += RenderMarkdown(run);
    report.json = targets.size() == 1 ? reports.front() : reports;
  };
  for (const std::string& target : targets) {
    SyncOptions options = ResolveSyncOptions(ArgumentsFor(config_path_, context.job, target), true);
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

std::vector<std::string> ConfigJobExecutor::Repair(const JobSpec& job, const RunRecord&) {
  std::vector<std::string> lines;
  for (const std::string& target : TargetNames(job)) {
    SyncOptions options = ResolveSyncOptions(ArgumentsFor(config_path_, job, target), false);
    RestoreOutcome outcome = RunRepair(options.target_url, options.jobs);
    std::string where = ConnInfo::Parse(options.target_url).Describe();
    if (outcome.restored.empty() && outcome.problems.empty())
      lines.push_back(fmt::format("{}: nothing to restore", where));
    for (const std::string& line : outcome.restored)
      lines.push_back(fmt::format("{}: restored {}", where, line));
    for (const std::string& line : outcome.problems)
      lines.push_back(
          fmt::format("{}: problem: {} (the next run of the job finishes it)", where, line));
  }
  return lines;
}

}  // namespace freshet
