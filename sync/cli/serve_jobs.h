// The service's JobExecutor over freshet.toml: a job's `from`, `to` and
// options become the same SyncArguments `freshet sync` would get, resolved
// by the same code (sync/cli/sync_options.h), so a job and the command line
// cannot drift apart.
#pragma once

#include <string>

#include "sync/cli/config.h"
#include "sync/service/job_executor.h"

namespace freshet {

class ConfigJobExecutor final : public JobExecutor {
 public:
  // `config` is `config_path` read; runs re-resolve URLs from it at their start.
  ConfigJobExecutor(std::string config_path, Config config);

  void Check(const JobSpec& job) const override;
  std::vector<std::string> Targets(const JobSpec& job,
                                   const nlohmann::json& overrides) const override;
  void Execute(const RunContext& context, Report& report) override;
  std::vector<std::string> Repair(const JobSpec& job, const RunRecord& run) override;

 private:
  std::vector<std::string> TargetNames(const JobSpec& job) const;

  std::string config_path_;
  Config config_;
};

}  // namespace freshet
