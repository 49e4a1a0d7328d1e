#include "sync/engine/sync_state.h"

#include <fmt/format.h>

#include "sync/engine/bucket_sums.h"
#include "sync_sql.h"

namespace freshet {
namespace {

// The key_sums column came with a later version than the table.
bool HasKeySums(Connection& target) {
  return target
      .Exec(
          "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = "
          "'_freshet.sync_state'::pg_catalog.regclass AND attname = 'key_sums' AND NOT "
          "attisdropped)")
      .GetBool(0, 0);
}

void ReadKeySums(Connection& target, const StateSource& source, std::vector<TableState>& states) {
  if (states.empty() || !HasKeySums(target)) return;
  Result rows = target.Exec(
      "SELECT table_schema, table_name, key_sums FROM _freshet.sync_state WHERE "
      "source_system_id = $1::numeric AND source_database = $2 AND key_sums IS NOT NULL",
      {std::to_string(source.system_identifier), source.database});
  for (int i = 0; i < rows.Rows(); ++i) {
    QualifiedName table{rows.Get(i, 0), rows.Get(i, 1)};
    for (auto& state : states)
      if (state.table == table) state.key_sums = FromByteaHex(rows.Text(i, 2));
  }
}

}  // namespace

void EnsureStateTable(Connection& target) {
  bool exists =
      target.Exec("SELECT pg_catalog.to_regclass('_freshet.sync_state') IS NOT NULL").GetBool(0, 0);
  if (exists && HasKeySums(target)) return;
  try {
    if (exists)
      target.Exec("ALTER TABLE _freshet.sync_state ADD COLUMN IF NOT EXISTS key_sums bytea");
    else
      target.Exec(sql::kSyncStateCreate);
  } catch (const Error& error) {
    throw Error(fmt::format("cannot {} freshet's incremental state (_freshet.sync_state) on "
                            "the target: the role needs {} ({})",
                            exists ? "upgrade" : "create",
                            exists ? "to own the table, which an older freshet created"
                                   : "CREATE on the database the first time",
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
  ReadKeySums(target, source, states);
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
                 update.full ? "true" : "false", run_id,
                 update.key_sums ? std::optional(ToByteaHex(*update.key_sums)) : std::nullopt});
}

}  // namespace freshet
