// What the service runs: jobs from the config ([jobs.NAME]) and the runs
// made of them. Plain data, shared by the store, the queue, the scheduler and
// the API; no behaviour but naming.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace freshet {

// A job from the config. `from` and `to` are names of [sources.X] /
// [targets.X] (or, for snapshot kinds, a snapshot directory). The executor
// (sync/service/job_executor.h) knows what each kind does with them.
struct JobSpec {
  std::string name;
  std::string kind;  // "sync", "incremental", "snapshot-capture", "snapshot-restore", "migrate-up"
  std::string from;
  std::vector<std::string> to;
  std::optional<std::string> schedule;  // cron expression (sync/service/cron.h)
  std::string time_zone = "UTC";
  // When one of the job's targets is busy: queue the run behind it, or refuse
  // the trigger with 409.
  bool queue_when_busy = true;
  // Kind-specific options as given in the config (include, exclude, jobs,
  // verify, ...); the executor validates them at start-up.
  nlohmann::json options = nlohmann::json::object();
  // Names a trigger's body may set (`{"name": "pr-123"}` for a preview
  // template); anything else in the body is refused with 400.
  std::vector<std::string> overridable;
};

enum class RunState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

std::string_view RunStateName(RunState state);
// Throws std::invalid_argument for an unknown name.
RunState ParseRunState(std::string_view name);
inline bool IsFinished(RunState state) {
  return state != RunState::kQueued && state != RunState::kRunning;
}

// One run of a job, as stored. Times are ISO 8601 UTC ("" until they happen).
struct RunRecord {
  int64_t id = 0;
  std::string job;
  std::string kind;
  RunState state = RunState::kQueued;
  std::string trigger;       // "schedule", "api", "restart"
  std::string requested_by;  // the token's name, "schedule" or "" (no auth)
  nlohmann::json overrides = nlohmann::json::object();
  std::vector<std::string> targets;  // keys of what the run writes ("target:dev")
  std::string created_at, started_at, finished_at;
  std::optional<int> exit_status;  // the CLI's exit status for the same failure
  std::string error;
  nlohmann::json report;        // the run's report(s) as `--report` writes them; null until the end
  std::string report_markdown;  // the same as `--summary` writes it
  uint64_t rows = 0;
  uint64_t bytes = 0;
  // A scheduled run: the cron time it is for (ISO), one run per job and
  // time in a shared store. "" for other triggers.
  std::string scheduled_for;
  // In a shared store, while the run is unfinished: its live progress as the
  // replica running it last published it ({rows, bytes, progress,
  // last_step}); null otherwise.
  nlohmann::json live;

  double Seconds() const;  // started_at to finished_at (or now while running); 0 if never started
};

struct RunLogLine {
  std::string at;     // ISO 8601 UTC with milliseconds
  std::string level;  // "debug", "info", "warning", "error"
  std::string message;
};

// ISO 8601 UTC of `time` ("2026-12-06T10:44:03.120Z"), and its inverse
// (nullopt when `text` is not one).
std::string IsoTime(std::chrono::system_clock::time_point time);
std::optional<std::chrono::system_clock::time_point> ParseIsoTime(std::string_view text);

}  // namespace freshet
