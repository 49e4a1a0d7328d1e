// `preview` jobs: preview branches on a server you run. The job's `to` is a
// template target ([targets.NAME] url_template = "postgres://u@h/preview_{name}",
// name_pattern, maintenance_db); a run takes the override {"name": "pr-123"}
// and
//   1. creates the database preview_pr-123 through the maintenance database
//      when it is missing (at most `max_previews` of the job exist), marking
//      it as freshet's with a comment that also records when it was made;
//   2. applies the job's `migrations` to it, as `freshet migrate up` would
//      (so it has the pull request's schema);
//   3. restores the latest snapshot of `from` into it (a directory of
//      captures, sync/cli/snapshot_store.h), or syncs it from `from` when
//      that is a source, as `freshet snapshot restore` / `freshet sync`;
//   4. records the refresh in the comment.
// The same object lists and drops those databases for the /v1/previews
// routes (sync/service/previews.h); it only ever drops databases it marked.
//
// Thread-safety: as JobExecutor's and PreviewDatabases'. Creation is
// serialized, so two runs cannot both pass the limit.
#pragma once

#include <mutex>
#include <string>

#include "sync/cli/config.h"
#include "sync/service/job_executor.h"
#include "sync/service/previews.h"

namespace freshet {

class PreviewJobs final : public JobExecutor, public PreviewDatabases {
 public:
  // `config` must outlive the executor.
  PreviewJobs(std::string config_path, const Config& config);

  // JobExecutor
  void Check(const JobSpec& job) const override;
  std::vector<std::string> Targets(const JobSpec& job,
                                   const nlohmann::json& overrides) const override;
  void Execute(const RunContext& context, Report& report) override;
  std::vector<std::string> Repair(const JobSpec& job, const RunRecord& run) override;
  PreviewDatabases* previews() override { return this; }

  // PreviewDatabases
  void CheckName(const JobSpec& job, const std::string& name) const override;
  std::string Url(const JobSpec& job, const std::string& name, bool with_password) const override;
  std::optional<int> Limit(const JobSpec& job) const override;
  std::vector<PreviewInfo> List(const JobSpec& job) override;
  void Drop(const JobSpec& job, const std::string& name) override;

 private:
  const Endpoint& Target(const JobSpec& job) const;
  // Creates the preview's database when missing; returns whether it did.
  bool EnsureDatabase(const JobSpec& job, const std::string& name, const RunContext& context);
  void MarkRefreshed(const JobSpec& job, const std::string& name, int64_t run);
  void Load(const RunContext& context, const std::string& url, const std::string& label,
            nlohmann::json& report, std::string& markdown);

  std::string config_path_;
  const Config& config_;
  std::mutex create_mutex_;
};

}  // namespace freshet
