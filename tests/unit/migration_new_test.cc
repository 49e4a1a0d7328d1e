#include "apply/migration_new.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "apply/edit_check.h"
#include "apply/migration_set.h"
#include "copy/error.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;

// 2024-03-01 12:34:56 UTC
const auto kNow = std::chrono::system_clock::from_time_t(1709296496);

class MigrationNewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "freshet-new-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& content) {
    fs::create_directories((fs::path(dir_) / name).parent_path());
    std::ofstream(fs::path(dir_) / name, std::ios::binary) << content;
  }
  std::string Next(MigrationLayout layout, const std::string& description = "Add profiles!") {
    return fs::path(NextMigrationPath(dir_, layout, description, kNow)).lexically_relative(dir_);
  }

  std::string dir_;
};

TEST_F(MigrationNewTest, NamesTheFileForEachProfile) {
  EXPECT_EQ(Next({}), "20240301123456_add_profiles.sql");
  EXPECT_EQ(Next({Layout::kSupabase, Naming::kStrict}), "20240301123456_add_profiles.sql");
  EXPECT_EQ(Next({Layout::kSupabase, Naming::kDateTime}), "20240301_123456_add_profiles.sql");
  EXPECT_EQ(Next({Layout::kSupabase, Naming::kSequential}), "0001_add_profiles.sql");
  EXPECT_EQ(Next({Layout::kPrisma, Naming::kSupabase}),
            "20240301123456_add_profiles/migration.sql");
}

TEST_F(MigrationNewTest, TheNewFileSortsAfterEveryExistingOne) {
  Write("20240301123456_same_second.sql", "");
  EXPECT_EQ(Next({}), "20240301123457_add_profiles.sql");
  Write("20991231235959_future.sql", "");
  EXPECT_EQ(Next({}), "21000101000000_add_profiles.sql");
}

TEST_F(MigrationNewTest, SequentialNumbersKeepTheirWidthAndRefuseToOverflow) {
  Write("007_a.sql", "");
  Write("012_b.sql", "");
  EXPECT_EQ(Next({Layout::kSupabase, Naming::kSequential}), "013_add_profiles.sql");
  Write("999_c.sql", "");
  try {
    Next({Layout::kSupabase, Naming::kSequential});
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(error.what()).find("needs more than the 3 digits"), std::string::npos);
  }
}

TEST_F(MigrationNewTest, CreatesTheFileAndTheDirectoryAndLoadsBackAsTheNewest) {
  std::string nested = (fs::path(dir_) / "supabase" / "migrations").string();
  std::string path = CreateMigration(nested, {}, "create users", kNow);
  EXPECT_TRUE(fs::is_regular_file(path));
  MigrationSet set = LoadMigrations(nested, {Layout::kSupabase, Naming::kStrict});
  ASSERT_EQ(set.files.size(), 1u);
  EXPECT_EQ(set.files[0].filename, "20240301123456_create_users.sql");
  EXPECT_TRUE(set.problems.empty());

  std::string prisma =
      CreateMigration(dir_ + "/prisma", {Layout::kPrisma, Naming::kSupabase}, "init", kNow);
  MigrationSet prisma_set = LoadMigrations(dir_ + "/prisma", {Layout::kPrisma, Naming::kSupabase});
  ASSERT_EQ(prisma_set.files.size(), 1u);
  EXPECT_EQ(prisma_set.files[0].version, "20240301123456_init");
  EXPECT_EQ(prisma_set.files[0].path, prisma);
}

TEST_F(MigrationNewTest, ANameWithoutLettersOrDigitsIsRefused) {
  try {
    Next({}, "--- !!");
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(error.what()).find("no letter or digit"), std::string::npos);
  }
}

TEST(EditCheckTest, CommentsAndWhitespaceDoNotCountButSqlDoes) {
  std::vector<std::string> recorded = {"-- users\ncreate table users (id int)",
                                       "alter table users add column email text"};
  EXPECT_EQ(SameSqlIgnoringComments(recorded,
                                    {"/* the users */ create   table users (\n  id int -- key\n)",
                                     "-- contact\nalter table users\n  add column email text"}),
            true);
  EXPECT_EQ(SameSqlIgnoringComments(recorded, {"create table users (id bigint)",
                                               "alter table users add column email text"}),
            false);
  EXPECT_EQ(SameSqlIgnoringComments(recorded, {"create table users (id int)"}), false);
  EXPECT_EQ(SameSqlIgnoringComments(recorded, {"create tabel users (id int)",
                                               "alter table users add column email text"}),
            std::nullopt);
  // A string constant is SQL, not a comment.
  EXPECT_EQ(SameSqlIgnoringComments({"select '-- a'"}, {"select '-- b'"}), false);
}

}  // namespace
}  // namespace freshet
