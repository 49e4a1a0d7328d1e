// A throwaway PostgreSQL server: for `freshet migrate shadow`, so a shadow
// database needs no server of the user's, and for the integration tests'
// fixture (tests/support/pg_cluster.h), the one implementation of both. A
// fresh directory under $TMPDIR (or /tmp) named freshet-<purpose>-XXXXXX,
// initdb'd (superuser `postgres`, trust
// auth, UTF8, C locale, no sync), started on a free 127.0.0.1 port with its
// Unix socket in that directory and durability off (fsync, synchronous_commit,
// full_page_writes). PostgreSQL refuses to run as root, so when freshet runs
// as root, initdb and pg_ctl run as the OS user `postgres`, which is given the
// directory (it must be able to reach it: /tmp is fine).
//
// Programs come from $FRESHET_PG_BIN, else `pg_config --bindir`, else
// /usr/lib/postgresql/15/bin (the first of these that has initdb).
//
// The destructor stops the server (immediate mode: nothing in it is worth
// keeping) and removes the directory. A watchdog process (its own session,
// so Ctrl-C does not reach it) does the same when this process dies without
// running the destructor (SIGKILL, a crash). Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace freshet {

struct LocalClusterOptions {
  std::string purpose = "shadow";  // names the directory and the errors
  std::string bin_dir;             // empty: FindBinDir()
  // postgresql.conf lines applied after freshet's own ("max_connections = 100").
  std::vector<std::string> settings;
  // Leave the directory (the server stopped) for inspection.
  bool keep = false;
  // Appended to setup errors: the way around a local server.
  std::string hint = "(or pass --shadow-url with an empty database instead of a local server)";
};

// A TCP port on 127.0.0.1 nobody listens on at the moment of the call (the
// kernel's pick for a socket bound to port 0). Throws Error when none is free.
int FreeLoopbackPort();

class LocalCluster {
 public:
  // Creates and starts the cluster. Throws Error (kRuntime) naming what
  // failed, with the tail of the setup and server logs.
  LocalCluster() : LocalCluster(LocalClusterOptions{}) {}
  explicit LocalCluster(LocalClusterOptions options);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/DB (trust auth: no password).
  std::string Url(const std::string& db = "postgres") const;
  // CREATE DATABASE `name`. Throws Error.
  void CreateDatabase(const std::string& name);

  const std::string& dir() const { return dir_; }
  int port() const { return port_; }
  const std::string& bin_dir() const { return bin_dir_; }

  // The directory with initdb, pg_ctl and postgres, found as described
  // above. Throws Error (kRuntime) when none has them.
  static std::string FindBinDir();

 private:
  std::string DataDir() const { return dir_ + "/data"; }
  std::string ServerLog() const { return dir_ + "/server.log"; }
  std::string SetupLog() const { return dir_ + "/setup.log"; }
  // Runs a PostgreSQL program as the cluster's owner, output appended to the
  // setup log; returns its exit status (128 + signal when killed).
  int Run(const std::vector<std::string>& argv) const;
  // Starts argv as the cluster's owner, stdin from `stdin_fd`, output to the
  // setup log, optionally in a session of its own; returns its pid.
  pid_t Spawn(const std::vector<std::string>& argv, int stdin_fd, bool new_session) const;
  void StartWatchdog();
  void Initialize();
  void Start();
  // "<what> (exit N)\n--- setup log ---\n...\n--- server log ---\n..."
  std::string Failure(const std::string& what, int status) const;
  void Teardown() noexcept;

  LocalClusterOptions options_;
  std::string bin_dir_;
  std::string dir_;
  pid_t watchdog_pid_ = -1;
  int watchdog_fd_ = -1;  // closing it without "done" makes the watchdog clean up
  int port_ = 0;
  std::optional<uid_t> owner_uid_;  // set when running as root
  gid_t owner_gid_ = 0;
  pid_t creator_pid_ = -1;
};

}  // namespace freshet
