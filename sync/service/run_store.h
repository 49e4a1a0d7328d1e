// Where the service keeps its history: runs, their log lines and reports.
// History survives restarts. The embedded SQLite store serves one replica;
// the PostgreSQL store (sync/service/postgres_run_store.h) is shared by
// several, which is why claiming and cancelling are conditional and why a
// run's live progress and cancel requests can pass through it.
//
// Thread-safety: every method may be called from any thread (the API on the
// I/O thread, runs on their workers); implementations serialize internally.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sync/service/job.h"

namespace freshet {

struct RunFilter {
  std::optional<std::string> job;
  std::optional<RunState> state;
  std::optional<int64_t> before_id;  // paging: runs with a smaller id
  int limit = 50;
};

class RunStore {
 public:
  virtual ~RunStore() = default;
  // Stores a new run (state queued) and returns its id; 0 when it is a
  // scheduled run (`scheduled_for` set) whose job already has a run for that
  // time (another replica queued it).
  virtual int64_t Insert(const RunRecord& run) = 0;
  // Marks a queued run running, if it still is queued; false when it is not
  // (cancelled meanwhile, or claimed elsewhere). Each run is claimed once.
  virtual bool Claim(int64_t id, const std::string& started_at) = 0;
  // Stores the end of a run that never started (`run` holds state, times and
  // error), if it still is queued; false when it is not.
  virtual bool EndQueued(const RunRecord& run) = 0;
  // Records the end: state, times, exit status, error, report, totals.
  // False when the run is not this replica's to end: it ended already, or
  // another replica took it over (TakeOver) after this one lost the lead.
  virtual bool Finish(const RunRecord& run) = 0;
  virtual void AppendLog(int64_t id, const RunLogLine& line) = 0;
  virtual std::optional<RunRecord> Get(int64_t id) = 0;
  // Newest first, without their reports (`report` null, `report_markdown`
  // empty): Get has them.
  virtual std::vector<RunRecord> List(const RunFilter& filter) = 0;
  virtual std::vector<RunLogLine> Log(int64_t id) = 0;
  // Runs left queued or running (by a service that stopped or died), oldest first.
  virtual std::vector<RunRecord> Unfinished() = 0;
  // When each job last succeeded (finished_at), by job name.
  virtual std::vector<std::pair<std::string, std::string>> LastSuccesses() = 0;
  // Deletes finished runs (and their logs) that finished before `cutoff`;
  // returns how many.
  virtual int Prune(std::chrono::system_clock::time_point cutoff) = 0;

  // What the store is ("SQLite file X", "PostgreSQL user@host/db"), no secret.
  virtual std::string Describe() const = 0;
  // Several replicas share it: only the leader runs what is queued, and the
  // three calls below carry live progress and cancel requests between them.
  virtual bool Shared() const { return false; }
  // Asks the replica running `id` to stop it.
  virtual void RequestCancel(int64_t /*id*/) {}
  // Running runs whose cancel was requested.
  virtual std::vector<int64_t> CancelRequested() { return {}; }
  // Stores what an unfinished run's JSON shows live (run_json.h LiveJson).
  virtual void PublishLive(int64_t /*id*/, const nlohmann::json& /*live*/) {}
  // Makes a run another replica left running this replica's (the new
  // leader's, before it repairs the run's targets): from then on only this
  // replica's Finish ends it. False when it is not running any more.
  virtual bool TakeOver(int64_t /*id*/) { return true; }
};

// The SQLite store at `path` (created with its schema when missing; WAL
// journal). Throws Error naming the file when it cannot be opened or is not
// a freshet store.
std::unique_ptr<RunStore> OpenSqliteRunStore(const std::string& path);

}  // namespace freshet
