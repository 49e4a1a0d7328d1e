// The job kinds behind ConfigJobExecutor (sync/cli/serve_jobs.h). Each kind
// is a JobExecutor of its own over the one Config, built on the same option
// resolution and engine calls as its command (`sync`, `snapshot capture`,
// `snapshot restore`, `migrate up`), and ConfigJobExecutor hands every job to
// its kind's. Also the helpers the kinds share.
//
// Thread-safety: as JobExecutor's. The Config must outlive the executors.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include "sync/cli/config.h"
#include "sync/service/job_executor.h"

namespace freshet {

std::unique_ptr<JobExecutor> MakeSyncJobs(const std::string& config_path, const Config& config);
std::unique_ptr<JobExecutor> MakeSnapshotCaptureJobs(const Config& config);
std::unique_ptr<JobExecutor> MakeSnapshotRestoreJobs(const Config& config);
std::unique_ptr<JobExecutor> MakeMigrateUpJobs(const Config& config);

// migrate-up and preview jobs: checks that `job`'s migrations directory
// exists and its options resolve.
void CheckMigrationsJob(const Config& config, const JobSpec& job);
// Applies `job`'s migrations ([jobs] migrations, layout, naming,
// lock_timeout, statement_timeout, include_all) to `target`, logging to the
// run's observer and stopping with it. `up` gets what `migrate up --format
// json` prints (plus "target"), the error included on failure; throws as
// MigrateUp.
void MigrateTarget(const Config& config, const JobSpec& job, const std::string& target,
                   const RunContext& context, nlohmann::json& up);

// The job's option `key` ([jobs.NAME] key = ...), when set.
template <typename T>
std::optional<T> JobOption(const JobSpec& job, const char* key) {
  if (!job.options.contains(key)) return std::nullopt;
  return job.options.at(key).get<T>();
}

// Runs `check`; an Error it throws comes out as a usage Error starting
// "job 'NAME': ", so start-up errors say which job.
void CheckNamingTheJob(const JobSpec& job, const std::function<void()>& check);

// Throws ApiError(400) when `overrides` has a key (jobs that take none).
void RefuseOverrides(const JobSpec& job, const nlohmann::json& overrides);

// "target:NAME" for a configured target, "target:user@host:port/db" for a
// connection string (never its password): what two runs must not write at
// once.
std::string TargetKey(const Config& config, const std::string& target);
// "database:host:port/dbname" for the connection string `url` returns (host
// lower-cased, libpq's defaults filled in, no user or password), or nothing
// when `url` throws Error (an unset variable) or it does not parse: the same
// database named by two targets, or by a target and a URL, gets one key.
std::optional<std::string> DatabaseKey(const std::function<std::string()>& url);
// TargetKey of each of `targets`, then the DatabaseKey each resolves to (when
// it resolves now), so that runs writing one database never run at once
// whatever they call it.
std::vector<std::string> TargetKeys(const Config& config, const std::vector<std::string>& targets);

// The targets a sync-like job writes: its `to`, or [sync] to. Throws Error
// (kUsage) naming the job when there is neither.
std::vector<std::string> SyncTargetNames(const Config& config, const JobSpec& job);

// Puts back what an interrupted run left in the journal of the target at
// `url`; lines as JobExecutor::Repair returns them.
std::vector<std::string> RepairTarget(const std::string& url, int jobs);

// Of the job's targets now (`names`), those `run` wrote to (its keys), so a
// repair after a config change touches only what the run touched. A key of
// the run that no configured target has any more gets a "problem:" line in
// `lines` saying how to repair it by hand.
std::vector<std::string> TargetsOfRun(const Config& config, const std::vector<std::string>& names,
                                      const RunRecord& run, std::vector<std::string>& lines);

// `reports` as a job's report: one target's object, or an array of them.
JobExecutor::Report CombineReports(const std::vector<nlohmann::json>& reports,
                                   const std::vector<std::string>& markdown);

// An std::ostream whose lines go to a run's observer as info lines (for
// library calls that log to a stream, such as MigrateUp). Not thread-safe:
// one writer.
class ObserverStream : public std::ostream {
 public:
  explicit ObserverStream(RunObserver& observer);
  ~ObserverStream() override;

 private:
  class Buffer : public std::streambuf {
   public:
    explicit Buffer(RunObserver& observer) : observer_(observer) {}
    void Flush();

   protected:
    int overflow(int c) override;

   private:
    RunObserver& observer_;
    std::string line_;
  };
  Buffer buffer_;
};

}  // namespace freshet
