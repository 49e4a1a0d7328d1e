// The test fixture itself: PgCluster starts a usable, private PostgreSQL
// server and cleans up after itself, and the child-process helpers capture
// what freshet's end-to-end tests rely on.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "tests/support/pg_cluster.h"

namespace freshet::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::ThrowsMessage;

TEST(PgClusterTest, RunsSqlInACreatedDatabase) {
  PgCluster& cluster = SharedClusters::Source();
  std::string db = cluster.CreateUniqueDatabase();
  cluster.Psql(db,
               "CREATE TABLE numbers (n int); INSERT INTO numbers SELECT generate_series(1, 10);");
  EXPECT_EQ(cluster.Psql(db, "SELECT sum(n) FROM numbers"), "55");
  EXPECT_EQ(cluster.Psql(db, "SELECT current_database()"), db);
}

TEST(PgClusterTest, ListensOnLoopbackWithTheFixtureSettings) {
  PgCluster& cluster = SharedClusters::Source();
  EXPECT_GT(cluster.port(), 0);
  EXPECT_EQ(cluster.Url("app", "alice"),
            "postgresql://alice@127.0.0.1:" + std::to_string(cluster.port()) + "/app");
  std::string settings = cluster.Psql(
      "postgres",
      "SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings WHERE name IN "
      "('listen_addresses', 'fsync', 'synchronous_commit', 'full_page_writes', "
      "'max_connections', 'server_encoding')");
  EXPECT_EQ(settings,
            "fsync=off,full_page_writes=off,listen_addresses=127.0.0.1,max_connections=100,"
            "server_encoding=UTF8,synchronous_commit=off");
  EXPECT_EQ(cluster.Psql("postgres",
                         "SELECT current_user || ' ' || usesuper FROM pg_user "
                         "WHERE usename = current_user"),
            "postgres true");
  EXPECT_EQ(cluster.Psql("postgres", "SHOW unix_socket_directories"), cluster.dir());
  EXPECT_TRUE(std::filesystem::exists(cluster.log_path()));
}

TEST(PgClusterTest, SharedClustersAreTwoDistinctServers) {
  EXPECT_NE(SharedClusters::Source().port(), SharedClusters::Target().port());
  EXPECT_EQ(&SharedClusters::Source(), &SharedClusters::Source());
  EXPECT_EQ(SharedClusters::Target().Psql("postgres", "SELECT 1"), "1");
}

TEST(PgClusterTest, PsqlErrorCarriesTheServerMessage) {
  PgCluster& cluster = SharedClusters::Source();
  std::string db = cluster.CreateUniqueDatabase();
  EXPECT_THAT(
      [&] { cluster.Psql(db, "SELECT * FROM no_such_table"); },
      ThrowsMessage<std::runtime_error>(HasSubstr("relation \"no_such_table\" does not exist")));
  // ON_ERROR_STOP: nothing after the failing statement runs.
  EXPECT_ANY_THROW(cluster.Psql(db, "CREATE TABLE a (x int); SELECT 1/0; CREATE TABLE b (x int);"));
  EXPECT_EQ(cluster.Psql(db,
                         "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class "
                         "WHERE relname IN ('a', 'b')"),
            "a");
}

TEST(PgClusterTest, RunScriptAppliesAFile) {
  PgCluster& cluster = SharedClusters::Source();
  std::string db = cluster.CreateUniqueDatabase();
  std::string path = cluster.dir() + "/script_" + db + ".sql";
  {
    std::ofstream script(path);
    script << "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1), (2);\n";
  }
  cluster.RunScript(db, path);
  std::filesystem::remove(path);
  EXPECT_EQ(cluster.Psql(db, "SELECT count(*) FROM t"), "2");
}

TEST(PgClusterTest, UrlWorksWithLibpq) {
  PgCluster& cluster = SharedClusters::Target();
  std::string db = cluster.CreateUniqueDatabase();
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(cluster.Url(db).c_str()),
                                                    &PQfinish);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), "SELECT 1"), &PQclear);
  ASSERT_EQ(PQresultStatus(result.get()), PGRES_TUPLES_OK) << PQerrorMessage(conn.get());
  EXPECT_STREQ(PQgetvalue(result.get(), 0, 0), "1");
  EXPECT_STREQ(PQdb(conn.get()), db.c_str());
}

TEST(PgClusterTest, DestructorStopsTheServerAndRemovesItsDirectory) {
  std::string dir, url;
  {
    PgCluster cluster({"work_mem = '8MB'"});
    dir = cluster.dir();
    url = cluster.Url();
    EXPECT_EQ(cluster.Psql("postgres", "SHOW work_mem"), "8MB");
    EXPECT_TRUE(std::filesystem::is_directory(dir));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  PGconn* conn = PQconnectdb((url + "?connect_timeout=5").c_str());
  EXPECT_NE(PQstatus(conn), CONNECTION_OK);
  PQfinish(conn);
}

TEST(PgClusterTest, StartFailureReportsTheServerLog) {
  EXPECT_THAT([] { PgCluster cluster({"shared_buffers = 'plenty'"}); },
              ThrowsMessage<std::runtime_error>(
                  AllOf(HasSubstr("cannot start the local pg server"),
                        HasSubstr("server log (tail)"), HasSubstr("FRESHET_KEEP_CLUSTERS=1"),
                        HasSubstr("invalid value for parameter \"shared_buffers\""))));
}

// Blocks until the directory watched on `inotify` (for IN_DELETE_SELF) is
// removed; false if that has not happened within `bound`, which turns a hang
// into a failure and is never reached when the directory goes.
bool WaitUntilRemoved(int inotify, std::chrono::seconds bound) {
  pollfd ready{inotify, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int polled = poll(&ready, 1, static_cast<int>(left.count()));
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) return false;
    alignas(inotify_event) char buffer[4096];
    ssize_t n = read(inotify, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      if (event->mask & (IN_DELETE_SELF | IN_IGNORED)) return true;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
}

// The watchdog stops the server and removes the directory when the test
// process dies without running destructors.
TEST(PgClusterTest, KilledTestProcessLeavesNoClusterBehind) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(report[0]);
    try {
      auto* cluster = new PgCluster();  // never destroyed: the process is killed
      std::string line = cluster->dir() + "\n" + cluster->Url() + "\n";
      (void)!write(report[1], line.data(), line.size());
    } catch (...) {
      _exit(1);
    }
    for (;;) pause();
  }
  close(report[1]);
  std::string text;
  char buffer[512];
  ssize_t n;
  while ((n = read(report[0], buffer, sizeof buffer)) > 0) {
    text.append(buffer, n);
    if (std::count(text.begin(), text.end(), '\n') == 2) break;
  }
  close(report[0]);
  bool reported = std::count(text.begin(), text.end(), '\n') == 2;
  std::string dir = reported ? text.substr(0, text.find('\n')) : "";
  std::string url = reported ? text.substr(dir.size() + 1, text.size() - dir.size() - 2) : "";
  // Watched while the child lives, so the removal cannot come first.
  int inotify = inotify_init1(IN_CLOEXEC);
  bool watched =
      reported && inotify >= 0 && inotify_add_watch(inotify, dir.c_str(), IN_DELETE_SELF) >= 0;
  std::string watch_error = watched ? "" : std::strerror(errno);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  if (!watched && inotify >= 0) close(inotify);
  ASSERT_TRUE(reported) << "child failed to start a cluster";
  ASSERT_THAT(dir, StartsWith("/tmp/freshet-pg-"));
  ASSERT_TRUE(watched) << "cannot watch " << dir << ": " << watch_error;

  // The watchdog's pg_ctl stop may itself take up to 60 s.
  bool removed = WaitUntilRemoved(inotify, std::chrono::seconds(120));
  close(inotify);
  EXPECT_TRUE(removed) << dir << " was never removed";
  EXPECT_FALSE(std::filesystem::exists(dir));
  PGconn* conn = PQconnectdb((url + "?connect_timeout=5").c_str());
  EXPECT_NE(PQstatus(conn), CONNECTION_OK);
  PQfinish(conn);
}

TEST(PgClusterTest, LoadWorkloadBuildsProdAndDev) {
  PgCluster& prod = SharedClusters::Source();
  PgCluster& dev = SharedClusters::Target();
  std::string prod_db = prod.CreateUniqueDatabase("prod");
  std::string dev_db = dev.CreateUniqueDatabase("dev");
  LoadWorkload(prod, prod_db, dev, dev_db, 0.001);
  EXPECT_EQ(prod.Psql(prod_db, "SELECT to_regclass('public.feature_flags') IS NULL"), "t");
  EXPECT_EQ(dev.Psql(dev_db, "SELECT to_regclass('public.feature_flags') IS NULL"), "f");
  EXPECT_EQ(prod.Psql(prod_db, "SELECT count(*) > 0 FROM public.companies"), "t");
}

TEST(PgClusterTest, WorkloadDirIsAbsoluteAndHoldsLoadScript) {
  std::string dir = WorkloadDir();
  EXPECT_TRUE(std::filesystem::path(dir).is_absolute());
  EXPECT_TRUE(std::filesystem::exists(dir + "/load.sh")) << dir;
}

TEST(PgClusterTest, FreshetBinaryIsBuilt) {
  EXPECT_EQ(access(FreshetBinary().c_str(), X_OK), 0) << FreshetBinary();
}

TEST(RunCommandTest, CapturesExitCodeAndBothStreams) {
  RunResult result = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.signal, 0);
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
}

TEST(RunCommandTest, LargeOutputOnBothStreamsDoesNotDeadlock) {
  RunResult result =
      RunCommand({"sh", "-c", "head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out.size(), 3000000u);
  EXPECT_EQ(result.err.size(), 3000000u);
}

TEST(RunCommandTest, PassesEnvironmentAndInput) {
  RunResult result =
      RunCommand({"sh", "-c", "echo \"$GREETING\"; cat"}, {{"GREETING", "hello"}}, "from stdin\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "hello\nfrom stdin\n");
}

TEST(RunCommandTest, MissingProgramThrows) {
  EXPECT_THAT([] { RunCommand({"/nonexistent/freshet-nothing"}); },
              ThrowsMessage<std::runtime_error>(HasSubstr("freshet-nothing")));
}

TEST(BackgroundProcessTest, CanBeSignalledAndWaitedFor) {
  // The child cannot end on its own, only by the signal; once its output is
  // written it says so through a FIFO the test reads.
  std::string fifo =
      (std::filesystem::temp_directory_path() / ("freshet-ready-" + std::to_string(getpid())))
          .string();
  std::filesystem::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  BackgroundProcess process = StartCommand(
      {"sh", "-c", "echo started; echo ready > \"$1\"; exec sleep infinity", "sh", fifo});
  EXPECT_GT(process.pid(), 0);
  // Open without waiting for the writer, then wait for its line (bounded:
  // a child that never writes fails the test instead of hanging it).
  int ready = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  pollfd readable{ready, POLLIN, 0};
  bool said_ready = ready >= 0 && poll(&readable, 1, 10'000) == 1;
  if (ready >= 0) close(ready);
  std::filesystem::remove(fifo);
  ASSERT_TRUE(said_ready) << process.Stderr();
  ASSERT_EQ(process.Stdout(), "started\n");
  // Running, and it cannot end by itself: the wait gives up.
  EXPECT_FALSE(process.WaitFor(std::chrono::milliseconds(50)).has_value());
  process.Signal(SIGTERM);
  std::optional<RunResult> result = process.WaitFor(std::chrono::seconds(10));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->signal, SIGTERM);
  EXPECT_EQ(result->exit_code, 128 + SIGTERM);
  EXPECT_EQ(result->out, "started\n");
}

}  // namespace
}  // namespace freshet::testing
