// A throwaway PostgreSQL server for `freshet migrate shadow`, so a shadow
// database needs no server of the user's: a fresh directory under $TMPDIR (or
// /tmp) named freshet-shadow-XXXXXX, initdb'd (superuser `postgres`, trust
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
// keeping) and removes the directory. A process killed outright (SIGKILL)
// leaves both behind; Ctrl-C in a terminal also stops the server, which is
// in the same process group. Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace freshet {

class LocalCluster {
 public:
  // Creates and starts the cluster. Throws Error (kRuntime) naming what
  // failed, with the tail of the setup and server logs.
  LocalCluster();
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
  void Initialize();
  void Start();
  // "<what> (exit N)\n--- setup log ---\n...\n--- server log ---\n..."
  std::string Failure(const std::string& what, int status) const;
  void Teardown() noexcept;

  std::string bin_dir_;
  std::string dir_;
  int port_ = 0;
  std::optional<uid_t> owner_uid_;  // set when running as root
  gid_t owner_gid_ = 0;
  pid_t creator_pid_ = -1;
};

}  // namespace freshet
