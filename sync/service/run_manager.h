// The service's run queue: turns triggers into runs, starts them on worker
// threads (never on the I/O thread) when their targets are free and the
// global limit allows, cancels them, and finishes them into the store.
//
// Rules: one run per target at a time (a job either queues behind a busy
// target or is refused with 409, by its `queue_when_busy`); queued runs
// start in trigger order; at most `max_running` run at once. A run whose
// stop was requested and that then fails ends `cancelled`.
//
// With a shared store (several replicas), every replica queues runs into the
// store and answers from it, but only the leader (sync/service/
// replica_link.h) starts them: BecomeLeader recovers what the last leader
// left, Adopt takes runs other replicas queued and the cancels they asked
// for, PublishLive puts running runs' progress where the others read it.
// Starting a run claims it in the store, so a run cancelled elsewhere in the
// meantime never starts.
//
// Thread-safety: every public method may be called from any thread. The
// `changed` callback (any run's state, progress or log moved) and
// `finished` (a run ended) are called from worker or API threads without
// the manager's lock held.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include "sync/service/job.h"
#include "sync/service/job_executor.h"
#include "sync/service/run_store.h"
#include "sync/service/run_watch.h"

namespace freshet {

class RunManager {
 public:
  struct Callbacks {
    std::function<void()> changed;
    std::function<void(const RunRecord&)> finished;
  };
  // A run as the API shows it: its record, plus live progress while it runs.
  struct LiveRun {
    RunRecord record;
    std::optional<RunWatch::Snapshot> watch;
  };

  // `store`, `executor` and `log` must outlive the manager.
  RunManager(RunStore& store, JobExecutor& executor, std::vector<JobSpec> jobs, int max_running,
             std::shared_ptr<spdlog::logger> log, Callbacks callbacks);
  ~RunManager();  // requests every running run to stop and waits for it
  RunManager(const RunManager&) = delete;
  RunManager& operator=(const RunManager&) = delete;

  const std::vector<JobSpec>& jobs() const { return jobs_; }
  const JobSpec* FindJob(std::string_view name) const;

  // Runs left queued or running by a service that stopped or died. Two
  // steps: BeginRecovery, before the API listens, takes them from the store
  // and queues the queued ones again; from then until Recover returns,
  // triggers are accepted and queued but no run starts. Recover marks the
  // running ones failed (exit status 1, "the service stopped during the
  // run") after their targets are repaired through the journal, then lets
  // runs start. Each is called once; they return what they did.
  std::vector<std::string> BeginRecovery();
  std::vector<std::string> Recover();

  // Queues a run of `job`. Throws ApiError: 404 unknown job, 400 overrides
  // the job does not take, 409 a target busy and the job refuses to queue,
  // 503 shutting down. Returns the new run's id.
  // A scheduled run names its cron time (`scheduled_for`, ISO): a second
  // trigger of the same job and time gets 409 (a shared store runs it once).
  int64_t Trigger(const std::string& job, const nlohmann::json& overrides,
                  const std::string& trigger, const std::string& requested_by,
                  const std::string& scheduled_for = "");
  // Cancels a queued run at once, or asks a running one to stop (its streams
  // stop, its targets are restored, it ends `cancelled`). Throws ApiError 404
  // (no such run) or 409 (already finished). Returns the run's record.
  RunRecord Cancel(int64_t id);

  // The run, live if queued or running here, from the store otherwise.
  std::optional<LiveRun> Find(int64_t id);
  // Live runs (queued and running), by id; with a shared store, also those
  // of the other replicas (their progress as last published).
  std::vector<LiveRun> Active();

  // Shared store only. This replica holds the leader lock: from now on it
  // starts runs. Call BeginRecovery and Recover next, as at a start.
  void BecomeLeader();
  bool leading() const;
  // As leader: queues what other replicas put in the store, drops queued
  // runs cancelled there, stops running runs whose cancel was asked there.
  void Adopt();
  // As leader: stores the progress of running runs that moved since last time.
  void PublishLive();
  size_t RunningCount() const;

  // Refuses new triggers from now on (503).
  void BeginShutdown();
  // Asks every running run to stop; queued ones stay queued in the store.
  void StopRunning();
  // Waits until no run is running, at most until `deadline`; true if none is.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);

 private:
  struct ActiveRun;
  void DispatchLocked();
  enum class Started { kYes, kGone, kStoreFailed };
  Started Start(const std::shared_ptr<ActiveRun>& run);
  void QueueLocked(const std::shared_ptr<ActiveRun>& run);
  // Throws ApiError 409 when `job` refuses to queue and one of `others`
  // holds one of its targets.
  void CheckTargetsFree(const JobSpec& job, const RunRecord& record,
                        const std::vector<RunRecord>& others) const;
  RunRecord CancelStored(int64_t id);
  void Work(std::shared_ptr<ActiveRun> run);
  void Finish(const std::shared_ptr<ActiveRun>& run, RunRecord record);
  bool SharesTarget(const RunRecord& a, const RunRecord& b) const;
  void ReapFinishedThreads();

  RunStore& store_;
  JobExecutor& executor_;
  std::vector<JobSpec> jobs_;
  int max_running_;
  std::shared_ptr<spdlog::logger> log_;
  Callbacks callbacks_;

  mutable std::mutex mutex_;
  std::condition_variable idle_;
  bool shutting_down_ = false;
  bool recovering_ = false;
  bool leading_ = true;               // with a shared store: false until BecomeLeader
  std::vector<RunRecord> to_repair_;  // running when the last service stopped
  int running_ = 0;
  std::map<int64_t, std::shared_ptr<ActiveRun>> active_;
  std::deque<int64_t> queue_;
  std::vector<std::thread> finished_threads_;
};

}  // namespace freshet
