// `freshet migrate ...` as CI runs it: the executable, its exit statuses and
// outputs (the JSON of `--format json`, errors included), and freshet.toml
// settings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MigrateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cluster_.dir() + "/migrations-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
  }
  void Write(const std::string& name, const std::string& sql) {
    std::ofstream(dir_ + "/" + name) << sql;
  }
  void CopyWorkloadMigrations() {
    for (const auto& entry : std::filesystem::directory_iterator(WorkloadDir() + "/migrations"))
      std::filesystem::copy_file(entry.path(), dir_ + "/" + entry.path().filename().string());
  }

  PgCluster& cluster_ = SharedClusters::Target();
  std::string dir_;
};

TEST_F(MigrateCli, LintExitsThreeOnErrorsAndPrintsJsonFindings) {
  Write("20250101000000_init.sql",
        "CREATE TABLE public.t (id int);\nALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\n");
  Write("20250102000000_cleanup.sql", "DROP TABLE public.t;\n");
  RunResult run = Freshet({"migrate", "lint", "--dir", dir_, "--format", "json"});
  EXPECT_EQ(run.exit_code, 3) << run.err;
  nlohmann::json findings = nlohmann::json::parse(run.out);
  ASSERT_TRUE(findings.is_array());
  bool found = false;
  for (const auto& finding : findings)
    found = found || (finding["rule"] == "drop-table" && finding["line"] == 1 &&
                      finding["severity"] == "error");
  EXPECT_TRUE(found) << run.out;
}

TEST_F(MigrateCli, LintSeverityComesFromTheConfig) {
  Write("20250101000000_init.sql",
        "CREATE TABLE public.t (id int);\nALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\n");
  Write("20250102000000_cleanup.sql", "DROP TABLE public.t;\n");
  std::string config = dir_ + "/../freshet-" + std::to_string(::getpid()) + ".toml";
  std::ofstream(config) << "[lint.rules]\ndrop-table = \"warning\"\n";
  RunResult run = Freshet({"--config", config, "migrate", "lint", "--dir", dir_});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("warning[drop-table]"));
}

TEST_F(MigrateCli, UpThenStatusShowsEveryWorkloadMigrationApplied) {
  CopyWorkloadMigrations();
  std::string db = cluster_.CreateUniqueDatabase("app");
  RunResult up = Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir_});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  RunResult status = Freshet(
      {"migrate", "status", "--db-url", cluster_.Url(db), "--dir", dir_, "--format", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  nlohmann::json rows = nlohmann::json::parse(status.out);
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) EXPECT_EQ(row["state"], "applied") << row.dump();
  RunResult again = Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir_});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("up to date"));
}

TEST_F(MigrateCli, EditedAppliedFileIsRefusedWithExitFive) {
  Write("20250101000000_init.sql", "CREATE TABLE public.t (id int);\n");
  std::string db = cluster_.CreateUniqueDatabase("app");
  ASSERT_EQ(Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir_}).exit_code, 0);
  Write("20250101000000_init.sql", "CREATE TABLE public.t (id bigint);\n");
  RunResult up = Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir_});
  EXPECT_EQ(up.exit_code, 5) << up.err;
  EXPECT_THAT(up.err, HasSubstr("20250101000000"));
}

TEST_F(MigrateCli, ShadowCompareExitsFourOnDriftAndZeroWithout) {
  CopyWorkloadMigrations();
  std::string db = cluster_.CreateUniqueDatabase("staging");
  ASSERT_EQ(Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir_}).exit_code, 0);
  RunResult same = Freshet({"migrate", "shadow", "--dir", dir_, "--compare-to", cluster_.Url(db)});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  cluster_.Psql(db, "ALTER TABLE public.deals ADD COLUMN hand_added int");
  RunResult drift = Freshet({"migrate", "shadow", "--dir", dir_, "--compare-to", cluster_.Url(db)});
  EXPECT_EQ(drift.exit_code, 4) << drift.err;
  EXPECT_THAT(drift.out, HasSubstr("public.deals.hand_added"));
}

TEST_F(MigrateCli, UpJsonListsTheAppliedFiles) {
  Write("20250101000000_init.sql", "CREATE TABLE public.t (id int);\n");
  Write("20250102000000_more.sql", "ALTER TABLE public.t ADD COLUMN name text;\n");
  std::string db = cluster_.CreateUniqueDatabase("app");
  RunResult up =
      Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir_, "--format", "json"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  nlohmann::json out = nlohmann::json::parse(up.out);
  EXPECT_EQ(out["applied"], nlohmann::json({"20250101000000_init.sql", "20250102000000_more.sql"}));
  RunResult again =
      Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir_, "--format", "json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["applied"], nlohmann::json::array());
}

TEST_F(MigrateCli, UpJsonErrorNamesFileStatementLineAndSqlstate) {
  Write("20250101000000_init.sql", "CREATE TABLE public.t (id int);\n");
  Write("20250102000000_broken.sql",
        "ALTER TABLE public.t ADD COLUMN name text;\n\nSELECT missing_column\n  FROM public.t;\n");
  std::string db = cluster_.CreateUniqueDatabase("app");
  RunResult up =
      Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir_, "--format", "json"});
  EXPECT_EQ(up.exit_code, 1) << up.err;
  nlohmann::json error = nlohmann::json::parse(up.out)["error"];
  EXPECT_EQ(error["kind"], "runtime");
  EXPECT_EQ(error["exit_code"], 1);
  EXPECT_EQ(error["file"], "20250102000000_broken.sql");
  EXPECT_EQ(error["statement"], 2);
  EXPECT_EQ(error["line"], 3);
  EXPECT_EQ(error["column"], 8);
  EXPECT_EQ(error["sqlstate"], "42703");
  EXPECT_THAT(error["message"].get<std::string>(), HasSubstr("missing_column"));
  // What was committed before the failure, for the deploy summary.
  EXPECT_EQ(nlohmann::json::parse(up.out)["applied"],
            nlohmann::json::parse(R"(["20250101000000_init.sql"])"));
  EXPECT_EQ(nlohmann::json::parse(up.out)["seconds"].size(), 1u);
  EXPECT_THAT(up.err, HasSubstr("20250102000000_broken.sql"));  // stderr as with text
  EXPECT_EQ(cluster_.Psql(db, "SELECT count(*) FROM supabase_migrations.schema_migrations"), "1");
}

// The pull-request check: the base branch's migrations, then the branch's
// new files on top as `up` runs them on merge, against the branch from scratch.
TEST_F(MigrateCli, ShadowBaseDirReportsWhatMergeAppliesAndRefusesAnOutOfOrderFile) {
  std::string base = dir_ + "-base";
  std::filesystem::create_directories(base);
  std::ofstream(base + "/20250101000000_init.sql") << "CREATE TABLE public.t (id int);\n";
  std::ofstream(base + "/20250301000000_notes.sql") << "CREATE TABLE public.notes (id int);\n";
  Write("20250101000000_init.sql", "CREATE TABLE public.t (id int);\n");
  Write("20250301000000_notes.sql", "CREATE TABLE public.notes (id int);\n");
  Write("20250401000000_t_name.sql", "ALTER TABLE public.t ADD COLUMN name text;\n");
  RunResult shadow = Freshet({"migrate", "shadow", "--dir", dir_, "--base-dir", base, "--bootstrap",
                              "none", "--format", "json"});
  ASSERT_EQ(shadow.exit_code, 0) << shadow.err;
  nlohmann::json out = nlohmann::json::parse(shadow.out);
  EXPECT_EQ(out["on_merge"], nlohmann::json::parse(R"(["20250401000000_t_name.sql"])"));
  EXPECT_EQ(out["base_applied"].size(), 2u);
  EXPECT_EQ(out["applied"].size(), 3u);
  EXPECT_EQ(out["drift"], nlohmann::json::array());

  // A file dated before main's newest: fine from scratch, refused on merge.
  Write("20250201000000_late.sql", "CREATE TABLE public.late (id int);\n");
  RunResult late = Freshet({"migrate", "shadow", "--dir", dir_, "--base-dir", base, "--bootstrap",
                            "none", "--format", "json"});
  EXPECT_EQ(late.exit_code, 5) << late.err;
  nlohmann::json error = nlohmann::json::parse(late.out)["error"];
  EXPECT_EQ(error["kind"], "refused");
  EXPECT_THAT(error["message"].get<std::string>(), HasSubstr("20250201000000_late.sql"));

  RunResult both = Freshet({"migrate", "shadow", "--dir", dir_, "--base-dir", base, "--compare-to",
                            cluster_.Url("postgres")});
  EXPECT_EQ(both.exit_code, 2) << both.err;
  EXPECT_THAT(both.err, HasSubstr("cannot be combined with --shadow-url or --compare-to"));
}

TEST_F(MigrateCli, ShadowJsonErrorForACommitInTheMiddleArrivesBeforeAnyServer) {
  Write("20250101000000_init.sql", "CREATE TABLE public.t (id int);\n");
  Write("20250102000000_half.sql",
        "CREATE TABLE public.a (id int);\nCOMMIT;\nCREATE TABLE public.b (id int);\n");
  RunResult shadow = Freshet({"migrate", "shadow", "--dir", dir_, "--format", "json"});
  EXPECT_EQ(shadow.exit_code, 2) << shadow.err;
  nlohmann::json error = nlohmann::json::parse(shadow.out)["error"];
  EXPECT_EQ(error["kind"], "usage");
  EXPECT_EQ(error["file"], "20250102000000_half.sql");
  EXPECT_EQ(error["statement"], 2);
  EXPECT_EQ(error["line"], 2);
  EXPECT_FALSE(error.contains("sqlstate"));
  EXPECT_THAT(shadow.err, Not(HasSubstr("starting a throwaway PostgreSQL server")));
}

TEST_F(MigrateCli, ShadowJsonErrorListsEveryMissingExtension) {
  Write("20250101000000_init.sql",
        "CREATE TABLE public.t (id int);\nCREATE EXTENSION IF NOT EXISTS pg_graphql;\n");
  Write("20250102000000_vault.sql", "\n\nCREATE EXTENSION supabase_vault;\n");
  std::string db = cluster_.CreateUniqueDatabase("shadow");
  RunResult shadow = Freshet({"migrate", "shadow", "--dir", dir_, "--shadow-url", cluster_.Url(db),
                              "--bootstrap", "none", "--format", "json"});
  EXPECT_EQ(shadow.exit_code, 5) << shadow.err;
  nlohmann::json error = nlohmann::json::parse(shadow.out)["error"];
  EXPECT_EQ(error["kind"], "refused");
  EXPECT_EQ(error["file"], "20250101000000_init.sql");
  EXPECT_EQ(error["line"], 2);
  nlohmann::json expected = nlohmann::json::parse(R"([
      {"file": "20250101000000_init.sql", "statement": 2, "line": 2},
      {"file": "20250102000000_vault.sql", "statement": 1, "line": 3}])");
  EXPECT_EQ(error["locations"], expected);
  EXPECT_EQ(cluster_.Psql(db, "SELECT to_regclass('public.t') IS NULL"), "t");
}

TEST_F(MigrateCli, ShadowJsonErrorOfAFailingStatement) {
  Write("20250101000000_init.sql", "CREATE TABLE public.t (id int);\n");
  Write("20250102000000_broken.sql", "INSERT INTO public.nope VALUES (1);\n");
  RunResult shadow = Freshet({"migrate", "shadow", "--dir", dir_, "--format", "json"});
  EXPECT_EQ(shadow.exit_code, 1) << shadow.err;
  nlohmann::json error = nlohmann::json::parse(shadow.out)["error"];
  EXPECT_EQ(error["kind"], "runtime");
  EXPECT_EQ(error["file"], "20250102000000_broken.sql");
  EXPECT_EQ(error["statement"], 1);
  EXPECT_EQ(error["line"], 1);
  EXPECT_EQ(error["column"], 13);
  EXPECT_EQ(error["sqlstate"], "42P01");
}

}  // namespace
}  // namespace freshet::testing
