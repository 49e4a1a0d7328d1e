// freshet behind connection poolers: PgBouncer in session mode (what
// Supavisor's port 5432 is) carries a whole sync; in transaction mode (what
// Supavisor's port 6543 is) every command that needs a session is refused
// before it reads or writes anything, with a message that says what to use.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "apply/local_cluster.h"
#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A PgBouncer (Debian's /usr/sbin/pgbouncer) in front of `server`, in the
// foreground as the `postgres` OS user when the test runs as root. Ready
// when the constructor returns: it waits until psql gets an answer through it.
class PgBouncer {
 public:
  PgBouncer(const PgCluster& server, const std::string& pool_mode, int pool_size = 20)
      : server_(server) {
    dir_ = server.dir() + "/pgbouncer-" + pool_mode + "-" + std::to_string(pool_size);
    std::filesystem::create_directories(dir_);
    port_ = FreeLoopbackPort();
    std::ofstream(dir_ + "/users.txt") << "\"postgres\" \"\"\n";
    std::ofstream(dir_ + "/pgbouncer.ini")
        << "[databases]\n* = host=127.0.0.1 port=" << server.port() << "\n"
        << "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << port_ << "\n"
        << "unix_socket_dir =\nauth_type = trust\nauth_file = " << dir_ << "/users.txt\n"
        << "pool_mode = " << pool_mode
        << "\nmax_client_conn = 200\ndefault_pool_size = " << pool_size << "\n"
        << "ignore_startup_parameters = extra_float_digits,options\n";
    std::vector<std::string> argv = {"/usr/sbin/pgbouncer", dir_ + "/pgbouncer.ini"};
    if (geteuid() == 0) {
      RunCommand({"chown", "-R", "postgres:", dir_});
      argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    }
    process_.emplace(BackgroundProcess::Start(argv));
    WaitUntilReady();
  }

  std::string Url(const std::string& db) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

 private:
  void WaitUntilReady() {
    // A readiness probe, not a time window: psql through the pooler until it
    // answers, or the pooler has exited (then its output says why).
    for (;;) {
      RunResult probe = RunCommand({server_.bin_dir() + "/psql", Url("postgres"), "-XAtqc",
                                    "SELECT 1", "-v", "ON_ERROR_STOP=1"});
      if (probe.exit_code == 0) return;
      if (auto ended = process_->WaitFor(std::chrono::milliseconds(50)))
        throw std::runtime_error("pgbouncer exited: " + ended->err + process_->Stderr());
    }
  }

  const PgCluster& server_;
  std::string dir_;
  int port_ = 0;
  std::optional<BackgroundProcess> process_;
};

class Pooler : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    const char* schema =
        "CREATE TABLE public.accounts (id int PRIMARY KEY, name text NOT NULL); "
        "CREATE TABLE public.events (id bigint PRIMARY KEY, account int REFERENCES "
        "public.accounts, at timestamptz NOT NULL, payload jsonb); ";
    prod_.Psql(prod_db_, std::string(schema) +
                             "INSERT INTO public.accounts SELECT g, 'account ' || g FROM "
                             "generate_series(1, 300) g; "
                             "INSERT INTO public.events SELECT g, 1 + g % 300, "
                             "'2026-01-01'::timestamptz + g * interval '1 minute', "
                             "jsonb_build_object('n', g) FROM generate_series(1, 5000) g");
    dev_.Psql(dev_db_, std::string(schema) + "INSERT INTO public.accounts VALUES (1, 'stale')");
  }
  std::string Digest(const PgCluster& cluster, const std::string& db) const {
    return cluster.Psql(
        db,
        "SELECT md5(string_agg(a::text, ',' ORDER BY a.id)) FROM public.accounts "
        "a; SELECT md5(string_agg(e::text, ',' ORDER BY e.id)) FROM public.events e");
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
};

TEST_F(Pooler, SessionModeCarriesAWholeSyncAndVerify) {
  PgBouncer prod_pool(prod_, "session");
  PgBouncer dev_pool(dev_, "session");
  RunResult run = Freshet(
      {"sync", "--from", prod_pool.Url(prod_db_), "--to", dev_pool.Url(dev_db_), "--verify"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Digest(dev_, dev_db_), Digest(prod_, prod_db_));
}

TEST_F(Pooler, TransactionModeTargetIsRefusedBeforeItIsTouched) {
  PgBouncer dev_pool(dev_, "transaction");
  std::string before = Digest(dev_, dev_db_);
  for (const char* command : {"sync", "plan"}) {
    RunResult run =
        Freshet({command, "--from", prod_.Url(prod_db_), "--to", dev_pool.Url(dev_db_)});
    EXPECT_EQ(run.exit_code, 2) << command << ": " << run.err;
    EXPECT_THAT(run.err, HasSubstr("target postgres@127.0.0.1:"));
    EXPECT_THAT(run.err, HasSubstr("is a connection pooler in transaction mode"));
    EXPECT_THAT(run.err, HasSubstr("session mode (Supavisor: port 5432"));
  }
  EXPECT_EQ(Digest(dev_, dev_db_), before);
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT count(*) FROM pg_namespace WHERE nspname = '_freshet'"),
            "0");
}

TEST_F(Pooler, TransactionModeSourceIsRefused) {
  PgBouncer prod_pool(prod_, "transaction");
  std::string before = Digest(dev_, dev_db_);
  RunResult run = Freshet({"sync", "--from", prod_pool.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("source postgres@127.0.0.1:"));
  EXPECT_THAT(run.err, HasSubstr("connection pooler in transaction mode"));
  EXPECT_EQ(Digest(dev_, dev_db_), before);
}

TEST_F(Pooler, TransactionModeIsRefusedForMigrations) {
  PgBouncer dev_pool(dev_, "transaction");
  std::string dir = dev_.dir() + "/pooler-migrations-" + dev_db_;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/20260101000000_add_notes.sql") << "CREATE TABLE public.notes (id int);\n";
  RunResult run = Freshet({"migrate", "up", "--dir", dir, "--db-url", dev_pool.Url(dev_db_)});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("connection pooler in transaction mode"));
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT count(*) FROM pg_class WHERE relname = 'notes'"), "0");
}

// With one server session in the pool, the probe's open transaction holds it:
// the first connection's next statement waits, which proves transaction mode.
TEST_F(Pooler, TransactionModeWithAPoolOfOneIsRefused) {
  PgBouncer dev_pool(dev_, "transaction", 1);
  RunResult run = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_pool.Url(dev_db_)});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("is a connection pooler in transaction mode"));
}

// A session pooler with one session: the probe's second connection never gets
// one while the first holds it. That is session pooling, and one-session
// commands such as `migrate status` work.
TEST_F(Pooler, SessionModeWithAPoolOfOnePassesForOneSessionCommands) {
  PgBouncer dev_pool(dev_, "session", 1);
  std::string dir = dev_.dir() + "/pooler-status-" + dev_db_;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/20260101000000_add_notes.sql") << "CREATE TABLE public.notes (id int);\n";
  RunResult status =
      Freshet({"migrate", "status", "--dir", dir, "--db-url", dev_pool.Url(dev_db_)});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("20260101000000"));
  EXPECT_THAT(status.out, HasSubstr("pending"));
}

TEST_F(Pooler, SupabaseTransactionPortIsRefusedWithoutConnectingOrShowingThePassword) {
  RunResult run = Freshet(
      {"plan", "--from",
       "postgresql://postgres.abcdefgh:S3cretPw@aws-0-eu-central-1.pooler.supabase.com:6543/"
       "postgres",
       "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("Supabase's transaction-mode port 6543"));
  EXPECT_THAT(run.err, Not(HasSubstr("S3cretPw")));
  EXPECT_THAT(run.err, Not(HasSubstr("could not translate host name")));
}

}  // namespace
}  // namespace freshet::testing
