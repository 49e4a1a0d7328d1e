// The service's JobExecutor over freshet.toml. Each job kind is run by the
// same option resolution and engine calls as its command (sync/cli/
// job_kinds.h): a sync job's `from`, `to` and options become the
// SyncArguments `freshet sync` would get (sync/cli/sync_options.h), a
// snapshot job's the options of `freshet snapshot capture|restore`
// (sync/cli/snapshot_cli.h), a migrate-up job's those of `freshet migrate up`
// (sync/cli/migrate_cli.h), so a job and the command line cannot drift apart.
// Preview jobs are sync/cli/preview_jobs.h.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "sync/cli/config.h"
#include "sync/service/job_executor.h"

namespace freshet {

class ConfigJobExecutor final : public JobExecutor {
 public:
  // `config` is `config_path` read; runs resolve URLs from it at their start.
  ConfigJobExecutor(std::string config_path, Config config);
  ~ConfigJobExecutor() override;

  void Check(const JobSpec& job) const override;
  std::vector<std::string> Targets(const JobSpec& job,
                                   const nlohmann::json& overrides) const override;
  void Execute(const RunContext& context, Report& report) override;
  std::vector<std::string> Repair(const JobSpec& job, const RunRecord& run) override;
  PreviewDatabases* previews() override;

 private:
  // The executor of `job`'s kind; throws Error (kUsage) for a kind this
  // freshet does not run.
  JobExecutor& KindOf(const JobSpec& job) const;

  std::string config_path_;
  Config config_;
  std::map<std::string, std::unique_ptr<JobExecutor>> kinds_;
  PreviewDatabases* previews_ = nullptr;  // the preview kind's, in kinds_
};

}  // namespace freshet
