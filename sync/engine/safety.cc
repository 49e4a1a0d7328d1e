#include "sync/engine/safety.h"

#include <fmt/format.h>

namespace freshet {

ServerIdentity IdentifyServer(Connection& connection) {
  ServerIdentity identity;
  Result basics = connection.Exec(
      "SELECT current_database(), pg_catalog.pg_backend_pid(), "
      "(SELECT backend_start::text FROM pg_catalog.pg_stat_activity "
      "WHERE pid = pg_catalog.pg_backend_pid()), "
      "pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')");
  identity.database = basics.Get(0, 0);
  identity.backend_pid = static_cast<int>(basics.GetInt(0, 1));
  identity.backend_start = basics.IsNull(0, 2) ? "" : basics.Get(0, 2);
  if (basics.GetBool(0, 3)) {
    Result control =
        connection.Exec("SELECT system_identifier::text FROM pg_catalog.pg_control_system()");
    identity.system_identifier = std::stoull(control.Get(0, 0));
  }
  return identity;
}

std::string RunningServerKey(Connection& connection) {
  return connection
      .Exec(
          "SELECT pg_catalog.pg_postmaster_start_time()::text || ' port ' || "
          "pg_catalog.current_setting('port')")
      .Get(0, 0);
}

bool SameDatabase(const ServerIdentity& source, const ServerIdentity& target,
                  Connection& target_connection) {
  if (source.database != target.database) return false;
  if (source.system_identifier && target.system_identifier)
    return source.system_identifier == target.system_identifier;
  // Without the system identifier: the source's own session is visible from
  // the target only when both are the same server.
  Result seen = target_connection.Exec(
      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity "
      "WHERE pid = $1::int AND backend_start::text = $2)",
      {std::to_string(source.backend_pid), source.backend_start});
  return seen.GetBool(0, 0);
}

void CheckTargetAllowed(const ConnInfo& target, const SafetyOptions& options) {
  if (options.protected_target)
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to write to target '{}' ({}): the config marks it "
                            "protected = true",
                            options.target_name, target.Describe()));
  if (!target.IsLocal() && !options.allow_remote_target && !options.allow_writes)
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to write to {}: it is not on this machine. Pass "
                            "--allow-remote-target, or set allow_writes = true for this target "
                            "in freshet.toml, if it really is a database freshet may overwrite",
                            target.Describe()));
}

}  // namespace freshet
