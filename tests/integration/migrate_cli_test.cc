// `freshet migrate ...` as CI runs it: the executable, its exit statuses and
// outputs, and freshet.toml settings.
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

}  // namespace
}  // namespace freshet::testing
