// Where the service keeps its history: runs, their log lines and reports.
// History survives restarts. SqliteRunStore is the embedded default; the
// interface leaves room for a shared PostgreSQL store.
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
  // Stores a new run (state queued) and returns its id.
  virtual int64_t Insert(const RunRecord& run) = 0;
  virtual void MarkRunning(int64_t id, const std::string& started_at) = 0;
  // Records the end: state, times, exit status, error, report, totals.
  virtual void Finish(const RunRecord& run) = 0;
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
};

// The SQLite store at `path` (created with its schema when missing; WAL
// journal). Throws Error naming the file when it cannot be opened or is not
// a freshet store.
std::unique_ptr<RunStore> OpenSqliteRunStore(const std::string& path);

}  // namespace freshet
