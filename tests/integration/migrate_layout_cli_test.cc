// `freshet migrate new`, `--layout`/`--naming` and their freshet.toml keys,
// through the executable: the next file named for each layout, a Prisma
// project found and applied from its directory alone, bad settings refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class MigrateLayoutCli : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = cluster_.dir() + "/layouts-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // The path `migrate new` printed, relative to `dir`.
  std::string New(const std::string& dir, std::vector<std::string> extra) {
    std::vector<std::string> args = {"migrate", "new", "Add profiles", "--dir", dir};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult run = Freshet(args);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::string path = run.out.substr(0, run.out.find('\n'));
    EXPECT_TRUE(fs::is_regular_file(path)) << path;
    return fs::path(path).lexically_relative(dir).string();
  }

  PgCluster& cluster_ = SharedClusters::Target();
  std::string root_;
};

TEST_F(MigrateLayoutCli, NewNamesTheNextFileForEachLayoutAndProfile) {
  std::string flat = root_ + "/supabase/migrations";
  std::string first = New(flat, {});
  EXPECT_TRUE(std::regex_match(first, std::regex(R"(\d{14}_add_profiles\.sql)"))) << first;
  std::string second = New(flat, {});
  EXPECT_LT(first, second);  // always sorts after the newest

  std::string numbered = root_ + "/numbered";
  EXPECT_EQ(New(numbered, {"--naming", "sequential"}), "0001_add_profiles.sql");
  EXPECT_EQ(New(numbered, {"--naming", "sequential"}), "0002_add_profiles.sql");

  std::string prisma = root_ + "/prisma/migrations";
  std::string created = New(prisma, {"--layout", "prisma"});
  EXPECT_TRUE(std::regex_match(created, std::regex(R"(\d{14}_add_profiles/migration\.sql)")))
      << created;

  std::string config = root_ + "/freshet.toml";
  std::ofstream(config) << "[migrate]\nnaming = \"datetime\"\n";
  RunResult run = Freshet({"--config", config, "migrate", "new", "x", "--dir", root_ + "/dt"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(/dt/\d{8}_\d{6}_x\.sql\n$)"))) << run.out;

  std::ofstream(config) << "[migrate]\nnaming = \"camel\"\n";
  run = Freshet({"--config", config, "migrate", "new", "x", "--dir", root_ + "/dt"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("'migrate.naming' must be one of supabase, strict, datetime, "
                                 "sequential"));
}

TEST_F(MigrateLayoutCli, APrismaProjectIsRecognisedAppliedAndReported) {
  std::string dir = root_ + "/prisma/migrations";
  fs::create_directories(dir + "/20240101000000_init");
  fs::create_directories(dir + "/20240102000000_posts");
  std::ofstream(dir + "/migration_lock.toml") << "provider = \"postgresql\"\n";
  std::ofstream(dir + "/20240101000000_init/migration.sql") << "CREATE TABLE users (id int);\n";
  std::ofstream(dir + "/20240102000000_posts/migration.sql") << "CREATE TABLE posts (id int);\n";
  std::string db = cluster_.CreateUniqueDatabase();
  RunResult up = Freshet({"migrate", "up", "--dir", dir, "--db-url", cluster_.Url(db)});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(cluster_.Psql(db,
                          "SELECT string_agg(migration_name, ',' ORDER BY migration_name) "
                          "FROM _prisma_migrations WHERE finished_at IS NOT NULL"),
            "20240101000000_init,20240102000000_posts");
  RunResult status = Freshet(
      {"migrate", "status", "--dir", dir, "--db-url", cluster_.Url(db), "--format", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  nlohmann::json rows = nlohmann::json::parse(status.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["version"], "20240102000000_posts");
  EXPECT_EQ(rows[1]["name"], "posts");
  EXPECT_EQ(rows[1]["state"], "applied");

  // Forcing the other layout reads the directory as flat files: nothing to apply.
  RunResult flat = Freshet({"migrate", "status", "--dir", dir, "--db-url", cluster_.Url(db),
                            "--layout", "supabase", "--format", "json"});
  ASSERT_EQ(flat.exit_code, 0) << flat.err;
  EXPECT_EQ(nlohmann::json::parse(flat.out).size(), 0u);
}

}  // namespace
}  // namespace freshet::testing
