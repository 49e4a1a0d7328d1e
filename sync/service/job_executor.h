// How the service runs a job: the CLI implements this interface with the same
// option resolution and engine calls as its commands (sync/cli/serve_jobs.h),
// so the service itself knows nothing of the config file.
//
// Thread-safety: Execute and Repair are called from worker threads, several
// at once for different targets; Check and Targets from any thread.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <vector>

#include "sync/engine/run_observer.h"
#include "sync/service/job.h"

namespace freshet {

// How long a run cancelled at shutdown, or by a replica that lost the lead,
// has to end before its service exits without it.
inline constexpr std::chrono::seconds kCancelGrace{120};
// How long Repair waits for a run still writing to a target: the run of a
// replica that lost the lead ends within kCancelGrace, restoring the target.
inline constexpr std::chrono::seconds kRepairLockWait = kCancelGrace + std::chrono::seconds(30);

class PreviewDatabases;  // sync/service/previews.h

struct RunContext {
  const RunRecord& run;
  const JobSpec& job;
  RunObserver& observer;  // the run's: log lines, progress, its end
  std::stop_token stop;   // cancel or shutdown: streams stop, targets restored
};

class JobExecutor {
 public:
  virtual ~JobExecutor() = default;
  // Checks a job at start-up: its kind, its endpoints' names and its options.
  // Throws Error (kUsage) naming the job and the problem.
  virtual void Check(const JobSpec& job) const = 0;
  // What a run of `job` with `overrides` writes, as keys: the target's name
  // ("target:dev") and the database it resolves to
  // ("database:127.0.0.1:5432/dev"); two runs sharing a key never run at
  // once. Throws ApiError(400) for overrides the job does not accept.
  virtual std::vector<std::string> Targets(const JobSpec& job,
                                           const nlohmann::json& overrides) const = 0;
  // Runs the job and returns its report. Throws Error on failure, whose kind
  // is the CLI's exit status; `report` holds what the run reported by then.
  struct Report {
    nlohmann::json json;   // what `--report` writes
    std::string markdown;  // what `--summary` writes
  };
  virtual void Execute(const RunContext& context, Report& report) = 0;
  // Restores what a run the service died during left on its targets (the
  // journal); returns lines saying what was restored and what could not be
  // yet (left journaled for the next run). A run still writing to a target
  // (on a replica that lost the lead) is waited for, up to kRepairLockWait.
  // Throws Error when a target cannot be reached or stays locked.
  virtual std::vector<std::string> Repair(const JobSpec& job, const RunRecord& run) = 0;
  // The databases of `preview` jobs, for the /v1/previews routes; nullptr
  // when the executor runs no preview jobs. Lives as long as the executor.
  virtual PreviewDatabases* previews() { return nullptr; }
};

}  // namespace freshet
