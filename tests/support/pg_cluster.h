// Test support for freshet's integration tests: throwaway PostgreSQL servers
// and child-process runners.
//
// PgCluster runs a private PostgreSQL server through LocalCluster
// (apply/local_cluster.h, the same code `freshet migrate shadow` uses;
// binaries from $FRESHET_PG_BIN, default /usr/lib/postgresql/15/bin) in a
// fresh $TMPDIR/freshet-pg-XXXXXX
// directory: superuser `postgres`, trust auth for local and 127.0.0.1, TCP on
// 127.0.0.1 at a free port, Unix socket inside the directory, durability off
// (fsync, synchronous_commit, full_page_writes), server log in the directory.
// PostgreSQL refuses to run as root, so when the test runs as root initdb and
// pg_ctl run as the OS user `postgres`, which is given the directory.
// Destroying a PgCluster stops the server (immediate mode) and removes the
// directory, unless FRESHET_KEEP_CLUSTERS=1. A watchdog process does the same
// if the test process dies without running destructors (crash, SIGKILL).
//
// SharedClusters gives each test binary two clusters, started on first use and
// stopped at exit; tests create uniquely named databases in them, so tests
// never see each other's data even when a binary runs many tests.
//
// Thread-safety: a PgCluster's methods may be called from several threads
// (each call runs its own psql). RunCommand and BackgroundProcess are safe to
// use from any thread; children never inherit other children's descriptors.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apply/local_cluster.h"

namespace freshet::testing {

// Variables added to (or replacing in) the child's inherited environment.
using Environment = std::map<std::string, std::string>;

struct RunResult {
  int exit_code = -1;  // exit status; 128 + signal number if killed by a signal
  int signal = 0;      // the terminating signal, 0 when the child exited
  std::string out;     // everything the child wrote to stdout
  std::string err;     // everything the child wrote to stderr
};

// Runs argv[0] (searched in PATH, the child's if `env` sets one) with `input`
// on its stdin (/dev/null when empty), waits for it and returns its exit
// status and output. Output goes to memory files, so a chatty child or a
// grandchild that keeps stdout open can neither block nor hang the call.
// Throws std::runtime_error if the program cannot be executed.
RunResult RunCommand(const std::vector<std::string>& argv, const Environment& env = {},
                     std::string_view input = {});

// A child started in the background, for tests that signal or kill a process
// mid-flight. stdin is /dev/null; stdout and stderr are captured in memory
// files readable while it runs. Move-only. If it is still running when the
// object is destroyed, it is killed (SIGKILL) and reaped.
class BackgroundProcess {
 public:
  // Starts argv like RunCommand does, without waiting. Throws
  // std::runtime_error if the program cannot be executed.
  static BackgroundProcess Start(const std::vector<std::string>& argv, const Environment& env = {});

  BackgroundProcess(BackgroundProcess&& other) noexcept;
  BackgroundProcess& operator=(BackgroundProcess&& other) noexcept;
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  ~BackgroundProcess();

  pid_t pid() const { return pid_; }
  // Sends `signal` to the child if it has not been reaped yet.
  void Signal(int signal);
  // Waits for the child to exit and returns its status and full output.
  RunResult Wait();
  // Like Wait, but gives up after `timeout` and returns nullopt.
  std::optional<RunResult> WaitFor(std::chrono::milliseconds timeout);
  // What the child has written so far.
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  BackgroundProcess() = default;
  RunResult Finish(int status);
  void Close();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
};

// Equivalent to BackgroundProcess::Start.
BackgroundProcess StartCommand(const std::vector<std::string>& argv, const Environment& env = {});

class PgCluster {
 public:
  // Starts a new cluster; `extra_settings` are postgresql.conf lines
  // ("wal_level = logical") applied after the fixture's own. Throws
  // std::runtime_error with the tail of the server log if it cannot start.
  explicit PgCluster(std::vector<std::string> extra_settings = {});
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // libpq URL: postgresql://user@127.0.0.1:PORT/db (no password: trust auth).
  std::string Url(const std::string& db = "postgres", const std::string& user = "postgres") const;
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/server.log"; }
  const std::string& bin_dir() const { return bin_dir_; }

  void CreateDatabase(const std::string& name);
  // Drops `name` if it exists, disconnecting its sessions.
  void DropDatabase(const std::string& name);
  // Creates a database named after the running test (plus a counter and
  // `hint`), unique in this process, and returns its name.
  std::string CreateUniqueDatabase(std::string_view hint = {});

  // Runs `sql` (any number of statements, psql meta-commands allowed) with
  // psql -X -q -A -t -v ON_ERROR_STOP=1 and returns stdout without leading and
  // trailing whitespace. Throws std::runtime_error with psql's stderr.
  std::string Psql(const std::string& db, const std::string& sql) const;
  // Runs the SQL file at `path` with psql -f; throws like Psql.
  void RunScript(const std::string& db, const std::string& path) const;

  // The last `lines` lines of the server log, for failure messages.
  std::string LogTail(int lines = 40) const;

 private:
  std::unique_ptr<LocalCluster> cluster_;  // the server itself (apply/local_cluster.h)
  std::string bin_dir_;
  std::string dir_;
  int port_ = 0;
};

// Two clusters per test binary, started on first use (thread-safe) and
// stopped when the binary exits. Tests create their own databases in them.
class SharedClusters {
 public:
  static PgCluster& Source();
  static PgCluster& Target();
};

// The reference workload: $FRESHET_WORKLOAD if set, else
// FRESHET_SOURCE_DIR/../shared/workload; always an absolute path.
std::string WorkloadDir();

// Runs <workload>/load.sh PROD_URL DEV_URL SCALE with the PostgreSQL bin
// directory first in PATH. Both databases must exist and be empty. Throws
// std::runtime_error with the script's stderr on failure.
void LoadWorkload(const PgCluster& prod, const std::string& prod_db, const PgCluster& dev,
                  const std::string& dev_db, double scale);

// The built `freshet` executable: $FRESHET_BINARY_PATH if set, else the path
// CMake compiled in.
std::string FreshetBinary();

}  // namespace freshet::testing
