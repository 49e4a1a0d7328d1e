// Loading a plan's tables: the COPY statements of each stream and the tasks
// that run them (sync/task_graph.h), next to the rebuild tasks that follow
// each table.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "copy/copy_relay.h"
#include "sync/engine/plan.h"
#include "sync/engine/progress.h"
#include "sync/engine/run_observer.h"
#include "sync/engine/task_graph.h"

namespace freshet {

struct TableLoad {
  uint64_t rows = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  uint64_t retries = 0;  // streams retried after a lost connection
};

// How a COPY stream that failed because a connection was lost (a terminated
// backend, a restarted target, a cut network) is retried: a failed COPY left
// no rows, so it is run again from the same snapshot on new connections,
// after `backoff`, doubled each time.
struct RetryPolicy {
  int attempts = 4;  // the first try and up to 3 retries
  std::chrono::milliseconds backoff{1000};
};

// Whether `error`, raised by a stream on `session`, is a lost connection that
// a new one may not meet: SQLSTATE class 08, an administrator or crash
// shutdown (57P01..57P03), or a connection libpq reports as broken.
bool IsLostConnection(const Error& error, const WorkerSession& session);

// The COPY statements of one unit.
std::string CopyOutSql(const PlannedTable& table, const CopyUnit& unit);
// The rows of a chunk's heap blocks (a TID Range Scan on PostgreSQL 14+).
std::string BlocksPredicate(const BlockRange& blocks);
std::string CopyInSql(const PlannedTable& table, const CopyUnit& unit);

// The COPY streams of a plan as tasks of a TaskGraph: one fatal task per unit
// (a table, a leaf partition or a ctid range of one), each relaying the
// worker's source session (joined to the run's snapshot) into its target
// session. Under the ordered strategy a table's units wait for every unit of
// the tables it references. `progress` items are the plan's tables, by index.
// Thread-safe while the graph runs; must outlive it.
class LoadTasks {
 public:
  // Tables starting and finishing are told to `log`'s observer.
  LoadTasks(const Plan& plan, Progress* progress, RetryPolicy retry = {},
            const RunLog& log = DefaultLog());

  void AddTo(TaskGraph& graph);

  // The load tasks that must finish before `relation` (a planned table or one
  // of its partitions) is complete: the units writing to it, or all of its
  // table's units when rows go through the root.
  std::vector<size_t> Gate(const QualifiedName& relation) const;

  // Per plan table, once the graph has run.
  std::vector<TableLoad> loads() const;
  // When the last unit finished (the start of the rebuild-only tail).
  std::chrono::steady_clock::time_point last_done() const;

 private:
  void Finished(size_t table, const RelayResult& relayed);
  RelayResult RelayWithRetries(size_t table, const CopyUnit& unit, const std::string& what,
                               WorkerSession& session, std::stop_token stop);

  const Plan& plan_;
  Progress* progress_;
  RetryPolicy retry_;
  RunLog log_;
  std::vector<std::vector<size_t>> table_tasks_;  // per plan table
  std::vector<std::pair<QualifiedName, size_t>> unit_targets_;
  mutable std::mutex mutex_;
  std::vector<TableLoad> loads_;
  std::vector<size_t> units_left_;
  std::vector<std::optional<std::chrono::steady_clock::time_point>> first_start_;
  std::chrono::steady_clock::time_point last_done_;
  std::atomic<size_t> tables_done_{0};
};

}  // namespace freshet
