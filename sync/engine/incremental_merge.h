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
#pragma once

#include <functional>
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

// Merges `stages` (by plan table) on `target`; returns what happened to each
// table's rows. Throws Error naming the table and statement on failure, with
// the transaction rolled back.
std::vector<MergeCounts> MergeStaged(Connection& target, const Plan& plan, const Catalog& catalog,
                                     const std::vector<TableStage>& stages,
                                     const std::string& lock_timeout,
                                     const std::function<void()>& before_commit, const RunLog& log);

}  // namespace freshet
