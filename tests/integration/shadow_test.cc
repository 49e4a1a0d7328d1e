// `freshet migrate shadow` (apply/shadow.h) end to end: the reference
// workload's migrations applied to a throwaway LocalCluster, compared with
// databases built from the same migrations by psql (with and without hand
// changes), failing migrations, a non-empty --shadow-url, LocalCluster's own
// cleanup, and Supabase projects: the bootstrap, missing extensions, a
// --shadow-url that already is a Supabase database, checks made before any
// server starts, and drift that leaves the platform's schemas out.
#include "apply/shadow.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apply/local_cluster.h"
#include "apply/migration_error.h"
#include "apply/supabase_bootstrap.h"
#include "copy/connection.h"
#include "copy/error.h"
#include "tests/support/pg_cluster.h"

namespace freshet {
namespace {

using ::testing::HasSubstr;
using testing::PgCluster;
using testing::SharedClusters;

namespace fs = std::filesystem;

std::string MigrationsDir() { return testing::WorkloadDir() + "/migrations"; }

std::vector<std::string> MigrationFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(MigrationsDir()))
    if (entry.path().extension() == ".sql") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// A database in the shared target cluster with every workload migration
// applied by psql, the way a project's database got its schema.
std::string MigratedDatabase(PgCluster& cluster) {
  std::string db = cluster.CreateUniqueDatabase("cmp");
  for (const auto& file : MigrationFiles()) cluster.RunScript(db, file);
  return db;
}

// A temporary migrations directory, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "freshet-shadow-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  void Write(const std::string& name, const std::string& content) const {
    fs::create_directories((fs::path(path_) / name).parent_path());
    std::ofstream(fs::path(path_) / name, std::ios::binary) << content;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ShadowTest, WorkloadMigrationsMatchADatabaseBuiltFromThem) {
  PgCluster& cluster = SharedClusters::Target();
  std::string db = MigratedDatabase(cluster);
  std::ostringstream log;
  ShadowResult result = RunShadow({MigrationsDir(), std::nullopt, cluster.Url(db)}, log);
  std::vector<std::string> expected_files;
  for (const auto& file : MigrationFiles()) expected_files.push_back(fs::path(file).filename());
  EXPECT_EQ(result.applied, expected_files);
  EXPECT_EQ(result.applied.size(), 4u);
  EXPECT_TRUE(result.compared);
  EXPECT_TRUE(result.drift.empty()) << DriftText(result.drift) << log.str();
}

TEST(ShadowTest, HandAddedColumnIsTheOnlyDrift) {
  PgCluster& cluster = SharedClusters::Target();
  std::string db = MigratedDatabase(cluster);
  cluster.Psql(db, "ALTER TABLE public.contacts ADD COLUMN hand_added text");
  std::ostringstream log;
  ShadowResult result = RunShadow({MigrationsDir(), std::nullopt, cluster.Url(db)}, log);
  std::vector<DriftItem> expected = {
      {"column", "public.contacts.hand_added", "only in " + db, "text"}};
  EXPECT_EQ(result.drift, expected) << DriftText(result.drift);
}

TEST(ShadowTest, ReportsEachKindOfHandChange) {
  PgCluster& cluster = SharedClusters::Target();
  std::string db = MigratedDatabase(cluster);
  cluster.Psql(db,
               "ALTER TYPE public.deal_stage ADD VALUE 'archived';"
               "DROP INDEX public.contacts_email_idx;"
               "ALTER TABLE public.deals DISABLE ROW LEVEL SECURITY;"
               "ALTER TABLE public.contacts ALTER COLUMN email TYPE varchar(200);"
               "ALTER TABLE public.feature_flags ALTER COLUMN enabled DROP NOT NULL;"
               "ALTER POLICY deals_owner ON public.deals USING (true);"
               "CREATE OR REPLACE FUNCTION public.touch_updated_at() RETURNS trigger "
               "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
               "ALTER TABLE public.tasks DROP CONSTRAINT tasks_source_action_item_id_fkey;"
               "CREATE TABLE public.scratch (x int);");
  ShadowResult result;
  std::ostringstream log;
  result = RunShadow({MigrationsDir(), std::nullopt, cluster.Url(db)}, log);
  std::vector<std::string> found;
  for (const auto& item : result.drift)
    found.push_back(item.kind + " " + item.object + ": " + item.change);
  std::string only_db = "only in " + db;
  std::vector<std::string> expected = {
      "enum public.deal_stage: differs",
      "table public.scratch: " + only_db,
      "column public.contacts.email: differs",
      "column public.feature_flags.enabled: differs",
      "rls public.deals: differs",
      "constraint public.tasks.tasks_source_action_item_id_fkey: only in shadow",
      "index public.contacts.contacts_email_idx: only in shadow",
      "policy public.deals.deals_owner: differs",
      "function public.touch_updated_at(): differs"};
  EXPECT_EQ(found, expected) << DriftText(result.drift);
  auto detail = [&](const std::string& object) {
    for (const auto& item : result.drift)
      if (item.object == object) return item.detail;
    return std::string();
  };
  EXPECT_EQ(detail("public.contacts.email"), "type text vs character varying(200)");
  EXPECT_EQ(detail("public.feature_flags.enabled"), "NOT NULL vs nullable");
  EXPECT_EQ(detail("public.deal_stage"), "value 'archived' " + only_db);
}

TEST(ShadowTest, FailingMigrationNamesTheFile) {
  TempDir dir;
  dir.Write("20250101000000_ok.sql", "CREATE TABLE public.ok (id int PRIMARY KEY);\n");
  dir.Write("20250102000000_broken.sql",
            "CREATE TABLE public.fine (id int);\nALTER TABLE public.nope ADD COLUMN x int;\n");
  std::ostringstream log;
  try {
    RunShadow({dir.path(), std::nullopt, std::nullopt}, log);
    FAIL() << "expected an Error; log:\n" << log.str();
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("20250102000000_broken.sql"));
    EXPECT_THAT(error.what(), HasSubstr("public.nope"));
    EXPECT_EQ(error.kind(), ErrorKind::kRuntime);
    EXPECT_EQ(error.sqlstate(), "42P01");
    const auto* located = dynamic_cast<const MigrationError*>(&error);
    ASSERT_NE(located, nullptr);
    ASSERT_EQ(located->locations().size(), 1u);
    EXPECT_EQ(located->locations()[0].file, "20250102000000_broken.sql");
    EXPECT_EQ(located->locations()[0].statement, 2);
    EXPECT_EQ(located->locations()[0].line, 2);
  }
}

TEST(ShadowTest, LocalShadowWithTheSupabaseBootstrapHasTheApiRoles) {
  TempDir dir;
  dir.Write("20250101000000_policies.sql",
            "CREATE TABLE public.notes (id int PRIMARY KEY, body text);\n"
            "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n"
            "CREATE POLICY notes_read ON public.notes FOR SELECT TO anon, authenticated "
            "USING (true);\n"
            "GRANT ALL ON public.notes TO service_role;\n");
  std::ostringstream log;
  ShadowOptions options{dir.path(), std::nullopt, std::nullopt, ShadowBootstrap::kSupabase};
  ShadowResult result = RunShadow(options, log);
  EXPECT_EQ(result.applied, std::vector<std::string>{"20250101000000_policies.sql"});
  EXPECT_TRUE(result.bootstrap_ran);
  EXPECT_FALSE(result.compared);
  EXPECT_TRUE(result.drift.empty());
}

TEST(ShadowTest, BootstrapDefaultsToSupabaseOnlyForASupabaseMigrationsDirectory) {
  EXPECT_EQ(DefaultBootstrap("supabase/migrations"), ShadowBootstrap::kSupabase);
  EXPECT_EQ(DefaultBootstrap("/srv/app/supabase/migrations/"), ShadowBootstrap::kSupabase);
  EXPECT_EQ(DefaultBootstrap("db/migrations"), ShadowBootstrap::kNone);
  EXPECT_EQ(DefaultBootstrap("prisma/migrations"), ShadowBootstrap::kNone);
  EXPECT_EQ(DefaultBootstrap("supabase"), ShadowBootstrap::kNone);
}

TEST(ShadowTest, BootstrapSqlNamesItsVersion) {
  std::string first_line(SupabaseBootstrapSql().substr(0, SupabaseBootstrapSql().find('\n')));
  EXPECT_EQ(first_line,
            "-- freshet supabase bootstrap v" + std::to_string(kSupabaseBootstrapVersion));
}

TEST(ShadowTest, NonEmptyShadowUrlIsRefusedAndLeftUntouched) {
  PgCluster& cluster = SharedClusters::Target();
  std::string db = cluster.CreateUniqueDatabase("busy");
  cluster.Psql(db,
               "CREATE TABLE public.precious (x int); INSERT INTO public.precious VALUES (42);");
  std::ostringstream log;
  try {
    RunShadow({MigrationsDir(), cluster.Url(db), std::nullopt}, log);
    FAIL() << "expected a refusal; log:\n" << log.str();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kRefused);
    EXPECT_THAT(error.what(), HasSubstr(db));
    EXPECT_THAT(error.what(), HasSubstr("public.precious"));
  }
  EXPECT_EQ(cluster.Psql(db, "SELECT x FROM public.precious"), "42");
  EXPECT_EQ(cluster.Psql(db,
                         "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                         "c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                         "'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"),
            "1");
}

TEST(ShadowTest, EmptyShadowUrlIsUsed) {
  PgCluster& cluster = SharedClusters::Target();
  std::string shadow = cluster.CreateUniqueDatabase("shadow");
  std::string compared = MigratedDatabase(cluster);
  std::ostringstream log;
  ShadowResult result =
      RunShadow({MigrationsDir(), cluster.Url(shadow), cluster.Url(compared)}, log);
  EXPECT_EQ(result.applied.size(), 4u);
  EXPECT_TRUE(result.drift.empty()) << DriftText(result.drift);
  EXPECT_EQ(cluster.Psql(shadow, "SELECT count(*) FROM public.feature_flags"), "1");
}

TEST(ShadowTest, LocalClusterRemovesItsDirectory) {
  std::string dir;
  std::string url;
  {
    LocalCluster local;
    dir = local.dir();
    EXPECT_TRUE(fs::is_directory(dir));
    local.CreateDatabase("probe");
    url = local.Url("probe");
    Connection connection = Connection::Open(url, "probe");
    EXPECT_EQ(connection.Exec("SELECT current_database()").Get(0, 0), "probe");
    EXPECT_EQ(connection.Exec("SHOW fsync").Get(0, 0), "off");
  }
  EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_THROW(Connection::Open(url, "gone"), Error);
}

}  // namespace
}  // namespace freshet
