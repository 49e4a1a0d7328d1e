// `migrate-up` jobs: the options of `freshet migrate up` (sync/cli/
// migrate_cli.h) applied to each target in turn; the report is what `migrate
// up --format json` prints, and its Markdown what `migrate report --up` makes
// of it.
#include <fmt/format.h>

#include <filesystem>

#include "copy/conninfo.h"
#include "copy/error.h"
#include "sync/cli/job_kinds.h"
#include "sync/cli/migrate_cli.h"
#include "sync/cli/migrate_report.h"

namespace freshet {
namespace {

MigrateArguments ArgumentsFor(const JobSpec& job, const std::string& target) {
  MigrateArguments args;
  args.db_url = target;
  args.dir = JobOption<std::string>(job, "migrations").value_or("");
  args.layout = JobOption<std::string>(job, "layout").value_or("");
  args.naming = JobOption<std::string>(job, "naming").value_or("");
  args.lock_timeout = JobOption<std::string>(job, "lock_timeout").value_or("");
  args.statement_timeout = JobOption<std::string>(job, "statement_timeout").value_or("");
  args.include_all = JobOption<bool>(job, "include_all").value_or(false);
  return args;
}

class MigrateUpJobs final : public JobExecutor {
 public:
  explicit MigrateUpJobs(const Config& config) : config_(config) {}

  void Check(const JobSpec& job) const override {
    CheckNamingTheJob(job, [&] {
      for (const std::string& target : TargetNames(job))
        ResolveEndpoint(config_.targets, target).ResolveUrl();
      CheckMigrationsJob(config_, job);
    });
  }

  std::vector<std::string> Targets(const JobSpec& job,
                                   const nlohmann::json& overrides) const override {
    RefuseOverrides(job, overrides);
    return TargetKeys(config_, TargetNames(job));
  }

  void Execute(const RunContext& context, Report& report) override {
    MigrationReportInputs inputs;
    inputs.title = fmt::format("freshet migrate up: job {}", context.job.name);
    std::vector<nlohmann::json> ups;
    auto keep = [&] {
      report.json = ups.size() == 1 ? ups.front() : nlohmann::json(ups);
      report.markdown = RenderMigrationReport(inputs).markdown;
    };
    for (const std::string& target : TargetNames(context.job)) {
      // The target's name, or its URL described without a password.
      std::string label = TargetKey(config_, target).substr(std::string_view("target:").size());
      nlohmann::json up;
      try {
        MigrateTarget(config_, context.job, target, context, up);
      } catch (...) {
        ups.push_back(up);
        inputs.ups.emplace_back(label, up);
        keep();
        throw;
      }
      ups.push_back(up);
      inputs.ups.emplace_back(label, up);
      keep();
    }
  }

  std::vector<std::string> Repair(const JobSpec&, const RunRecord&) override {
    return {
        "nothing to repair: each migration file commits with its history rows, so the one "
        "under way when the service stopped was rolled back; the next run applies it"};
  }

 private:
  std::vector<std::string> TargetNames(const JobSpec& job) const {
    if (!job.to.empty()) return job.to;
    if (config_.migrate_db) return {*config_.migrate_db};
    throw Error(ErrorKind::kUsage,
                fmt::format("job '{}' has no `to`, and [migrate] names no db", job.name));
  }

  const Config& config_;
};

}  // namespace

void CheckMigrationsJob(const Config& config, const JobSpec& job) {
  MigrateOptions options = ResolveMigrateOptions(ArgumentsFor(job, ""), config, false);
  std::error_code error;
  if (!std::filesystem::is_directory(options.dir, error))
    throw Error(ErrorKind::kUsage,
                fmt::format("the migrations directory {} does not exist{}", options.dir,
                            job.options.contains("migrations") ? "" : " (set `migrations`)"));
}

void MigrateTarget(const Config& config, const JobSpec& job, const std::string& target,
                   const RunContext& context, nlohmann::json& up) {
  MigrateOptions options = ResolveMigrateOptions(ArgumentsFor(job, target), config, true);
  std::string database = ConnInfo::Parse(options.db_url).Describe();
  up = {{"target", config.targets.count(target) ? target : database},
        {"database", database},
        {"applied", nlohmann::json::array()},
        {"seconds", nlohmann::json::array()}};
  options.stop = context.stop;
  options.on_applied = [&](const std::string& file, double seconds) {
    up["applied"].push_back(file);
    up["seconds"].push_back(seconds);
  };
  context.observer.Log(LogLevel::kInfo,
                       fmt::format("migrate up: {} into {}", options.dir, database));
  ObserverStream log(context.observer);
  try {
    MigrateUp(options, log);
  } catch (const Error& error) {
    up.update(MigrateErrorJson(error));
    throw;
  } catch (const std::exception& error) {
    up.update(MigrateErrorJson(Error(ErrorKind::kRuntime, error.what())));
    throw;
  }
  context.observer.Log(LogLevel::kInfo,
                       up["applied"].empty()
                           ? std::string("up to date: no pending migrations")
                           : fmt::format("applied {} migrations", up["applied"].size()));
}

std::unique_ptr<JobExecutor> MakeMigrateUpJobs(const Config& config) {
  return std::make_unique<MigrateUpJobs>(config);
}

}  // namespace freshet
