// The rules that stop freshet from writing where it must not: into the source
// itself, into a target the config marks protected, or into a database on
// another machine unless that was asked for explicitly.
#pragma once

#include <cstdint>
#include <string>

#include "copy/connection.h"
#include "copy/conninfo.h"

namespace freshet {

struct SafetyOptions {
  bool allow_remote_target = false;  // --allow-remote-target
  bool allow_writes = false;         // allow_writes = true on the config target
  bool protected_target = false;     // protected = true on the config target
  bool masked_target = false;        // masked = true on the config target: never unmasked data
  std::string target_name;           // for messages: config name or "command line"
};

// How a server identifies itself, to tell whether two connections reach the
// same database.
struct ServerIdentity {
  uint64_t system_identifier = 0;  // 0 when the role may not read pg_control_system()
  std::string database;
  int backend_pid = 0;
  std::string backend_start;  // with backend_pid, unique on its server
};

ServerIdentity IdentifyServer(Connection& connection);

// Equal for two connections exactly when they reach the same running server,
// whatever URL reaches it (host names, socket directories, a pooler in front):
// the postmaster's start time and port, which any role may read.
std::string RunningServerKey(Connection& connection);

// True when `target` can see the source's backend among its own sessions (or
// the system identifiers match) and the database names match.
bool SameDatabase(const ServerIdentity& source, const ServerIdentity& target,
                  Connection& target_connection);

// Throws Error(kRefused) naming the rule and the way out. `target` describes the
// endpoint without its password.
void CheckTargetAllowed(const ConnInfo& target, const SafetyOptions& options);

}  // namespace freshet
