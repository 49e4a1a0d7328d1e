// Grants in the drift check: ReadSchemaModel (schema/schema_model.h) reads
// the privileges two real databases hold, Diff (apply/schema_diff.h) reports
// exactly what a hand change made them differ by, and `freshet migrate
// shadow --compare-to` reports a revoked grant and exits 4.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "apply/schema_diff.h"
#include "copy/connection.h"
#include "schema/schema_model.h"
#include "tests/integration/sync_helpers.h"
#include "tests/support/pg_cluster.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;

// Roles are cluster-wide: created once, whichever test comes first.
constexpr const char* kRolesSql = R"sql(
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'grants_owner'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', role_name);
    END IF;
  END LOOP;
END
$$;
)sql";

// A Supabase-style schema with grants of every kind the model reads, run as
// postgres on both databases.
constexpr const char* kSchemaSql = R"sql(
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO authenticated;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
CREATE TABLE public.contacts (id bigint PRIMARY KEY, email text, plan text);
GRANT INSERT, UPDATE ON public.contacts TO authenticated;
GRANT ALL ON public.contacts TO service_role;
GRANT SELECT ON public.contacts TO anon WITH GRANT OPTION;
GRANT UPDATE (email) ON public.contacts TO anon;
CREATE TABLE public.deals (id bigint PRIMARY KEY, contact_id bigint);
GRANT SELECT, DELETE ON public.deals TO anon;
CREATE SEQUENCE public.invoice_number;
GRANT USAGE, SELECT ON SEQUENCE public.invoice_number TO authenticated;
CREATE VIEW public.contact_emails AS SELECT id, email FROM public.contacts;
GRANT SELECT ON public.contact_emails TO anon;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN RETURN NEW; END $$;
GRANT EXECUTE ON FUNCTION public.touch() TO authenticated;
CREATE SCHEMA private;
ALTER DEFAULT PRIVILEGES FOR ROLE grants_owner IN SCHEMA private
  GRANT ALL ON TABLES TO service_role;
)sql";

class DriftGrantsTest : public ::testing::Test {
 protected:
  // A database with kSchemaSql then `change` applied.
  std::string Database(const std::string& hint, const std::string& change = "") {
    cluster_.Psql("postgres", kRolesSql);
    std::string db = cluster_.CreateUniqueDatabase(hint);
    cluster_.Psql(db, kSchemaSql + change);
    return db;
  }

  SchemaModel Model(const std::string& db, const std::string& label) {
    return ReadSchemaModel(cluster_.Url(db), label);
  }

  PgCluster& cluster_ = SharedClusters::Target();
};

TEST_F(DriftGrantsTest, ModelReadsGrantsWithoutTheOwnersOwnRights) {
  SchemaModel model = Model(Database("grants"), "app");
  // postgres owns everything: its rights are not listed anywhere.
  EXPECT_EQ(model.schema_grants.at("public"), (Grants{{"PUBLIC", {{"USAGE", false}}},
                                                      {"anon", {{"USAGE", false}}},
                                                      {"authenticated", {{"USAGE", false}}},
                                                      {"service_role", {{"USAGE", false}}}}));
  EXPECT_EQ(model.relation_grants.at("public.contacts"),
            (Grants{{"anon", {{"SELECT", true}}},
                    {"authenticated", {{"INSERT", false}, {"SELECT", false}, {"UPDATE", false}}},
                    {"service_role", {{"ALL", false}}}}));
  EXPECT_EQ(model.column_grants.at("public.contacts").at("email"),
            (Grants{{"anon", {{"UPDATE", false}}}}));
  EXPECT_EQ(model.relation_grants.at("public.invoice_number"),
            (Grants{{"authenticated", {{"SELECT", false}, {"USAGE", false}}}}));
  EXPECT_EQ(model.relation_grants.at("public.contact_emails"),
            (Grants{{"anon", {{"SELECT", false}}}, {"authenticated", {{"SELECT", false}}}}));
  // Created after PUBLIC lost EXECUTE by default.
  EXPECT_EQ(model.function_grants.at("public.touch()"),
            (Grants{{"authenticated", {{"EXECUTE", false}}}}));
  EXPECT_FALSE(model.schema_grants.count("private"));
}

TEST_F(DriftGrantsTest, ModelReadsDefaultPrivilegesNamingOtherRoles) {
  SchemaModel model = Model(Database("defaults"), "app");
  std::map<DefaultPrivilegeKey, Grants> expected = {
      {{"", "", "functions"}, {}},
      {{"", "public", "tables"}, {{"authenticated", {{"SELECT", false}}}}},
      {{"grants_owner", "private", "tables"}, {{"service_role", {{"ALL", false}}}}}};
  EXPECT_EQ(model.default_privileges, expected);
}

TEST_F(DriftGrantsTest, IdenticalGrantsUnderAnotherOwnerAreNoDrift) {
  std::string shadow = Database("same");
  // Another owner: its own rights (and the grantor of every grant) change.
  std::string app = Database("owned",
                             "ALTER TABLE public.contacts OWNER TO grants_owner;"
                             "ALTER SEQUENCE public.invoice_number OWNER TO grants_owner;"
                             "ALTER FUNCTION public.touch() OWNER TO grants_owner;"
                             "ALTER SCHEMA private OWNER TO grants_owner;");
  std::vector<DriftItem> drift = Diff(Model(shadow, "shadow"), Model(app, "app"));
  EXPECT_TRUE(drift.empty()) << DriftText(drift);
}

TEST_F(DriftGrantsTest, RevokedColumnAndDefaultPrivilegeAreExactlyTheDrift) {
  std::string shadow = Database("shadow");
  std::string app = Database("app",
                             "REVOKE SELECT ON public.contacts FROM authenticated;"
                             "GRANT UPDATE (plan) ON public.contacts TO anon;"
                             "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                             "GRANT INSERT ON TABLES TO authenticated;");
  std::vector<DriftItem> expected = {
      {"grant", "public.contacts", "differs",
       "authenticated: INSERT, SELECT, UPDATE vs INSERT, UPDATE"},
      {"grant", "public.contacts.plan", "differs", "anon: none vs UPDATE"},
      {"default-privilege", "tables in schema public", "differs",
       "authenticated: SELECT vs INSERT, SELECT"}};
  std::vector<DriftItem> drift = Diff(Model(shadow, "shadow"), Model(app, "app"));
  EXPECT_EQ(drift, expected) << DriftText(drift);
}

TEST_F(DriftGrantsTest, GrantOptionFunctionAndSchemaGrants) {
  std::string shadow = Database("shadow");
  std::string app = Database("app",
                             "GRANT ALL ON public.contacts TO service_role WITH GRANT OPTION;"
                             "GRANT EXECUTE ON FUNCTION public.touch() TO PUBLIC;"
                             "REVOKE USAGE ON SCHEMA public FROM anon;");
  std::vector<DriftItem> expected = {
      {"grant", "public", "differs", "anon: USAGE vs none"},
      {"grant", "public.contacts", "differs", "service_role: ALL vs ALL WITH GRANT OPTION"},
      {"grant", "public.touch()", "differs", "PUBLIC: none vs EXECUTE"}};
  std::vector<DriftItem> drift = Diff(Model(shadow, "shadow"), Model(app, "app"));
  EXPECT_EQ(drift, expected) << DriftText(drift);
}

// The CLI end to end: the shadow applies the migrations (as postgres, as a
// Supabase project's are applied), the compared database got them from `up`
// and then lost a grant by hand.
TEST_F(DriftGrantsTest, ShadowCompareReportsARevokedGrant) {
  std::string dir = cluster_.dir() + "/grants-migrations-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/20250101000000_notes.sql")
      << "CREATE TABLE public.notes (id bigint PRIMARY KEY, body text);\n"
         "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n"
         "GRANT SELECT, INSERT ON public.notes TO authenticated;\n"
         "GRANT SELECT ON public.notes TO anon;\n";
  cluster_.Psql("postgres", kRolesSql);
  std::string db = cluster_.CreateUniqueDatabase("staging");
  ASSERT_EQ(Freshet({"migrate", "up", "--db-url", cluster_.Url(db), "--dir", dir}).exit_code, 0);
  // The shadow on this server, where the roles exist (no Supabase bootstrap:
  // the compared database is not a Supabase one).
  auto shadow = [&] {
    return Freshet({"migrate", "shadow", "--dir", dir, "--bootstrap", "none", "--shadow-url",
                    cluster_.Url(cluster_.CreateUniqueDatabase("shadow")), "--compare-to",
                    cluster_.Url(db)});
  };
  RunResult same = shadow();
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  cluster_.Psql(db, "REVOKE SELECT ON public.notes FROM anon");
  RunResult drift = shadow();
  EXPECT_EQ(drift.exit_code, 4) << drift.out << drift.err;
  EXPECT_THAT(drift.out, HasSubstr("schema drift: 1 difference\n"
                                   "  grant public.notes: differs (anon: SELECT vs none)\n"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace freshet::testing
