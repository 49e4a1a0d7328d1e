// The state incremental runs keep on the target (`_freshet.sync_state`): per
// source database and table, the transaction horizon and watermark reached,
// the schema fingerprint (which also records what masked the table: rules
// and key fingerprint, so a change refreshes it whole; see
// incremental_choose.cc) and when the table was last refreshed whole. Read
// before planning; written inside the merge transaction, so it always
// accounts for exactly the rows committed with it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "sync/engine/incremental_mode.h"
#include "sync/engine/plan.h"

namespace freshet {

// Creates the state table if missing; throws Error naming what the role lacks.
void EnsureStateTable(Connection& target);
// The rows recorded for `source`; none when the table does not exist yet.
std::vector<TableState> ReadStates(Connection& target, const StateSource& source);

// Deletes the state rows (of every source) of the tables `plan` loads: a
// full load or a restore replaces their rows, which no recorded horizon
// accounts for any more.
void ForgetStates(Connection& target, const Plan& plan);

// What one table's row records after this run.
struct StateUpdate {
  QualifiedName table;
  TableMode mode;
  std::optional<std::string> watermark_reached;
  bool full = false;  // refreshed whole this run
  // The source's key summary this run (EncodeKeySums), to spare the next
  // run the target's; nullopt: none recorded.
  std::optional<std::string> key_sums;
};

// Upserts the rows of `updates`, stamped with the source snapshot of this run.
void WriteStates(Connection& target, const StateSource& source, const std::string& xmin_horizon,
                 const std::string& snapshot, const std::vector<StateUpdate>& updates,
                 const std::string& run_id);

}  // namespace freshet
