// A dependency graph of database work run on a fixed pool of worker threads:
// the COPY streams of a load, and the index builds, foreign keys and triggers
// that follow each table's load. Each worker owns a WorkerSession (a target
// connection, and a source connection opened on first use). Among the ready
// tasks the one heading the heaviest remaining chain (its weight plus the
// heaviest path of tasks waiting on it) goes first, so the critical path
// starts early and small tables' rebuilds fill the gaps.
//
// A task that throws either stops the run (fatal: no new task starts, running
// ones see their stop token fire, and Run rethrows once every worker is done)
// or is recorded, and the tasks that depend on it are skipped.
// Run is not reentrant; tasks run concurrently and must synchronize any state
// they share.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "sync/engine/run_observer.h"

namespace freshet {

// The connections of one worker thread: a source and any number of targets
// (a snapshot restores into several at once), each opened on first use.
class WorkerSession {
 public:
  WorkerSession(const std::function<Connection()>& open_source,
                const std::function<Connection(size_t)>& open_target)
      : open_source_(open_source), open_target_(open_target) {}
  Connection& Source();                  // throws Error
  Connection& Target(size_t which = 0);  // throws Error
  // True when a connection of the session has been lost (server gone,
  // backend terminated, network cut).
  bool Broken() const;
  // Closes every connection; the next Source()/Target() opens new ones.
  void Reset();

 private:
  const std::function<Connection()>& open_source_;
  const std::function<Connection(size_t)>& open_target_;
  std::optional<Connection> source_;
  std::vector<std::unique_ptr<Connection>> targets_;  // stable addresses
};

struct Task {
  std::string name;
  double weight = 0;  // expected cost, any unit (bytes work)
  // Work outside the graph that waits for this task, in the same unit: its
  // priority is at least weight + tail.
  double tail = 0;
  int rank = 0;  // lower ranks go first among ready tasks
  // What the task loads (e.g. the database servers it writes to): with a
  // limit per resource, a task starts only while each of its resources has
  // fewer than the limit running.
  std::vector<size_t> resources;
  std::vector<size_t> after;  // ids of tasks that must finish first (all < this id)
  bool fatal = false;         // a failure stops the whole run
  std::function<void(WorkerSession&, std::stop_token)> run;
  // Called once `run` returned (after the test hook "done NAME"), before
  // the task counts as done; what it throws fails the task.
  std::function<void()> finished;
};

enum class TaskState { kPending, kDone, kFailed, kSkipped };

struct TaskOutcome {
  TaskState state = TaskState::kPending;
  std::exception_ptr error;  // kFailed: what it threw; kSkipped: what its prerequisite threw
};

class TaskGraph {
 public:
  // Adds a task and returns its id. Throws Error if `after` names a task not
  // added yet.
  size_t Add(Task task);
  size_t size() const { return tasks_.size(); }
  // Sets the rank, or the resources, of every task added from id `first` on.
  void SetRank(size_t first, int rank);
  void SetResources(size_t first, const std::vector<size_t>& resources);
  // Runs `check` before each task added from id `first` on; when it throws,
  // the task fails with that error without running.
  void CheckBefore(size_t first, const std::function<void()>& check);
  // At most `limit` running tasks per resource (0, the default: no limit).
  void LimitPerResource(int limit) { per_resource_ = limit; }

  // Runs every task on up to `workers` threads, each with a session that
  // opens connections with `open_source` and `open_target(which)` (either may
  // be empty when no task uses it; a failure to connect fails the task).
  // Returns one outcome per task. Throws the first fatal failure, or Error "cancelled" when `stop`
  // was requested. Each task's end is logged (debug) to `log`.
  std::vector<TaskOutcome> Run(int workers, const std::function<Connection()>& open_source,
                               const std::function<Connection(size_t)>& open_target,
                               std::stop_token stop, const RunLog& log = DefaultLog());

 private:
  std::vector<Task> tasks_;
  int per_resource_ = 0;
};

}  // namespace freshet
