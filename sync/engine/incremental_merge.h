// The second half of an incremental run: the staging applied to the target's
// tables in one transaction, so the target is either as before the run or as
// after it. Inside it: the user triggers of the written tables are disabled
// (and enabled again before COMMIT), FORCE ROW LEVEL SECURITY lifted likewise;
// rows are upserted parents first (INSERT ... ON CONFLICT (key) DO UPDATE,
// only where the row differs; target-only columns keep their values on
// updated rows and get their defaults on inserted ones); foreign keys that
// close a cycle are written NULL where the row they reference is not there
// yet and set once every table is in; keys gone from the source are deleted
// children first; then `before_commit` (sequences and the state rows).
//
// The merge runs while the tables are still staging: it upserts a table as
// soon as that table and every table before it (parents first) are staged,
// so the small tables are merged while the big ones are read. It only takes
// locks that the staging's own reads (each of its table alone) never wait
// for, on tables whose staging has ended. What needs every table (cycles
// set, deletes, re-validated keys, the state) waits for the last one.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "sync/engine/incremental_stage.h"
#include "sync/engine/plan.h"
#include "sync/engine/run_observer.h"

namespace freshet {

struct MergeCounts {
  uint64_t inserted = 0;
  uint64_t updated = 0;
  uint64_t deleted = 0;
  uint64_t unchanged = 0;
};

// The stages of a run's tables (by plan table) as their staging ends, for a
// merge running meanwhile on another thread.
class StagedFeed {
 public:
  explicit StagedFeed(size_t tables) : stages_(tables), arrived_(tables, false) {}
  void Arrive(size_t i, const TableStage& stage);
  // No stage comes any more: every table arrived, or staging stopped.
  void Close();
  bool closed();
  // Table `i`'s stage, once it arrived; throws Error when the feed was
  // closed without it.
  const TableStage& Wait(size_t i);
  // Every table's stage (waits for them all).
  std::vector<TableStage> All();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<TableStage> stages_;
  std::vector<bool> arrived_;
  bool closed_ = false;
};

// Per plan table, the merge's work that waits for its stage: its own
// upsert and every one after it in the merge's order, estimated from the
// tables' sizes in the staging tasks' unit (bytes read).
std::vector<double> MergeTails(const Plan& plan, const Catalog& catalog);

// Merges the stages `feed` delivers on `target`; returns what happened to
// each table's rows. Throws Error naming the table and statement on failure
// (or when the feed closes short), with the transaction rolled back.
std::vector<MergeCounts> MergeStaged(
    Connection& target, const Plan& plan, const Catalog& catalog, StagedFeed& feed,
    const std::string& lock_timeout,
    const std::function<void(const std::vector<TableStage>&)>& before_commit, const RunLog& log);

}  // namespace freshet
