#include "apply/migration_set.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "copy/error.h"

namespace freshet {
namespace {

class MigrationSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "freshet-migrations-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(std::filesystem::path(dir_) / name, std::ios::binary) << content;
  }

  std::string dir_;
};

TEST(IsValidMigrationNameTest, AcceptsSupabaseNames) {
  EXPECT_TRUE(IsValidMigrationName("20240101000000_init.sql"));
  EXPECT_TRUE(IsValidMigrationName("20241231235959_add_users_2.sql"));
}

TEST(IsValidMigrationNameTest, RejectsBadNames) {
  EXPECT_FALSE(IsValidMigrationName("20241301000000_bad_month.sql"));
  EXPECT_FALSE(IsValidMigrationName("20240100000000_bad_day.sql"));
  EXPECT_FALSE(IsValidMigrationName("20240101240000_bad_hour.sql"));
  EXPECT_FALSE(IsValidMigrationName("20240101006000_bad_minute.sql"));
  EXPECT_FALSE(IsValidMigrationName("20240101000000_AddUsers.sql"));
  EXPECT_FALSE(IsValidMigrationName("20240101000000_add-users.sql"));
  EXPECT_FALSE(IsValidMigrationName("2024010100000_short.sql"));
  EXPECT_FALSE(IsValidMigrationName("20240101000000.sql"));
  EXPECT_FALSE(IsValidMigrationName("20240101000000_.sql"));
  EXPECT_FALSE(IsValidMigrationName("20240101000000_init.SQL"));
  EXPECT_FALSE(IsValidMigrationName("init.sql"));
}

TEST(Sha256HexTest, KnownDigests) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(MigrationSetTest, LoadsFilesInVersionOrder) {
  Write("20240301000000_third.sql", "select 3;");
  Write("20240101000000_first.sql", "abc");
  Write("20240201000000_second.sql", "select 2;");
  Write("notes.txt", "not a migration");
  MigrationSet set = LoadMigrations(dir_);
  EXPECT_EQ(set.dir, dir_);
  EXPECT_TRUE(set.problems.empty());
  ASSERT_EQ(set.files.size(), 3u);
  EXPECT_EQ(set.files[0].version, "20240101000000");
  EXPECT_EQ(set.files[0].name, "first");
  EXPECT_EQ(set.files[0].filename, "20240101000000_first.sql");
  EXPECT_EQ(set.files[0].content, "abc");
  EXPECT_EQ(set.files[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(std::filesystem::path(set.files[0].path).filename(), "20240101000000_first.sql");
  EXPECT_EQ(set.files[1].name, "second");
  EXPECT_EQ(set.files[2].name, "third");
}

TEST_F(MigrationSetTest, TheStrictProfileReportsBadNamesAndKeepsTheirContentForLint) {
  Write("20240101000000_ok.sql", "select 1;");
  Write("20241301000000_bad_month.sql", "drop table a;");
  Write("20240102000000_UpperCase.sql", "select 1;");
  Write("create_users.sql", "select 1;");
  MigrationSet set = LoadMigrations(dir_, {Layout::kSupabase, Naming::kStrict});
  ASSERT_EQ(set.files.size(), 1u);
  EXPECT_EQ(set.files[0].name, "ok");
  ASSERT_EQ(set.problems.size(), 3u);
  for (const auto& problem : set.problems) {
    EXPECT_EQ(problem.rule, "migration-name");
    EXPECT_TRUE(problem.blocks);
    EXPECT_NE(problem.message.find(problem.file), std::string::npos);
    EXPECT_NE(problem.message.find("`strict` naming profile"), std::string::npos);
  }
  EXPECT_EQ(set.problems[0].file, "20240102000000_UpperCase.sql");  // sorted by file
  ASSERT_EQ(set.rejected.size(), 3u);
  EXPECT_EQ(set.rejected[1].filename, "20241301000000_bad_month.sql");
  EXPECT_EQ(set.rejected[1].content, "drop table a;");
}

TEST_F(MigrationSetTest, TheDefaultProfileTakesWhatTheSupabaseCliTakes) {
  Write("20240101000000_create-users.sql", "select 1;");
  Write("20240102000000_add@v2.sql", "select 2;");
  Write("20240103000000_rls.policies.sql", "select 3;");
  Write("20240104000000_.sql", "select 4;");
  Write("20240105000000_Add Column.sql", "select 5;");
  Write("7_short.sql", "select 7;");
  Write("create_users.sql", "drop table users;");
  Write("20240106000000.sql", "select 6;");
  Write("20240107000000_upper.SQL", "select 7;");
  Write("seed.sql", "insert into t values (1);");
  std::filesystem::create_directory(std::filesystem::path(dir_) / "20240108000000_sub");
  MigrationSet set = LoadMigrations(dir_);
  std::vector<std::string> names;
  for (const auto& file : set.files) names.push_back(file.version + "|" + file.name);
  EXPECT_EQ(names, (std::vector<std::string>{"20240101000000|create-users", "20240102000000|add@v2",
                                             "20240103000000|rls.policies", "20240104000000|",
                                             "20240105000000|Add Column", "7|short"}));
  // Files the CLI skips are skipped here too, with a warning, never blocking.
  ASSERT_EQ(set.problems.size(), 2u);
  EXPECT_EQ(set.problems[0].file, "20240106000000.sql");
  EXPECT_EQ(set.problems[1].file, "create_users.sql");
  for (const auto& problem : set.problems) {
    EXPECT_EQ(problem.rule, "skipped-file");
    EXPECT_FALSE(problem.blocks);
    EXPECT_NE(problem.message.find("neither the Supabase CLI nor freshet applies it"),
              std::string::npos);
  }
  ASSERT_EQ(set.rejected.size(), 2u);  // still linted
  EXPECT_EQ(set.rejected[1].content, "drop table users;");
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_EQ(set.skipped[0].file, "seed.sql");
  EXPECT_NO_THROW(ThrowIfBlocked(set));
  std::string notes = SkippedNotes(set);
  EXPECT_NE(notes.find("note: skipping seed.sql: seed data, not a migration"), std::string::npos);
  EXPECT_NE(notes.find("note: skipping create_users.sql"), std::string::npos);
}

TEST_F(MigrationSetTest, TheDateTimeProfileOrdersByDateAndTime) {
  Write("20240102_090000_second.sql", "select 2;");
  Write("20240101_235959_first.sql", "select 1;");
  Write("20240230_000000_no_such_day.sql", "select 3;");
  Write("20240101000000_compact.sql", "select 4;");
  MigrationSet set = LoadMigrations(dir_, {Layout::kSupabase, Naming::kDateTime});
  ASSERT_EQ(set.files.size(), 2u);
  EXPECT_EQ(set.files[0].version, "20240101_235959");
  EXPECT_EQ(set.files[0].name, "first");
  EXPECT_EQ(set.files[1].version, "20240102_090000");
  ASSERT_EQ(set.problems.size(), 2u);
  EXPECT_EQ(set.problems[0].file, "20240101000000_compact.sql");
  EXPECT_EQ(set.problems[1].file, "20240230_000000_no_such_day.sql");
  EXPECT_THROW(ThrowIfBlocked(set), Error);
}

TEST_F(MigrationSetTest, TheSequentialProfileWantsOneWidth) {
  Write("0001_baseline.sql", "select 1;");
  Write("0002_users.sql", "select 2;");
  Write("0010_orders.sql", "select 10;");
  Write("003_typo.sql", "select 3;");
  MigrationSet set = LoadMigrations(dir_, {Layout::kSupabase, Naming::kSequential});
  ASSERT_EQ(set.files.size(), 3u);
  EXPECT_EQ(set.files[0].version, "0001");
  EXPECT_EQ(set.files[2].version, "0010");
  ASSERT_EQ(set.problems.size(), 1u);
  EXPECT_EQ(set.problems[0].file, "003_typo.sql");
  EXPECT_NE(set.problems[0].message.find("3 digits but the other migrations use 4"),
            std::string::npos);
}

TEST_F(MigrationSetTest, PrismaMigrationsAreDirectoriesWithMigrationSql) {
  namespace fs = std::filesystem;
  fs::path root(dir_);
  fs::create_directory(root / "20240201000000_add_posts");
  fs::create_directory(root / "20240101000000_init");
  fs::create_directory(root / "20240301000000_empty");
  Write("20240201000000_add_posts/migration.sql", "create table posts ();\r\n");
  Write("20240101000000_init/migration.sql", "create table users ();\n");
  Write("migration_lock.toml",
        "# Please do not edit this file manually\nprovider = \"postgresql\"\n");
  EXPECT_EQ(DetectLayout(dir_), Layout::kPrisma);
  MigrationSet set = LoadMigrations(dir_, {Layout::kPrisma, Naming::kSupabase});
  ASSERT_EQ(set.files.size(), 2u);
  EXPECT_EQ(set.files[0].version, "20240101000000_init");
  EXPECT_EQ(set.files[0].name, "init");
  EXPECT_EQ(set.files[0].filename, "20240101000000_init/migration.sql");
  EXPECT_EQ(set.files[0].sha256, Sha256Hex("create table users ();\n"));
  EXPECT_EQ(set.files[1].version, "20240201000000_add_posts");
  ASSERT_EQ(set.problems.size(), 1u);
  EXPECT_EQ(set.problems[0].file, "20240301000000_empty");
  EXPECT_NE(set.problems[0].message.find("has no migration.sql"), std::string::npos);

  Write("migration_lock.toml", "provider = \"mysql\"\n");
  try {
    LoadMigrations(dir_, {Layout::kPrisma, Naming::kSupabase});
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(error.what()).find("not PostgreSQL migrations"), std::string::npos);
  }
}

TEST_F(MigrationSetTest, AFlatDirectoryIsTheSupabaseLayout) {
  Write("20240101000000_init.sql", "select 1;");
  EXPECT_EQ(DetectLayout(dir_), Layout::kSupabase);
}

TEST_F(MigrationSetTest, DuplicateVersionsAreAllReportedAndNoneKept) {
  Write("20240101000000_a.sql", "select 1;");
  Write("20240101000000_b.sql", "select 2;");
  Write("20240102000000_c.sql", "select 3;");
  MigrationSet set = LoadMigrations(dir_);
  ASSERT_EQ(set.files.size(), 1u);
  EXPECT_EQ(set.files[0].name, "c");
  ASSERT_EQ(set.problems.size(), 2u);
  EXPECT_EQ(set.problems[0].rule, "duplicate-version");
  EXPECT_EQ(set.problems[0].file, "20240101000000_a.sql");
  EXPECT_EQ(set.problems[1].file, "20240101000000_b.sql");
  EXPECT_NE(set.problems[0].message.find("20240101000000"), std::string::npos);
  ASSERT_EQ(set.rejected.size(), 2u);
  EXPECT_THROW(ThrowIfBlocked(set), Error);
}

TEST_F(MigrationSetTest, DetectsNoTransactionMarkerOnTheFirstLineOnly) {
  Write("20240101000000_concurrent.sql",
        "-- freshet:no-transaction\ncreate index concurrently i on t (a);\n");
  Write("20240102000000_normal.sql", "select 1;\n-- freshet:no-transaction\n");
  MigrationSet set = LoadMigrations(dir_);
  ASSERT_EQ(set.files.size(), 2u);
  EXPECT_TRUE(set.files[0].no_transaction);
  EXPECT_FALSE(set.files[1].no_transaction);
}

TEST_F(MigrationSetTest, EmptyDirectoryHasNothing) {
  MigrationSet set = LoadMigrations(dir_);
  EXPECT_TRUE(set.files.empty());
  EXPECT_TRUE(set.problems.empty());
}

TEST(LoadMigrationsTest, MissingDirectoryIsAUsageError) {
  try {
    LoadMigrations("/nonexistent/freshet/migrations");
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(error.what()).find("/nonexistent/freshet/migrations"), std::string::npos);
  }
}

}  // namespace
}  // namespace freshet

namespace freshet {
namespace {

TEST(MigrationNameDates, RejectsDaysTheMonthDoesNotHave) {
  EXPECT_FALSE(IsValidMigrationName("20250231000000_feb_thirty_first.sql"));
  EXPECT_FALSE(IsValidMigrationName("20250229000000_not_a_leap_year.sql"));
  EXPECT_TRUE(IsValidMigrationName("20240229000000_leap_day.sql"));
  EXPECT_FALSE(IsValidMigrationName("20250431120000_april_31.sql"));
}

}  // namespace
}  // namespace freshet
