#include "sync/service/run_manager.h"

#include <fmt/format.h>

#include <algorithm>

#include "copy/conninfo.h"
#include "copy/error.h"
#include "sync/service/api_error.h"
#include "sync/service/run_json.h"

namespace freshet {

struct RunManager::ActiveRun {
  ActiveRun(RunRecord run, const JobSpec& spec, RunStore& store,
            std::shared_ptr<spdlog::logger> log, std::function<void()> changed)
      : record(std::move(run)),
        job(spec),
        watch(record.id, record.job, store, std::move(log), std::move(changed)) {}
  RunRecord record;
  const JobSpec& job;
  RunWatch watch;
  std::stop_source stop;
  std::thread thread;
  uint64_t published = 0;  // the watch version last put in a shared store
};

namespace {

std::string Now() { return IsoTime(std::chrono::system_clock::now()); }

// Calls a callback of the owner; what it throws is logged, never let out of
// a worker thread.
template <typename F, typename... Args>
void Notify(const std::shared_ptr<spdlog::logger>& log, const F& callback, const Args&... args) {
  if (!callback) return;
  try {
    callback(args...);
  } catch (const std::exception& error) {
    if (log) log->error("run manager: a listener failed: {}", RedactSecrets(error.what()));
  }
}

}  // namespace

RunManager::RunManager(RunStore& store, JobExecutor& executor, std::vector<JobSpec> jobs,
                       int max_running, std::shared_ptr<spdlog::logger> log, Callbacks callbacks)
    : store_(store),
      executor_(executor),
      jobs_(std::move(jobs)),
      max_running_(std::max(1, max_running)),
      log_(std::move(log)),
      callbacks_(std::move(callbacks)),
      leading_(!store.Shared()) {}

RunManager::~RunManager() {
  BeginShutdown();
  StopRunning();
  WaitIdle(std::chrono::steady_clock::time_point::max());
  ReapFinishedThreads();
}

const JobSpec* RunManager::FindJob(std::string_view name) const {
  for (const JobSpec& job : jobs_)
    if (job.name == name) return &job;
  return nullptr;
}

std::vector<std::string> RunManager::BeginRecovery() {
  std::vector<std::string> done;
  std::lock_guard lock(mutex_);
  recovering_ = true;
  for (RunRecord& run : store_.Unfinished()) {
    const JobSpec* job = FindJob(run.job);
    if (run.state == RunState::kQueued && job) {
      if (!active_.count(run.id))
        QueueLocked(std::make_shared<ActiveRun>(run, *job, store_, log_, callbacks_.changed));
      done.push_back(fmt::format("run {} ({}) queued again", run.id, run.job));
    } else {
      to_repair_.push_back(std::move(run));
    }
  }
  return done;
}

namespace {

// The error a run the service stopped during ends with.
std::string RecoveredError(const RunRecord& run, bool configured,
                           const std::vector<std::string>& repaired, const std::string& problem) {
  if (!problem.empty()) return "the service stopped during the run; repair failed: " + problem;
  if (!configured)
    return fmt::format(
        "the service stopped during the run, and job '{}' is no longer configured, so its "
        "targets were not repaired",
        run.job);
  bool partial = std::any_of(repaired.begin(), repaired.end(), [](const std::string& line) {
    return line.find("problem:") != std::string::npos;
  });
  return partial ? "the service stopped during the run; its targets were restored as far as they "
                   "could be (see the log); the next run of the job finishes them"
                 : "the service stopped during the run; its targets were restored";
}

}  // namespace

std::vector<std::string> RunManager::Recover() {
  std::vector<RunRecord> runs;
  {
    std::lock_guard lock(mutex_);
    runs.swap(to_repair_);
  }
  std::vector<std::string> done;
  for (RunRecord& run : runs) {
    const JobSpec* job = FindJob(run.job);
    std::vector<std::string> repaired;
    std::string problem;
    if (run.state == RunState::kRunning && !store_.TakeOver(run.id)) {
      done.push_back(fmt::format("run {} ({}) ended on the replica that ran it", run.id, run.job));
      continue;  // that replica restored its targets as the run ended
    }
    if (job && run.state == RunState::kRunning) {
      try {
        repaired = executor_.Repair(*job, run);
      } catch (const std::exception& error) {
        problem = RedactSecrets(error.what());
      }
    }
    run.state = RunState::kFailed;
    run.exit_status = static_cast<int>(ErrorKind::kRuntime);
    run.finished_at = Now();
    run.error = RecoveredError(run, job != nullptr, repaired, problem);
    for (const std::string& line : repaired)
      store_.AppendLog(run.id, {Now(), "info", "repair: " + line});
    store_.Finish(run);
    done.push_back(fmt::format("run {} ({}) marked failed: {}", run.id, run.job, run.error));
  }
  {
    std::lock_guard lock(mutex_);
    recovering_ = false;
    DispatchLocked();
  }
  Notify(log_, callbacks_.changed);
  return done;
}

int64_t RunManager::Trigger(const std::string& job_name, const nlohmann::json& overrides,
                            const std::string& trigger, const std::string& requested_by,
                            const std::string& scheduled_for) {
  const JobSpec* job = FindJob(job_name);
  if (!job) throw ApiError(404, fmt::format("no job named '{}'", job_name));
  RunRecord record;
  record.job = job->name;
  record.kind = job->kind;
  record.trigger = trigger;
  record.requested_by = requested_by;
  record.overrides = overrides.is_null() ? nlohmann::json::object() : overrides;
  record.targets = executor_.Targets(*job, record.overrides);
  record.created_at = Now();
  record.scheduled_for = scheduled_for;
  if (store_.Shared()) CheckTargetsFree(*job, record, store_.Unfinished());
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) throw ApiError(503, "the service is shutting down");
    if (!store_.Shared()) {
      std::vector<RunRecord> others;
      for (const auto& [id, other] : active_) others.push_back(other->record);
      CheckTargetsFree(*job, record, others);
    }
    record.id = store_.Insert(record);
    if (record.id == 0)
      throw ApiError(409,
                     fmt::format("job '{}' already has a run for {} (another replica queued it)",
                                 job->name, scheduled_for));
    if (leading_ && !active_.count(record.id)) {
      QueueLocked(std::make_shared<ActiveRun>(record, *job, store_, log_, callbacks_.changed));
      DispatchLocked();
    }
  }
  Notify(log_, callbacks_.changed);
  return record.id;
}

void RunManager::CheckTargetsFree(const JobSpec& job, const RunRecord& record,
                                  const std::vector<RunRecord>& others) const {
  if (job.queue_when_busy) return;
  for (const RunRecord& other : others)
    if (!IsFinished(other.state) && SharesTarget(record, other))
      throw ApiError(409, fmt::format("run {} ({}) is {} on the same target; job '{}' does not "
                                      "queue behind it",
                                      other.id, other.job, RunStateName(other.state), job.name));
}

void RunManager::QueueLocked(const std::shared_ptr<ActiveRun>& run) {
  int64_t id = run->record.id;
  active_[id] = run;
  queue_.insert(std::upper_bound(queue_.begin(), queue_.end(), id), id);
}

RunRecord RunManager::Cancel(int64_t id) {
  std::shared_ptr<ActiveRun> cancelled;
  std::shared_ptr<ActiveRun> stopping;
  RunRecord running;
  {
    std::lock_guard lock(mutex_);
    auto it = active_.find(id);
    if (it != active_.end()) {
      if (it->second->record.state == RunState::kRunning) {
        it->second->stop.request_stop();
        stopping = it->second;
        running = it->second->record;
      } else {
        cancelled = it->second;
        active_.erase(it);
        queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
      }
    }
  }
  if (stopping) {  // logged outside the lock: the log writes to the store
    stopping->watch.Log(LogLevel::kWarning, "cancel requested");
    return running;
  }
  if (!cancelled) return CancelStored(id);
  RunRecord record = cancelled->record;
  record.state = RunState::kCancelled;
  record.finished_at = Now();
  record.error = "cancelled before it started";
  if (!store_.EndQueued(record)) return CancelStored(id);  // it ended through another replica
  Notify(log_, callbacks_.finished, record);
  Notify(log_, callbacks_.changed);
  return record;
}

// A run this replica does not hold: with a shared store, a queued one is
// cancelled in the store, a running one is asked (through the store) to stop
// by the replica running it.
RunRecord RunManager::CancelStored(int64_t id) {
  std::optional<RunRecord> stored = store_.Get(id);
  if (!stored) throw ApiError(404, fmt::format("no run {}", id));
  if (store_.Shared() && stored->state == RunState::kQueued) {
    RunRecord record = *stored;
    record.state = RunState::kCancelled;
    record.finished_at = Now();
    record.error = "cancelled before it started";
    if (store_.EndQueued(record)) {
      Notify(log_, callbacks_.finished, record);
      Notify(log_, callbacks_.changed);
      return record;
    }
    stored = store_.Get(id);  // claimed meanwhile
  }
  if (store_.Shared() && stored && stored->state == RunState::kRunning) {
    store_.RequestCancel(id);
    store_.AppendLog(id, {Now(), "warning", "cancel requested"});
    return *stored;
  }
  throw ApiError(
      409, fmt::format("run {} already {}", id, stored ? RunStateName(stored->state) : "gone"));
}

std::optional<RunManager::LiveRun> RunManager::Find(int64_t id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = active_.find(id); it != active_.end())
      return LiveRun{it->second->record, it->second->watch.Read()};
  }
  std::optional<RunRecord> stored = store_.Get(id);
  if (!stored) return std::nullopt;
  return LiveRun{*stored, std::nullopt};
}

std::vector<RunManager::LiveRun> RunManager::Active() {
  std::vector<LiveRun> runs;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, run] : active_) runs.push_back({run->record, run->watch.Read()});
  }
  if (!store_.Shared()) return runs;
  for (RunRecord& run : store_.Unfinished())
    if (std::none_of(runs.begin(), runs.end(),
                     [&](const LiveRun& here) { return here.record.id == run.id; }))
      runs.push_back({std::move(run), std::nullopt});
  std::sort(runs.begin(), runs.end(),
            [](const LiveRun& a, const LiveRun& b) { return a.record.id < b.record.id; });
  return runs;
}

void RunManager::BecomeLeader() {
  std::lock_guard lock(mutex_);
  leading_ = true;
  recovering_ = true;  // nothing starts before the recovery the caller does next
}

bool RunManager::leading() const {
  std::lock_guard lock(mutex_);
  return leading_;
}

size_t RunManager::RunningCount() const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(running_);
}

void RunManager::BeginShutdown() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
}

void RunManager::StopRunning() {
  std::lock_guard lock(mutex_);
  for (const auto& [id, run] : active_)
    if (run->record.state == RunState::kRunning) run->stop.request_stop();
}

bool RunManager::WaitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    idle_.wait(lock, [this] { return running_ == 0; });
    return true;
  }
  return idle_.wait_until(lock, deadline, [this] { return running_ == 0; });
}

bool RunManager::SharesTarget(const RunRecord& a, const RunRecord& b) const {
  for (const std::string& target : a.targets)
    if (std::find(b.targets.begin(), b.targets.end(), target) != b.targets.end()) return true;
  return false;
}

void RunManager::DispatchLocked() {
  if (shutting_down_ || recovering_ || !leading_) return;
  std::vector<const RunRecord*> ahead;  // queued runs passed over: their targets stay claimed
  for (auto it = queue_.begin(); it != queue_.end() && running_ < max_running_;) {
    std::shared_ptr<ActiveRun> run = active_.at(*it);
    bool blocked = std::any_of(active_.begin(), active_.end(), [&](const auto& entry) {
      return entry.second->record.state == RunState::kRunning &&
             SharesTarget(run->record, entry.second->record);
    });
    blocked = blocked || std::any_of(ahead.begin(), ahead.end(), [&](const RunRecord* other) {
                return SharesTarget(run->record, *other);
              });
    if (blocked) {
      ahead.push_back(&run->record);
      ++it;
      continue;
    }
    if (Start(run) == Started::kStoreFailed) return;  // it stays queued: the next dispatch retries
    it = queue_.erase(it);
  }
}

RunManager::Started RunManager::Start(const std::shared_ptr<ActiveRun>& run) {
  std::string started_at = Now();
  try {
    if (!store_.Claim(run->record.id, started_at)) {  // cancelled through another replica
      active_.erase(run->record.id);
      return Started::kGone;
    }
  } catch (const std::exception& error) {
    if (log_)
      log_->error("run {}: cannot claim it in the store: {}", run->record.id,
                  RedactSecrets(error.what()));
    return Started::kStoreFailed;
  }
  ++running_;
  run->record.state = RunState::kRunning;
  run->record.started_at = started_at;
  run->thread = std::thread([this, run] { Work(run); });
  return Started::kYes;
}

void RunManager::Work(std::shared_ptr<ActiveRun> run) {
  ReapFinishedThreads();  // runs that ended before this one started: joined here, not on the I/O
                          // thread
  RunRecord record;
  {
    std::lock_guard lock(mutex_);
    record = run->record;
  }
  run->watch.Log(LogLevel::kInfo, fmt::format("run {} of job '{}' ({}) started by {}", record.id,
                                              record.job, record.kind, record.trigger));
  JobExecutor::Report report;
  try {
    RunContext context{record, run->job, run->watch, run->stop.get_token()};
    executor_.Execute(context, report);
    record.state = RunState::kSucceeded;
    record.exit_status = 0;
  } catch (const Error& error) {
    record.state = run->stop.stop_requested() ? RunState::kCancelled : RunState::kFailed;
    record.exit_status = static_cast<int>(error.kind());
    record.error = RedactSecrets(error.what());
  } catch (const std::exception& error) {
    record.state = run->stop.stop_requested() ? RunState::kCancelled : RunState::kFailed;
    record.exit_status = static_cast<int>(ErrorKind::kRuntime);
    record.error = RedactSecrets(error.what());
  }
  record.report = std::move(report.json);
  record.report_markdown = std::move(report.markdown);
  record.finished_at = Now();
  Finish(run, std::move(record));
}

void RunManager::Finish(const std::shared_ptr<ActiveRun>& run, RunRecord record) {
  RunWatch::Snapshot watched = run->watch.Read();
  record.rows = watched.rows;
  record.bytes = watched.bytes;
  run->watch.Log(record.state == RunState::kSucceeded ? LogLevel::kInfo : LogLevel::kWarning,
                 fmt::format("run {} {}{}", record.id, RunStateName(record.state),
                             record.error.empty() ? "" : ": " + record.error));
  try {
    if (!store_.Finish(record) && log_)
      log_->warn(
          "run {}: its end is not recorded by this replica: the leading replica took the run "
          "over (and repaired its targets) after this one lost the lead",
          record.id);
  } catch (const std::exception& error) {
    if (log_) log_->error("run {}: cannot store its end: {}", record.id, error.what());
  }
  Notify(log_, callbacks_.finished, record);
  {
    std::lock_guard lock(mutex_);
    --running_;
    finished_threads_.push_back(std::move(run->thread));
    active_.erase(record.id);
    DispatchLocked();
  }
  idle_.notify_all();
  Notify(log_, callbacks_.changed);
}

void RunManager::Adopt() {
  if (!store_.Shared() || !leading()) return;
  std::vector<RunRecord> unfinished = store_.Unfinished();
  std::vector<int64_t> cancels = store_.CancelRequested();
  std::vector<RunRecord> unknown;    // queued for a job this replica does not have
  std::vector<int64_t> maybe_ended;  // queued here, not in the store's queue
  {
    std::lock_guard lock(mutex_);
    if (!leading_ || shutting_down_) return;
    std::vector<int64_t> queued;
    for (RunRecord& run : unfinished) {
      if (run.state != RunState::kQueued) continue;
      queued.push_back(run.id);
      if (active_.count(run.id)) continue;
      if (const JobSpec* job = FindJob(run.job))
        QueueLocked(std::make_shared<ActiveRun>(run, *job, store_, log_, callbacks_.changed));
      else
        unknown.push_back(std::move(run));
    }
    for (int64_t id : queue_)
      if (std::find(queued.begin(), queued.end(), id) == queued.end()) maybe_ended.push_back(id);
    for (int64_t id : cancels)
      if (auto it = active_.find(id);
          it != active_.end() && it->second->record.state == RunState::kRunning)
        it->second->stop.request_stop();
  }
  // Queued after the store was read, or ended through another replica: ask.
  std::vector<int64_t> ended;
  for (int64_t id : maybe_ended)
    if (std::optional<RunRecord> run = store_.Get(id); run && run->state != RunState::kQueued)
      ended.push_back(id);
  for (RunRecord& run : unknown) {
    run.state = RunState::kFailed;
    run.exit_status = static_cast<int>(ErrorKind::kUsage);
    run.finished_at = Now();
    run.error = fmt::format("job '{}' is not in the config of the leading replica", run.job);
    if (store_.EndQueued(run)) Notify(log_, callbacks_.finished, run);
  }
  {
    std::lock_guard lock(mutex_);
    for (int64_t id : ended) {
      queue_.erase(std::remove(queue_.begin(), queue_.end(), id), queue_.end());
      active_.erase(id);
    }
    DispatchLocked();
  }
  Notify(log_, callbacks_.changed);
}

void RunManager::PublishLive() {
  if (!store_.Shared()) return;
  std::vector<std::pair<int64_t, nlohmann::json>> moved;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, run] : active_) {
      if (run->record.state != RunState::kRunning) continue;
      RunWatch::Snapshot now = run->watch.Read();
      if (now.version == run->published) continue;
      run->published = now.version;
      moved.emplace_back(id, LiveJson(now));
    }
  }
  for (const auto& [id, live] : moved) store_.PublishLive(id, live);
}

void RunManager::ReapFinishedThreads() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(finished_threads_);
  }
  for (std::thread& thread : threads)
    if (thread.joinable()) thread.join();
}

}  // namespace freshet
