#include "sync/engine/sync_state.h"

#include <fmt/format.h>

#include "sync_sql.h"

namespace freshet {

void EnsureStateTable(Connection& target) {
  if (target.Exec("SELECT pg_catalog.to_regclass('_freshet.sync_state') IS NOT NULL").GetBool(0, 0))
    return;
  try {
    target.Exec(sql::kSyncStateCreate);
  } catch (const Error& error) {
    throw Error(fmt::format("cannot create freshet's incremental state (_freshet.sync_state) on "
                            "the target: the role needs CREATE on the database the first time ({})",
                            error.what()),
                error.sqlstate());
  }
}

std::vector<TableState> ReadStates(Connection& target, const StateSource& source) {
  std::vector<TableState> states;
  if (!target.Exec("SELECT pg_catalog.to_regclass('_freshet.sync_state') IS NOT NULL")
           .GetBool(0, 0))
    return states;
  Result rows =
      target.Exec(sql::kSyncStateRead, {std::to_string(source.system_identifier), source.database});
  for (int i = 0; i < rows.Rows(); ++i) {
    TableState state;
    state.table = {rows.Get(i, 0), rows.Get(i, 1)};
    state.mode = rows.Get(i, 2);
    state.watermark_column = rows.Get(i, 3);
    state.watermark_reached = rows.GetOptional(i, 4);
    state.xmin_horizon = std::stoull(rows.Get(i, 5));
    state.fingerprint = rows.Get(i, 6);
    state.last_full_at = rows.Get(i, 7);
    states.push_back(std::move(state));
  }
  return states;
}

void ForgetStates(Connection& target, const Plan& plan) {
  if (!target.Exec("SELECT pg_catalog.to_regclass('_freshet.sync_state') IS NOT NULL")
           .GetBool(0, 0))
    return;
  for (const auto& table : plan.tables)
    target.Exec("DELETE FROM _freshet.sync_state WHERE table_schema = $1 AND table_name = $2",
                {table.name.schema, table.name.name});
}

void WriteStates(Connection& target, const StateSource& source, const std::string& xmin_horizon,
                 const std::string& snapshot, const std::vector<StateUpdate>& updates,
                 const std::string& run_id) {
  for (const StateUpdate& update : updates)
    target.Exec(sql::kSyncStateWrite,
                {std::to_string(source.system_identifier), source.database, update.table.schema,
                 update.table.name, SyncModeName(update.mode.mode), update.mode.watermark,
                 update.watermark_reached, xmin_horizon, snapshot, update.mode.fingerprint,
                 update.full ? "true" : "false", run_id});
}

}  // namespace freshet
