// The migration applier (apply/applier.h) against a real server: history the
// Supabase CLI can read, atomic files, failures that name file, statement and
// line, the refusals, repair, no-transaction files, timeouts, dry runs and two
// appliers racing. Each test uses its own database and migrations directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>

#include "apply/applier.h"
#include "apply/history.h"
#include "apply/migration_set.h"
#include "apply/sql_statements.h"
#include "copy/connection.h"
#include "copy/error.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/thrown.h"

namespace freshet::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = cluster().CreateUniqueDatabase();
    std::string templ = (std::filesystem::temp_directory_path() / "freshet-migrate-XXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static PgCluster& cluster() { return SharedClusters::Target(); }
  std::string Sql(const std::string& sql) const { return cluster().Psql(db_, sql); }

  void Write(const std::string& filename, const std::string& content) const {
    std::ofstream(dir_ + "/" + filename, std::ios::binary) << content;
  }

  MigrateOptions Options() const {
    MigrateOptions options;
    options.db_url = cluster().Url(db_);
    options.dir = dir_;
    return options;
  }

  UpResult Up(const MigrateOptions& options, std::string* log = nullptr) const {
    std::ostringstream out;
    try {
      UpResult result = MigrateUp(options, out);
      if (log) *log = out.str();
      return result;
    } catch (const Error&) {
      if (log) *log = out.str();
      throw;
    }
  }
  UpResult Up() const { return Up(Options()); }

  // "version:state" of every row of MigrationStatus.
  std::vector<std::string> States() const {
    std::vector<std::string> out;
    for (const VersionStatus& row : MigrationStatus(Options()))
      out.push_back(row.version + ":" + StateName(row.state));
    return out;
  }

  std::string HistoryVersions() const {
    return Sql(
        "SELECT coalesce(string_agg(version, ',' ORDER BY version), '') "
        "FROM supabase_migrations.schema_migrations");
  }
  bool TableExists(const std::string& name) const {
    return Sql("SELECT to_regclass('" + name + "') IS NOT NULL") == "t";
  }

  std::string db_;
  std::string dir_;
};

TEST_F(MigrateTest, WorkloadMigrationsApplyWithTheSupabaseCliHistory) {
  MigrateOptions options = Options();
  options.dir = WorkloadDir() + "/migrations";
  std::string log;
  UpResult result = Up(options, &log);
  EXPECT_THAT(result.applied,
              ElementsAre("20250101000000_auth_stub.sql", "20250102000000_init_crm.sql",
                          "20250301120000_add_deal_forecast.sql",
                          "20261101090000_contacts_linkedin_and_flags.sql"));
  EXPECT_THAT(log, HasSubstr("applying 20250101000000_auth_stub.sql (2 statements)... done in "));
  EXPECT_TRUE(TableExists("public.deals"));

  std::vector<VersionStatus> status = MigrationStatus(options);
  ASSERT_EQ(status.size(), 4u);
  for (const VersionStatus& row : status) {
    EXPECT_EQ(row.state, MigrationState::kApplied) << row.version;
    EXPECT_TRUE(row.applied_at.has_value()) << row.version;
  }
  EXPECT_EQ(status[1].name, "init_crm");
  EXPECT_THAT(Up(options).applied, IsEmpty());

  // The table exactly as the CLI creates it, and rows as the CLI writes them.
  EXPECT_EQ(Sql("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE "
                "attrelid = 'supabase_migrations.schema_migrations'::regclass AND attnum > 0"),
            "version,statements,name");
  EXPECT_EQ(Sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                "conrelid = 'supabase_migrations.schema_migrations'::regclass"),
            "PRIMARY KEY (version)");
  MigrationSet set = LoadMigrations(options.dir);
  for (const MigrationFile& file : set.files) {
    size_t count = SplitStatements(file.content).statements.size();
    EXPECT_EQ(Sql("SELECT name || ' ' || array_length(statements, 1) FROM "
                  "supabase_migrations.schema_migrations WHERE version = '" +
                  file.version + "'"),
              file.name + " " + std::to_string(count));
    EXPECT_EQ(Sql("SELECT sha256 || ' ' || applied_by || ' ' || (duration_ms >= 0) FROM "
                  "_freshet.migration_log WHERE version = '" +
                  file.version + "'"),
              file.sha256 + " postgres true");
  }
  EXPECT_EQ(Sql("SELECT statements[1] FROM supabase_migrations.schema_migrations "
                "WHERE version = '20250301120000'"),
            "-- Forecast category per deal, added after launch.\n"
            "ALTER TABLE public.deals ADD COLUMN IF NOT EXISTS forecast_category text NOT NULL "
            "DEFAULT 'pipeline'");
  EXPECT_EQ(Sql("SELECT statements[2] FROM supabase_migrations.schema_migrations "
                "WHERE version = '20250301120000'"),
            "CREATE INDEX IF NOT EXISTS deals_forecast_idx ON public.deals (forecast_category)");
}

TEST_F(MigrateTest, StatementsKeepLeadingCommentsAndExtraCliColumnsAreTolerated) {
  // A newer CLI made the table, with columns freshet never writes.
  Sql("CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations "
      "(version text NOT NULL PRIMARY KEY, statements text[], name text, created_by text, "
      "idempotency_key text UNIQUE)");
  Write("20250101000000_quirks.sql",
        "-- header\ncreate table a (x text);\n\n/* block; with \"quotes\" */\n"
        "insert into a values ('semi;colon \\ back') ;;\n-- trailing\n");
  Up();
  EXPECT_EQ(Sql("SELECT array_length(statements, 1) FROM supabase_migrations.schema_migrations"),
            "2");
  EXPECT_EQ(Sql("SELECT statements[1] FROM supabase_migrations.schema_migrations"),
            "-- header\ncreate table a (x text)");
  EXPECT_EQ(Sql("SELECT statements[2] FROM supabase_migrations.schema_migrations"),
            "/* block; with \"quotes\" */\ninsert into a values ('semi;colon \\ back')");
  EXPECT_EQ(Sql("SELECT name FROM supabase_migrations.schema_migrations"), "quirks");
  EXPECT_EQ(Sql("SELECT x FROM a"), "semi;colon \\ back");
}

TEST_F(MigrateTest, FailingMigrationLeavesNoTraceAndNamesFileStatementAndLine) {
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\n");
  Write("20250102000000_two.sql",
        "-- the second file\nCREATE TABLE two (x int);\n\nINSERT INTO\n  missing_table VALUES "
        "(1);\n");
  Write("20250103000000_three.sql", "CREATE TABLE three (x int);\n");
  std::string log;
  std::optional<Error> error = Thrown([&] { Up(Options(), &log); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::kRuntime);
  EXPECT_EQ(error->sqlstate(), "42P01");
  EXPECT_THAT(error->what(), HasSubstr("20250102000000_two.sql: statement 2 (line 5, column 3)"));
  EXPECT_THAT(error->what(), HasSubstr("relation \"missing_table\" does not exist"));
  EXPECT_THAT(error->what(), HasSubstr("nothing of 20250102000000_two.sql was applied"));
  EXPECT_THAT(log, HasSubstr("applying 20250102000000_two.sql (2 statements)... failed"));
  EXPECT_TRUE(TableExists("one"));
  EXPECT_FALSE(TableExists("two"));
  EXPECT_FALSE(TableExists("three"));
  EXPECT_EQ(HistoryVersions(), "20250101000000");
  EXPECT_EQ(Sql("SELECT string_agg(version, ',') FROM _freshet.migration_log"), "20250101000000");
}

TEST_F(MigrateTest, CopyToStdoutIsDroppedAndCopyFromStdinFailsTheFileCleanly) {
  Write("20250101000000_out.sql",
        "CREATE TABLE out_t (x int);\n"
        "COPY (SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g) TO STDOUT;\n"
        "INSERT INTO out_t VALUES (7);\n");
  Write("20250102000000_in.sql", "CREATE TABLE in_t (x int);\nCOPY in_t FROM STDIN;\n");
  std::optional<Error> error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_THAT(error->what(), HasSubstr("20250102000000_in.sql: statement 2 (line 2)"));
  EXPECT_THAT(error->what(), HasSubstr("COPY FROM STDIN is not supported in migrations"));
  EXPECT_EQ(Sql("SELECT string_agg(x::text, ',') FROM out_t"), "7");
  EXPECT_FALSE(TableExists("in_t"));
  EXPECT_EQ(HistoryVersions(), "20250101000000");
  // The connection was left usable: a later run applies the fixed file.
  Write("20250102000000_in.sql", "CREATE TABLE in_t (x int);\n");
  ASSERT_FALSE(Thrown([&] { Up(Options()); }));
  EXPECT_TRUE(TableExists("in_t"));
}

// A stop (Ctrl-C of `migrate up`) reaches the statement under way: a file
// waiting on a lock is cancelled and rolled back, later files are not run,
// and the earlier ones stay applied.
TEST_F(MigrateTest, AStopCancelsTheStatementUnderWayAndRollsItsFileBack) {
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\n");
  Write("20250102000000_two.sql",
        "CREATE TABLE two (x int);\nSELECT pg_advisory_xact_lock(4242);\n");
  Write("20250103000000_three.sql", "CREATE TABLE three (x int);\n");
  Connection holder = Connection::Open(cluster().Url(db_), "holder");
  holder.Exec("SELECT pg_advisory_lock(4242)");
  std::stop_source stop;
  MigrateOptions options = Options();
  options.stop = stop.get_token();
  std::optional<Error> error;
  std::string log;
  std::thread applier([&] { error = Thrown([&] { Up(options, &log); }); });
  const std::string waiting =
      "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE "
      "d.datname = current_database() AND locktype = 'advisory' AND objid = 4242 AND NOT granted";
  // The event: the second file waits on the lock (pg_locks). The bound only
  // turns an applier that never gets there into a failure (after stopping it,
  // so the thread ends).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Sql(waiting) != "1" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string waiters = Sql(waiting);
  stop.request_stop();
  applier.join();  // returns only because the stop reached the waiting statement
  ASSERT_EQ(waiters, "1") << "the second file never waited on the lock";
  ASSERT_TRUE(error);
  EXPECT_THAT(error->what(), HasSubstr("20250102000000_two.sql: statement 2"));
  EXPECT_THAT(error->what(), HasSubstr("cancel"));
  EXPECT_TRUE(TableExists("one"));
  EXPECT_FALSE(TableExists("two"));
  EXPECT_FALSE(TableExists("three"));
  EXPECT_EQ(HistoryVersions(), "20250101000000");
  holder.Exec("SELECT pg_advisory_unlock(4242)");
}

TEST_F(MigrateTest, ConcurrentAppliersApplyEachFileOnce) {
  Write("20250101000000_first.sql", "CREATE TABLE runs (n int);\nSELECT pg_sleep(0.5);\n");
  Write("20250102000000_second.sql", "INSERT INTO runs VALUES (1);\n");
  Write("20250103000000_third.sql", "CREATE TABLE third (x int);\n");
  // Hold the applier lock so both appliers start waiting, then let them race.
  Connection holder = Connection::Open(cluster().Url(db_), "holder");
  std::ostringstream ignored;
  AcquireApplierLock(holder, ignored);
  UpResult results[2];
  std::string logs[2], errors[2];
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      try {
        results[i] = Up(Options(), &logs[i]);
      } catch (const Error& error) {
        errors[i] = error.what();
      }
    });
  // The event: both wait on the lock (pg_locks). The bound only turns an
  // applier that never gets there into a failure; the lock is released
  // either way so the threads end.
  const std::string waiting =
      "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE "
      "d.datname = current_database() AND locktype = 'advisory' AND NOT granted";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Sql(waiting) != "2" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string waiters = Sql(waiting);
  ReleaseApplierLock(holder);
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(waiters, "2") << "the appliers never both waited on the lock";

  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  for (const std::string& log : logs) EXPECT_THAT(log, HasSubstr("waiting for another applier"));
  EXPECT_EQ(results[0].applied.size() + results[1].applied.size(), 3u);
  EXPECT_TRUE(results[0].applied.empty() || results[1].applied.empty());
  EXPECT_EQ(HistoryVersions(), "20250101000000,20250102000000,20250103000000");
  EXPECT_EQ(Sql("SELECT count(*) FROM _freshet.migration_log"), "3");
  EXPECT_EQ(Sql("SELECT count(*) FROM runs"), "1");
}

TEST_F(MigrateTest, EditedAppliedFileIsRefusedButCliAppliedFilesAreNot) {
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\n");
  Up();
  Write("20250101000000_one.sql", "CREATE TABLE one (x bigint);\n");
  Write("20250102000000_two.sql", "CREATE TABLE two (x int);\n");
  std::optional<Error> error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::kRefused);
  EXPECT_THAT(error->what(), HasSubstr("20250101000000_one.sql was edited after it was applied"));
  EXPECT_THAT(error->what(), HasSubstr("the SQL changed; revert the edit and put the change in "
                                       "a new migration"));
  EXPECT_THAT(error->what(), HasSubstr("`freshet migrate repair --status applied 20250101000000`"));
  EXPECT_FALSE(TableExists("two"));
  EXPECT_THAT(States(), ElementsAre("20250101000000:modified", "20250102000000:pending"));

  // Only comments and whitespace: said so, and repair accepts the edit.
  Write("20250101000000_one.sql", "-- the first table\nCREATE TABLE one (\n  x int -- a key\n);\n");
  error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_THAT(error->what(), HasSubstr("only comments or whitespace changed, the SQL is what ran; "
                                       "accept the edit with `freshet migrate repair --status "
                                       "applied 20250101000000`"));
  MigrateRepair(Options(), {"20250101000000"}, true);
  EXPECT_THAT(Up().applied, ElementsAre("20250102000000_two.sql"));
  EXPECT_TRUE(TableExists("two"));
  Sql("DELETE FROM supabase_migrations.schema_migrations WHERE version = '20250102000000'");
  Sql("DELETE FROM _freshet.migration_log WHERE version = '20250102000000'");
  Sql("DROP TABLE two");
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\n");
  MigrateRepair(Options(), {"20250101000000"}, true);

  // Applied by the Supabase CLI (no freshet record): unverified, not modified.
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\n");
  Sql("INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES "
      "('20250102000000', 'two', '{}')");
  EXPECT_THAT(States(), ElementsAre("20250101000000:applied", "20250102000000:applied"));
  EXPECT_THAT(Up().applied, IsEmpty());
  EXPECT_FALSE(MigrationStatus(Options())[1].applied_at.has_value());
}

TEST_F(MigrateTest, OlderPendingFileIsRefusedUnlessIncludeAll) {
  Write("20250102000000_two.sql", "CREATE TABLE two (x int);\n");
  Up();
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\n");
  std::optional<Error> error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::kRefused);
  EXPECT_THAT(error->what(), HasSubstr("20250101000000_one.sql is older than the newest applied "
                                       "version 20250102000000; pass --include-all"));
  EXPECT_FALSE(TableExists("one"));
  MigrateOptions options = Options();
  options.include_all = true;
  EXPECT_THAT(Up(options).applied, ElementsAre("20250101000000_one.sql"));
  EXPECT_TRUE(TableExists("one"));
}

TEST_F(MigrateTest, VersionMissingLocallyIsRefusedUntilRepaired) {
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\n");
  Write("20250102000000_two.sql", "CREATE TABLE two (x int);\n");
  Up();
  std::filesystem::remove(dir_ + "/20250102000000_two.sql");
  Write("20250103000000_three.sql", "CREATE TABLE three (x int);\n");
  std::optional<Error> error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::kRefused);
  EXPECT_THAT(error->what(), HasSubstr("remote has versions not in the directory"));
  EXPECT_THAT(error->what(), HasSubstr("20250102000000; restore the files or run `freshet "
                                       "migrate repair --status reverted VERSION`"));
  EXPECT_FALSE(TableExists("three"));
  EXPECT_THAT(States(), ElementsAre("20250101000000:applied", "20250102000000:missing-locally",
                                    "20250103000000:pending"));
  MigrateRepair(Options(), {"20250102000000"}, /*applied=*/false);
  EXPECT_THAT(Up().applied, ElementsAre("20250103000000_three.sql"));
  EXPECT_THAT(States(), ElementsAre("20250101000000:applied", "20250103000000:applied"));
}

TEST_F(MigrateTest, RepairMarksAppliedWithoutRunningAndReverts) {
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\nCREATE TABLE one_b (x int);\n");
  MigrateRepair(Options(), {"20250101000000"}, /*applied=*/true);
  EXPECT_FALSE(TableExists("one"));
  EXPECT_EQ(Sql("SELECT name || ' ' || array_length(statements, 1) || ' ' || statements[2] "
                "FROM supabase_migrations.schema_migrations"),
            "one 2 CREATE TABLE one_b (x int)");
  EXPECT_EQ(Sql("SELECT (sha256 = '" +
                Sha256Hex("CREATE TABLE one (x int);\n"
                          "CREATE TABLE one_b (x int);\n") +
                "') || ' ' || (duration_ms IS NULL) FROM _freshet.migration_log"),
            "true true");
  EXPECT_THAT(States(), ElementsAre("20250101000000:applied"));
  EXPECT_THAT(Up().applied, IsEmpty());

  MigrateRepair(Options(), {"20250101000000"}, /*applied=*/false);
  EXPECT_EQ(HistoryVersions(), "");
  EXPECT_EQ(Sql("SELECT count(*) FROM _freshet.migration_log"), "0");
  EXPECT_THAT(States(), ElementsAre("20250101000000:pending"));

  std::optional<Error> error =
      Thrown([&] { MigrateRepair(Options(), {"20991231000000"}, /*applied=*/true); });
  ASSERT_TRUE(error);
  EXPECT_THAT(error->what(), HasSubstr("20991231000000"));
  EXPECT_EQ(HistoryVersions(), "");
}

TEST_F(MigrateTest, NoTransactionFileRunsConcurrentIndexAndMustHoldOneStatement) {
  Write("20250101000000_table.sql", "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n");
  Write("20250102000000_index.sql",
        "-- freshet:no-transaction\nCREATE INDEX CONCURRENTLY t_x_idx ON t (x);\n");
  EXPECT_THAT(Up().applied, ElementsAre("20250101000000_table.sql", "20250102000000_index.sql"));
  EXPECT_EQ(Sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"), "t");
  EXPECT_EQ(HistoryVersions(), "20250101000000,20250102000000");
  EXPECT_EQ(Sql("SELECT statements[1] FROM supabase_migrations.schema_migrations WHERE version = "
                "'20250102000000'"),
            "-- freshet:no-transaction\nCREATE INDEX CONCURRENTLY t_x_idx ON t (x)");

  Write("20250103000000_more.sql", "CREATE TABLE u (x int);\n");
  Write("20250104000000_two.sql",
        "-- freshet:no-transaction\nCREATE INDEX CONCURRENTLY u_x_idx ON u (x);\n"
        "CREATE INDEX CONCURRENTLY t_x2_idx ON t (x);\n");
  std::optional<Error> error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::kUsage);
  EXPECT_THAT(error->what(), HasSubstr("20250104000000_two.sql is marked `-- "
                                       "freshet:no-transaction` but holds 2 statements"));
  EXPECT_FALSE(TableExists("u"));  // refused before running anything
  EXPECT_EQ(HistoryVersions(), "20250101000000,20250102000000");

  // A file whose only statement cannot run in a transaction runs outside one
  // without the marker, as Prisma and the Supabase CLI run it.
  std::filesystem::remove(dir_ + "/20250104000000_two.sql");
  Write("20250104000000_unmarked.sql", "create index concurrently on u (x);\n");
  Write("20250105000000_vacuum.sql", "VACUUM (ANALYZE) u;\n");
  EXPECT_THAT(Up().applied, ElementsAre("20250103000000_more.sql", "20250104000000_unmarked.sql",
                                        "20250105000000_vacuum.sql"));
  EXPECT_EQ(Sql("SELECT indisvalid FROM pg_index WHERE indrelid = 'u'::regclass"), "t");
  // With another statement beside it, it is the server's error, and nothing remains.
  Write("20250106000000_mixed.sql",
        "CREATE TABLE w (x int);\nCREATE INDEX CONCURRENTLY ON w (x);\n");
  error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_THAT(error->what(), HasSubstr("cannot run inside a transaction block"));
  EXPECT_FALSE(TableExists("w"));
}

TEST_F(MigrateTest, FileSetOverridesTheDefaultTimeouts) {
  Write("20250101000000_own.sql",
        "SET lock_timeout = '1s';\nCREATE TABLE observed AS SELECT "
        "current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS stmt;\n");
  Write("20250102000000_defaults.sql",
        "CREATE TABLE defaults AS SELECT current_setting('lock_timeout') AS lock, "
        "current_setting('statement_timeout') AS stmt;\n");
  Up();
  EXPECT_EQ(Sql("SELECT lock || ' ' || stmt FROM observed"), "1s 15min");
  EXPECT_EQ(Sql("SELECT lock || ' ' || stmt FROM defaults"), "5s 15min");

  // A lock_timeout is always in force: a locked table fails at the lock
  // timeout instead of waiting, and the one the options set is the one in
  // force (seen from a file of the same run, not timed).
  Write("20250103000000_lowered.sql",
        "CREATE TABLE lowered AS SELECT current_setting('lock_timeout') AS lock;\n");
  Write("20250104000000_alter.sql", "ALTER TABLE defaults ADD COLUMN extra int;\n");
  Connection blocker = Connection::Open(cluster().Url(db_), "blocker");
  blocker.Exec("BEGIN");
  blocker.Exec("LOCK TABLE defaults IN ACCESS EXCLUSIVE MODE");
  MigrateOptions options = Options();
  options.lock_timeout = "200ms";
  std::optional<Error> error = Thrown([&] { Up(options); });
  blocker.Exec("ROLLBACK");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->sqlstate(), "55P03");
  EXPECT_THAT(error->what(), HasSubstr("20250104000000_alter.sql: statement 1 (line 1"));
  EXPECT_THAT(error->what(), HasSubstr("lock timeout"));
  EXPECT_EQ(Sql("SELECT lock FROM lowered"), "200ms");
  EXPECT_EQ(HistoryVersions(), "20250101000000,20250102000000,20250103000000");
}

TEST_F(MigrateTest, DryRunShowsWhatWouldRunAndChangesNothing) {
  Write("20250101000000_one.sql", "-- first\nCREATE TABLE one (x int);\nCREATE TABLE one_b ();\n");
  Write("20250102000000_idx.sql",
        "-- freshet:no-transaction\nCREATE INDEX CONCURRENTLY one_x ON one (x);\n");
  MigrateOptions options = Options();
  options.dry_run = true;
  UpResult result = Up(options);
  EXPECT_THAT(result.applied, ElementsAre("20250101000000_one.sql", "20250102000000_idx.sql"));
  EXPECT_THAT(result.dry_run_text,
              HasSubstr("-- 20250101000000_one.sql: 2 statements, in one transaction\n"
                        "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '15min';\n"
                        "-- statement 1 (line 2)\nCREATE TABLE one (x int);\n"
                        "-- statement 2 (line 3)\nCREATE TABLE one_b ();\n"));
  EXPECT_THAT(result.dry_run_text,
              HasSubstr("-- 20250102000000_idx.sql: 1 statement, outside a transaction"));
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_namespace WHERE nspname IN ('supabase_migrations', "
                "'_freshet')"),
            "0");
  EXPECT_FALSE(TableExists("one"));

  // The refusals still apply.
  options.dry_run = false;
  Up(options);
  Write("20250101000000_one.sql", "CREATE TABLE one (x int);\n");
  options.dry_run = true;
  EXPECT_TRUE(Thrown([&] { Up(options); }));
}

TEST_F(MigrateTest, NamingProblemsSyntaxErrorsAndStrayCommitsAreRefusedBeforeAnything) {
  Write("20250101000000_ok.sql", "CREATE TABLE ok (x int);\n");
  Write("20250102000000_bad.sql", "CREATE TABLE fine (x int);\nCREATE TABLEE nope ();\n");
  std::optional<Error> error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::kUsage);
  EXPECT_THAT(error->what(), HasSubstr("20250102000000_bad.sql:2:"));
  EXPECT_FALSE(TableExists("ok"));

  // Under the strict profile a badly named file stops everything; by default
  // it is skipped with a note, as the Supabase CLI skips it.
  std::filesystem::remove(dir_ + "/20250102000000_bad.sql");
  Write("20250101000001_Init.sql", "SELECT 1;\n");
  MigrateOptions strict = Options();
  strict.layout.naming = Naming::kStrict;
  error = Thrown([&] { Up(strict); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::kUsage);
  EXPECT_THAT(error->what(), HasSubstr("20250101000001_Init.sql does not follow"));
  EXPECT_FALSE(TableExists("ok"));
  std::filesystem::remove(dir_ + "/20250101000001_Init.sql");
  Write("Init.sql", "SELECT 1;\n");
  MigrateOptions dry = Options();
  dry.dry_run = true;
  std::string log;
  EXPECT_THAT(Up(dry, &log).applied, ElementsAre("20250101000000_ok.sql"));
  EXPECT_THAT(log,
              HasSubstr("note: skipping Init.sql: Init.sql does not match <digits>_<name>.sql"));
  std::filesystem::remove(dir_ + "/Init.sql");

  // A BEGIN ... COMMIT wrapping the file is redundant; a COMMIT inside is not.
  std::filesystem::remove(dir_ + "/Init.sql");
  Write("20250102000000_wrapped.sql",
        "BEGIN;\nSET lock_timeout = '7s';\nCREATE TABLE wrapped (x int);\nCOMMIT;\n");
  Write("20250103000000_stray.sql", "CREATE TABLE a (x int);\nCOMMIT;\nCREATE TABLE b (x int);\n");
  error = Thrown([&] { Up(); });
  ASSERT_TRUE(error);
  EXPECT_THAT(error->what(), HasSubstr("20250103000000_stray.sql: statement 2 (line 2)"));
  EXPECT_FALSE(TableExists("ok"));
  std::filesystem::remove(dir_ + "/20250103000000_stray.sql");
  EXPECT_THAT(Up().applied, ElementsAre("20250101000000_ok.sql", "20250102000000_wrapped.sql"));
  EXPECT_TRUE(TableExists("wrapped"));
  EXPECT_EQ(Sql("SELECT array_length(statements, 1) FROM supabase_migrations.schema_migrations "
                "WHERE version = '20250102000000'"),
            "4");
}

TEST_F(MigrateTest, SupabaseCliNamesAndSeedFilesApplyAsTheCliWould) {
  Write("20250101000000_create-users.sql", "CREATE TABLE users (id int PRIMARY KEY);\n");
  Write("20250102000000_users@v2.add.email.sql", "ALTER TABLE users ADD COLUMN email text;\n");
  Write("seed.sql", "INSERT INTO users VALUES (1);\n");
  std::string log;
  EXPECT_THAT(Up(Options(), &log).applied, ElementsAre("20250101000000_create-users.sql",
                                                       "20250102000000_users@v2.add.email.sql"));
  EXPECT_THAT(log, HasSubstr("note: skipping seed.sql: seed data, not a migration"));
  EXPECT_EQ(Sql("SELECT count(*) FROM users"), "0");
  EXPECT_EQ(Sql("SELECT string_agg(version || ' ' || name, ',' ORDER BY version) FROM "
                "supabase_migrations.schema_migrations"),
            "20250101000000 create-users,20250102000000 users@v2.add.email");
  EXPECT_THAT(States(), ElementsAre("20250101000000:applied", "20250102000000:applied"));
}

}  // namespace
}  // namespace freshet::testing
