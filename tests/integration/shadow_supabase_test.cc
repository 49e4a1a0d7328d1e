// `freshet migrate shadow` on a Supabase project (apply/shadow.h,
// apply/supabase_bootstrap.h): a realistic project applied end to end with the
// bootstrap, then used as Supabase's API would (a sign-up trigger, RLS by JWT
// claims, grants, storage policies); missing extensions listed before anything
// runs; a --shadow-url that already is a Supabase database; checks that fail
// before any server starts; drift that leaves the platform's schemas out.
// These tests create Supabase's roles, which are cluster-wide, so they use a
// server of their own rather than the shared ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apply/migration_error.h"
#include "apply/shadow.h"
#include "apply/supabase_bootstrap.h"
#include "copy/connection.h"
#include "copy/error.h"
#include "tests/support/pg_cluster.h"

namespace freshet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::PgCluster;

namespace fs = std::filesystem;

constexpr const char* kAda = "11111111-1111-4111-8111-111111111111";
constexpr const char* kBob = "22222222-2222-4222-8222-222222222222";

PgCluster& SupabaseServer() {
  static PgCluster server;
  return server;
}

// A temporary project directory, removed at scope exit; migrations go to
// <dir>/supabase/migrations, as `supabase init` lays a project out.
class Project {
 public:
  Project() {
    std::string pattern = (fs::temp_directory_path() / "freshet-supabase-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
    fs::create_directories(migrations());
  }
  ~Project() { fs::remove_all(root_); }
  std::string migrations() const { return root_ + "/supabase/migrations"; }
  void Write(const std::string& name, const std::string& content) const {
    std::ofstream(migrations() + "/" + name, std::ios::binary) << content;
  }
  std::string Path(const std::string& name) const { return migrations() + "/" + name; }

 private:
  std::string root_;
};

const std::vector<std::string> kProjectFiles = {
    "20240101000000_extensions.sql", "20240102000000_profiles.sql", "20240103000000_todos.sql",
    "20240104000000_storage.sql"};

// What a Supabase project's migrations look like: written the way the
// Supabase docs and starter projects write them, lower case and all.
void WriteProject(const Project& project) {
  project.Write(kProjectFiles[0],
                "-- Extensions live in their own schema on Supabase.\n"
                "create extension if not exists \"uuid-ossp\" with schema extensions;\n"
                "create extension if not exists pgcrypto with schema extensions;\n");
  project.Write(kProjectFiles[1],
                "create table public.profiles (\n"
                "  id uuid not null references auth.users on delete cascade,\n"
                "  full_name text,\n"
                "  avatar_url text,\n"
                "  updated_at timestamptz default now(),\n"
                "  primary key (id)\n"
                ");\n"
                "alter table public.profiles enable row level security;\n"
                "create policy \"Profiles are viewable by everyone\" on public.profiles\n"
                "  for select using (true);\n"
                "create policy \"Users update their own profile\" on public.profiles\n"
                "  for update to authenticated using ((select auth.uid()) = id);\n"
                "\n"
                "-- A profile for every new user.\n"
                "create function public.handle_new_user()\n"
                "returns trigger\n"
                "language plpgsql\n"
                "security definer set search_path = ''\n"
                "as $$\n"
                "begin\n"
                "  insert into public.profiles (id, full_name, avatar_url)\n"
                "  values (new.id, new.raw_user_meta_data ->> 'full_name',\n"
                "          new.raw_user_meta_data ->> 'avatar_url');\n"
                "  return new;\n"
                "end;\n"
                "$$;\n"
                "create trigger on_auth_user_created\n"
                "  after insert on auth.users\n"
                "  for each row execute procedure public.handle_new_user();\n");
  project.Write(kProjectFiles[2],
                "create table public.todos (\n"
                "  id uuid default uuid_generate_v4() primary key,\n"
                "  user_id uuid references auth.users(id) on delete cascade not null,\n"
                "  task text check (char_length(task) > 3),\n"
                "  is_complete boolean default false,\n"
                "  share_token text default encode(gen_random_bytes(16), 'hex'),\n"
                "  inserted_at timestamptz default timezone('utc'::text, now()) not null\n"
                ");\n"
                "alter table public.todos enable row level security;\n"
                "create policy \"Individuals see their own todos\" on public.todos\n"
                "  for select to authenticated using ((select auth.uid()) = user_id);\n"
                "create policy \"Admins see every todo\" on public.todos\n"
                "  for select to authenticated\n"
                "  using ((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');\n"
                "create policy \"Individuals create todos\" on public.todos\n"
                "  for insert to authenticated with check ((select auth.uid()) = user_id);\n"
                "revoke all on public.todos from anon;\n"
                "grant select, insert, update, delete on public.todos to authenticated;\n"
                "grant all on public.todos to service_role;\n");
  project.Write(kProjectFiles[3],
                "insert into storage.buckets (id, name, public) values ('avatars', 'avatars', "
                "true);\n"
                "create policy \"Avatars are public\" on storage.objects\n"
                "  for select using (bucket_id = 'avatars');\n"
                "create policy \"Users upload to their own folder\" on storage.objects\n"
                "  for insert to authenticated\n"
                "  with check (bucket_id = 'avatars'\n"
                "              and (storage.foldername(name))[1] = (select auth.uid()::text));\n");
}

// Runs `sql` in `db` as Supabase's API runs a request: role authenticated,
// the JWT's claims in request.jwt.claims.
std::string AsUser(const std::string& db, const std::string& claims, const std::string& sql) {
  return SupabaseServer().Psql(
      db, "SET ROLE authenticated; SET request.jwt.claims = '" + claims + "'; " + sql);
}

std::string Claims(const std::string& sub, const std::string& role = "") {
  std::string claims = std::string("{\"sub\": \"") + sub + "\", \"role\": \"authenticated\"";
  if (!role.empty()) claims += ", \"app_metadata\": {\"role\": \"" + role + "\"}";
  return claims + "}";
}

// A database as a fresh Supabase project's: the platform's schemas (here the
// bootstrap's, plus schemas and tables only the real platform has).
std::string FreshSupabaseDatabase(const std::string& hint) {
  PgCluster& server = SupabaseServer();
  std::string db = server.CreateUniqueDatabase(hint);
  Connection connection = Connection::Open(server.Url(db), "setup");
  std::ostringstream ignored;
  RunSupabaseBootstrap(connection, ignored);
  server.Psql(db,
              "CREATE SCHEMA realtime;"
              "CREATE TABLE realtime.messages (id bigint PRIMARY KEY, topic text);"
              "CREATE SCHEMA graphql;"
              "CREATE FUNCTION graphql.resolve() RETURNS int LANGUAGE sql AS 'SELECT 1';"
              "CREATE TABLE storage.s3_multipart_uploads (id text PRIMARY KEY);"
              "ALTER TABLE auth.users ADD COLUMN added_by_a_newer_platform boolean;"
              // An extension the platform installs and a project never creates.
              "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = "
              "'pg_stat_statements') THEN CREATE EXTENSION pg_stat_statements WITH SCHEMA "
              "extensions; END IF; END $$;"
              "CREATE SCHEMA supabase_migrations;"
              "CREATE TABLE supabase_migrations.schema_migrations "
              "(version text PRIMARY KEY, statements text[], name text);");
  return db;
}

TEST(ShadowSupabaseTest, ProjectAppliesEndToEndAndBehavesAsOnSupabase) {
  Project project;
  WriteProject(project);
  PgCluster& server = SupabaseServer();
  std::string db = server.CreateUniqueDatabase("shadow");
  std::ostringstream log;
  ShadowResult result = RunShadow({project.migrations(), server.Url(db), std::nullopt}, log);
  EXPECT_EQ(result.bootstrap, ShadowBootstrap::kSupabase);  // from the directory's name
  EXPECT_TRUE(result.bootstrap_ran);
  EXPECT_EQ(result.applied, kProjectFiles) << log.str();

  // The sign-up trigger on auth.users fills public.profiles.
  server.Psql(db, std::string("INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES ('") +
                      kAda + "', 'ada@example.com', '{\"full_name\": \"Ada\"}'), ('" + kBob +
                      "', 'bob@example.com', '{\"full_name\": \"Bob\"}')");
  EXPECT_EQ(server.Psql(db, "SELECT string_agg(full_name, ',' ORDER BY full_name) FROM profiles"),
            "Ada,Bob");
  // Defaults from the extensions schema, written unqualified, work.
  EXPECT_EQ(AsUser(db, Claims(kAda),
                   "INSERT INTO todos (user_id, task) VALUES ('" + std::string(kAda) +
                       "', 'write the docs') RETURNING " + "length(share_token), id IS NOT NULL"),
            "32|t");
  server.Psql(db, std::string("INSERT INTO todos (user_id, task) VALUES ('") + kBob +
                      "', 'review the code')");
  // RLS by auth.uid() and auth.jwt().
  EXPECT_EQ(AsUser(db, Claims(kAda), "SELECT string_agg(task, ',' ORDER BY task) FROM todos"),
            "write the docs");
  EXPECT_EQ(
      AsUser(db, Claims(kBob, "admin"), "SELECT string_agg(task, ',' ORDER BY task) FROM todos"),
      "review the code,write the docs");
  EXPECT_THROW(AsUser(db, Claims(kAda),
                      std::string("INSERT INTO todos (user_id, task) VALUES ('") + kBob +
                          "', 'not mine to add')"),
               std::runtime_error);
  // Grants as the project set them, over Supabase's default privileges.
  EXPECT_EQ(server.Psql(db,
                        "SELECT has_table_privilege('authenticated', 'public.todos', 'DELETE'), "
                        "has_table_privilege('anon', 'public.todos', 'SELECT'), "
                        "has_table_privilege('anon', 'public.profiles', 'SELECT')"),
            "t|f|t");
  // Storage policies with storage.foldername() and auth.uid().
  AsUser(db, Claims(kAda),
         "INSERT INTO storage.objects (bucket_id, name) VALUES ('avatars', '" + std::string(kAda) +
             "/face.png')");
  EXPECT_THROW(AsUser(db, Claims(kAda),
                      "INSERT INTO storage.objects (bucket_id, name) VALUES ('avatars', '" +
                          std::string(kBob) + "/face.png')"),
               std::runtime_error);
  EXPECT_EQ(server.Psql(db, "SELECT name FROM storage.objects"), std::string(kAda) + "/face.png");
}

TEST(ShadowSupabaseTest, LocalShadowAppliesTheProjectWithTheBootstrap) {
  Project project;
  WriteProject(project);
  std::ostringstream log;
  ShadowResult result = RunShadow({project.migrations(), std::nullopt, std::nullopt}, log);
  EXPECT_EQ(result.applied, kProjectFiles) << log.str();
  EXPECT_TRUE(result.bootstrap_ran);
  EXPECT_THAT(log.str(), HasSubstr("freshet supabase bootstrap v1"));
}

TEST(ShadowSupabaseTest, BootstrapNoneLeavesTheShadowBare) {
  Project project;
  project.Write("20240101000000_plain.sql", "create table public.plain (id int);\n");
  PgCluster& server = SupabaseServer();
  std::string db = server.CreateUniqueDatabase("bare");
  std::ostringstream log;
  ShadowResult result =
      RunShadow({project.migrations(), server.Url(db), std::nullopt, ShadowBootstrap::kNone}, log);
  EXPECT_EQ(result.applied, std::vector<std::string>{"20240101000000_plain.sql"});
  EXPECT_FALSE(result.bootstrap_ran);
  EXPECT_EQ(server.Psql(db,
                        "SELECT count(*) FROM pg_namespace WHERE nspname IN ('auth', 'storage', "
                        "'extensions')"),
            "0");
}

TEST(ShadowSupabaseTest, MissingExtensionsAreListedWithFileAndLineBeforeAnythingRuns) {
  Project project;
  WriteProject(project);
  project.Write("20240105000000_search.sql",
                "create table public.documents (id bigint generated always as identity primary "
                "key, body text);\n"
                "-- The GraphQL API.\n"
                "create extension if not exists pg_graphql;\n");
  project.Write("20240106000000_secrets.sql",
                "create table public.notes (id int);\n"
                "create extension supabase_vault\n  with schema extensions;\n");
  PgCluster& server = SupabaseServer();
  std::string db = server.CreateUniqueDatabase("shadow");
  std::ostringstream log;
  try {
    RunShadow({project.migrations(), server.Url(db), std::nullopt}, log);
    FAIL() << "expected a refusal; log:\n" << log.str();
  } catch (const MigrationError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kRefused);
    EXPECT_THAT(error.what(),
                HasSubstr("20240105000000_search.sql:3: CREATE EXTENSION pg_graphql"));
    EXPECT_THAT(error.what(),
                HasSubstr("20240106000000_secrets.sql:2: CREATE EXTENSION supabase_vault"));
    EXPECT_THAT(error.what(), Not(HasSubstr("uuid-ossp")));
    std::vector<MigrationLocation> expected = {{"20240105000000_search.sql", 2, 3, 0},
                                               {"20240106000000_secrets.sql", 2, 2, 0}};
    EXPECT_EQ(error.locations(), expected);
  }
  // Nothing ran: no bootstrap, no migration, no history.
  EXPECT_EQ(server.Psql(db,
                        "SELECT count(*) FROM pg_namespace WHERE nspname IN ('auth', 'storage', "
                        "'extensions', '_freshet', 'supabase_migrations')"),
            "0");
  EXPECT_EQ(server.Psql(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
}

TEST(ShadowSupabaseTest, ShadowUrlHoldingOnlyThePlatformIsUsedWithoutTheBootstrap) {
  Project project;
  WriteProject(project);
  std::string db = FreshSupabaseDatabase("platform");
  std::ostringstream log;
  ShadowResult result =
      RunShadow({project.migrations(), SupabaseServer().Url(db), std::nullopt}, log);
  EXPECT_EQ(result.applied, kProjectFiles) << log.str();
  EXPECT_FALSE(result.bootstrap_ran);
  EXPECT_THAT(log.str(), HasSubstr("already holds Supabase's schemas"));
  EXPECT_EQ(SupabaseServer().Psql(db, "SELECT count(*) FROM supabase_migrations.schema_migrations"),
            "4");
}

TEST(ShadowSupabaseTest, ShadowUrlWithAUserTableBesideThePlatformIsRefusedNamingIt) {
  Project project;
  WriteProject(project);
  std::string db = FreshSupabaseDatabase("busy");
  SupabaseServer().Psql(db, "CREATE TABLE public.precious (x int)");
  std::ostringstream log;
  try {
    RunShadow({project.migrations(), SupabaseServer().Url(db), std::nullopt}, log);
    FAIL() << "expected a refusal; log:\n" << log.str();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kRefused);
    EXPECT_THAT(error.what(), HasSubstr("1 table(s), view(s) or sequence(s)"));
    EXPECT_THAT(error.what(), HasSubstr("public.precious"));
    EXPECT_THAT(error.what(), Not(HasSubstr("auth.users")));
  }
  EXPECT_EQ(SupabaseServer().Psql(db, "SELECT to_regclass('public.profiles') IS NULL"), "t");
}

TEST(ShadowSupabaseTest, ShadowUrlWithAppliedMigrationsIsRefused) {
  Project project;
  WriteProject(project);
  std::string db = FreshSupabaseDatabase("applied");
  SupabaseServer().Psql(
      db, "INSERT INTO supabase_migrations.schema_migrations (version) VALUES ('20240101000000')");
  std::ostringstream log;
  try {
    RunShadow({project.migrations(), SupabaseServer().Url(db), std::nullopt}, log);
    FAIL() << "expected a refusal; log:\n" << log.str();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kRefused);
    EXPECT_THAT(error.what(), HasSubstr("migrations were applied there already (1 row(s) in "
                                        "supabase_migrations.schema_migrations)"));
  }
}

TEST(ShadowSupabaseTest, DuplicateVersionFailsBeforeAnyServerStarts) {
  Project project;
  project.Write("20240101000000_a.sql", "create table public.a (id int);\n");
  project.Write("20240101000000_b.sql", "create table public.b (id int);\n");
  std::ostringstream log;
  try {
    RunShadow({project.migrations(), std::nullopt, std::nullopt}, log);
    FAIL() << "expected an Error; log:\n" << log.str();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_THAT(error.what(), HasSubstr("20240101000000_a.sql"));
    EXPECT_THAT(error.what(), HasSubstr("20240101000000_b.sql"));
  }
  EXPECT_THAT(log.str(), Not(HasSubstr("starting a throwaway PostgreSQL server")));
}

TEST(ShadowSupabaseTest, CommitInTheMiddleFailsBeforeAnyServerStarts) {
  Project project;
  WriteProject(project);
  project.Write("20240105000000_half.sql",
                "create table public.a (id int);\ncommit;\n"
                "create table public.b (id int);\n");
  std::ostringstream log;
  try {
    RunShadow({project.migrations(), std::nullopt, std::nullopt}, log);
    FAIL() << "expected an Error; log:\n" << log.str();
  } catch (const MigrationError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_THAT(error.what(), HasSubstr("transaction control"));
    std::vector<MigrationLocation> expected = {{"20240105000000_half.sql", 2, 2, 1}};
    EXPECT_EQ(error.locations(), expected);
  }
  EXPECT_THAT(log.str(), Not(HasSubstr("starting a throwaway PostgreSQL server")));
}

TEST(ShadowSupabaseTest, DriftLeavesThePlatformOutButNotPoliciesOnItsTables) {
  Project project;
  WriteProject(project);
  PgCluster& server = SupabaseServer();
  // Production: a Supabase database of a newer platform, the project's
  // migrations applied there.
  std::string production = FreshSupabaseDatabase("prod");
  for (const std::string& file : kProjectFiles) server.RunScript(production, project.Path(file));
  std::ostringstream log;
  ShadowResult same = RunShadow({project.migrations(), std::nullopt, server.Url(production)}, log);
  EXPECT_TRUE(same.compared);
  EXPECT_TRUE(same.drift.empty()) << DriftText(same.drift) << log.str();

  server.Psql(production,
              "CREATE POLICY hand_made ON storage.objects FOR DELETE TO authenticated "
              "USING (true)");
  ShadowResult drift = RunShadow({project.migrations(), std::nullopt, server.Url(production)}, log);
  ASSERT_EQ(drift.drift.size(), 1u) << DriftText(drift.drift);
  EXPECT_EQ(drift.drift[0].kind, "policy");
  EXPECT_EQ(drift.drift[0].object, "storage.objects.hand_made");
  EXPECT_EQ(drift.drift[0].change, "only in " + production);
}

}  // namespace
}  // namespace freshet
