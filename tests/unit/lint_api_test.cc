// The lint rules about what the Data API exposes, judged on the state the
// whole directory leaves (row level security, grants, security definer
// views), and the ones about dropped API views and role settings.
#include <gtest/gtest.h>

#include "tests/unit/lint_fixture.h"

namespace freshet {
namespace {

using testing::Count;
using testing::FileName;
using testing::LintTest;
using testing::Mentions;
using testing::Only;
using testing::Rules;

LintOptions GrantRoles() {
  LintOptions options;
  options.grant_roles = {"authenticated", "service_role"};
  return options;
}

// --- rls-not-enabled across files -------------------------------------------

TEST_F(LintTest, RlsEnabledInALaterFileIsFine) {
  Write("20240101000000_create.sql", "create table public.profiles (id uuid primary key);");
  Write("20240102000000_secure.sql", "alter table profiles enable row level security;");
  auto findings = LintDir();
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, RlsNeverEnabledPointsAtTheFirstCreate) {
  Write("20240101000000_other.sql", "select 1;");
  Write("20240102000000_create.sql",
        "select 1;\ncreate table if not exists public.profiles (id uuid primary key);");
  Write("20240103000000_again.sql", "create table if not exists public.profiles (id uuid);");
  Write("20240104000000_rename.sql", "alter table public.profiles rename to accounts;");
  auto findings = LintDir();
  auto rls = Only(findings, "rls-not-enabled");
  ASSERT_EQ(rls.size(), 1u) << Rules(findings);
  EXPECT_EQ(FileName(rls[0]), "20240102000000_create.sql");
  EXPECT_EQ(rls[0].line, 2);
  EXPECT_TRUE(Mentions(rls[0].message, "public.profiles (now public.accounts)")) << rls[0].message;
  EXPECT_TRUE(Mentions(rls[0].message, "no migration up to the last one enables it"));
}

TEST_F(LintTest, RlsJudgesTheEndState) {
  Write("20240101000000_create.sql",
        "create table public.a (id int);\nalter table public.a enable row level security;\n"
        "create table public.b (id int);\ncreate table private.c (id int);");
  Write("20240102000000_change.sql",
        "alter table public.a disable row level security;\ndrop table public.b;\n"
        "alter table private.c set schema public;");
  auto rls = Only(LintDir(), "rls-not-enabled");
  ASSERT_EQ(rls.size(), 2u) << Rules(rls);
  EXPECT_TRUE(Mentions(rls[0].message, "public.a is in the API schema")) << rls[0].message;
  EXPECT_EQ(rls[0].line, 1);
  EXPECT_TRUE(Mentions(rls[1].message, "private.c (now public.c)")) << rls[1].message;
  EXPECT_EQ(rls[1].line, 4);
}

TEST_F(LintTest, RlsIgnoreDirectiveOnTheCreateStillWorks) {
  Write("20240101000000_create.sql",
        "-- freshet:ignore rls-not-enabled\ncreate table public.lookup (id int);");
  Write("20240102000000_more.sql", "alter table public.lookup add column name text;");
  auto findings = LintDir();
  EXPECT_EQ(Count(findings, "rls-not-enabled"), 0u) << Rules(findings);
}

// --- missing-grants ---------------------------------------------------------

TEST_F(LintTest, MissingGrantsIsSilentWithoutGrantRoles) {
  EXPECT_EQ(Count(LintSql("create table public.t (id int);"), "missing-grants"), 0u);
}

TEST_F(LintTest, MissingGrantsNamesTheRolesStillWithout) {
  auto findings = LintSql(
      "create table public.items (id int);\nalter table public.items enable row level security;\n"
      "grant select on public.items to authenticated;\n",
      GrantRoles());
  auto grants = Only(findings, "missing-grants");
  ASSERT_EQ(grants.size(), 1u) << Rules(findings);
  EXPECT_EQ(grants[0].severity, Severity::kWarning);
  EXPECT_EQ(grants[0].line, 1);
  EXPECT_TRUE(Mentions(grants[0].message, "grants it to service_role (")) << grants[0].message;
  EXPECT_FALSE(Mentions(grants[0].message, "to authenticated, service_role")) << grants[0].message;
}

TEST_F(LintTest, GrantsInALaterFileOrForTheWholeSchemaCount) {
  Write("20240101000000_create.sql",
        "create table public.a (id int);\nalter table public.a enable row level security;\n"
        "create table public.b (id int);\nalter table public.b enable row level security;\n");
  Write("20240102000000_grant.sql",
        "grant select, insert on table public.a to authenticated, service_role;\n"
        "grant all on all tables in schema public to authenticated;\n"
        "grant select on public.b to service_role;\n");
  auto findings = LintDir(GrantRoles());
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, DefaultPrivilegesCountForTablesCreatedAfterThem) {
  Write("20240101000000_defaults.sql",
        "alter default privileges in schema public grant all on tables to authenticated, "
        "service_role;\n");
  Write("20240102000000_create.sql",
        "create table public.a (id int);\nalter table public.a enable row level security;\n");
  EXPECT_TRUE(LintDir(GrantRoles()).empty());
  Write("20231231000000_early.sql",
        "create table public.early (id int);\nalter table public.early enable row level "
        "security;\n");
  auto findings = LintDir(GrantRoles());
  auto grants = Only(findings, "missing-grants");
  ASSERT_EQ(grants.size(), 1u) << Rules(findings);
  EXPECT_EQ(FileName(grants[0]), "20231231000000_early.sql");
}

TEST_F(LintTest, RevokedGrantsAndTablesOutsideTheApi) {
  auto findings = LintSql(
      "create table public.a (id int);\nalter table public.a enable row level security;\n"
      "grant all on public.a to authenticated, service_role;\n"
      "revoke all on public.a from service_role;\n"
      "create table private.b (id int);\n",
      GrantRoles());
  auto grants = Only(findings, "missing-grants");
  ASSERT_EQ(grants.size(), 1u) << Rules(findings);
  EXPECT_TRUE(Mentions(grants[0].message, "public.a")) << grants[0].message;
  EXPECT_EQ(Count(LintSql("create table public.a (id int);\n"
                          "alter table public.a enable row level security;\n"
                          "grant select on public.a to authenticated, service_role;\n"
                          "revoke insert on public.a from service_role;\n",
                          GrantRoles()),
                  "missing-grants"),
            0u);
}

TEST_F(LintTest, MissingGrantsSeverityCanBeRaised) {
  LintOptions options = GrantRoles();
  options.severity["missing-grants"] = Severity::kError;
  auto grants = Only(LintSql("create table public.a (id int);", options), "missing-grants");
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].severity, Severity::kError);
}

// --- views ------------------------------------------------------------------

TEST_F(LintTest, ApiViewWithoutSecurityInvoker) {
  const char* rule = "security-definer-view";
  auto findings = LintSql("select 1;\ncreate view public.feed as select 1 as id;");
  auto views = Only(findings, rule);
  ASSERT_EQ(views.size(), 1u) << Rules(findings);
  EXPECT_EQ(views[0].line, 2);
  EXPECT_EQ(views[0].severity, Severity::kWarning);
  EXPECT_TRUE(Mentions(views[0].message, "security_invoker = true")) << views[0].message;
  EXPECT_EQ(
      Count(LintSql("create or replace view feed with (security_invoker = false) as select 1;"),
            rule),
      1u);
  EXPECT_EQ(Count(LintSql("alter view public.feed set (security_invoker = off);"), rule), 1u);
  EXPECT_EQ(Count(LintSql("alter view public.feed reset (security_invoker);"), rule), 1u);
}

TEST_F(LintTest, InvokerViewsAndViewsOutsideTheApiAreFine) {
  const char* rule = "security-definer-view";
  EXPECT_EQ(Count(LintSql("create view feed with (security_invoker = true) as select 1;"), rule),
            0u);
  EXPECT_EQ(Count(LintSql("create view feed with (security_invoker) as select 1;"), rule), 0u);
  EXPECT_EQ(Count(LintSql("create view private.feed as select 1;"), rule), 0u);
  EXPECT_EQ(Count(LintSql("alter view public.feed set (security_invoker = true);"), rule), 0u);
  Write("20240101000000_view.sql", "create view public.feed as select 1;");
  Write("20240102000000_fix.sql", "alter view public.feed set (security_invoker = on);");
  EXPECT_EQ(Count(LintDir(), rule), 0u);
}

TEST_F(LintTest, ReplacingAnInvokerViewWithoutTheOptionMakesItDefinerAgain) {
  Write("20240101000000_view.sql",
        "create view public.feed with (security_invoker = true) as select 1;");
  Write("20240102000000_replace.sql", "create or replace view public.feed as select 2;");
  auto views = Only(LintDir(), "security-definer-view");
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(FileName(views[0]), "20240102000000_replace.sql");
}

TEST_F(LintTest, DropViewInAnApiSchema) {
  const char* rule = "drop-view";
  auto findings = LintSql("drop view if exists public.feed, stats;");
  auto drops = Only(findings, rule);
  ASSERT_EQ(drops.size(), 1u) << Rules(findings);
  EXPECT_TRUE(Mentions(drops[0].message, "DROP VIEW public.feed, stats removes views"))
      << drops[0].message;
  EXPECT_EQ(Count(LintSql("drop materialized view public.daily;"), rule), 1u);
}

TEST_F(LintTest, DropViewRecreatedInTheFileOrOutsideTheApiIsFine) {
  const char* rule = "drop-view";
  auto findings = LintSql(
      "drop view public.feed;\n"
      "create view public.feed with (security_invoker = true) as select 1 as id, 2 as n;");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
  EXPECT_EQ(Count(LintSql("drop view private.feed;"), rule), 0u);
  EXPECT_EQ(Count(LintSql("create view public.tmp with (security_invoker) as select 1;\n"
                          "drop view public.tmp;"),
                  rule),
            0u);
}

// --- roles ------------------------------------------------------------------

TEST_F(LintTest, AlterRoleSet) {
  const char* rule = "alter-role-set";
  auto findings = LintSql("alter role authenticated set statement_timeout = '8s';");
  auto settings = Only(findings, rule);
  ASSERT_EQ(settings.size(), 1u) << Rules(findings);
  EXPECT_EQ(settings[0].severity, Severity::kWarning);
  EXPECT_TRUE(Mentions(settings[0].message,
                       "SET statement_timeout changes every future session "
                       "of role authenticated in every database"))
      << settings[0].message;
  auto scoped = Only(LintSql("alter user app in database postgres reset all;"), rule);
  ASSERT_EQ(scoped.size(), 1u);
  EXPECT_TRUE(Mentions(scoped[0].message, "in database postgres")) << scoped[0].message;
  EXPECT_EQ(Count(LintSql("alter role authenticated nologin;"), rule), 0u);
  EXPECT_EQ(Count(LintSql("set statement_timeout = '8s';"), rule), 0u);
  EXPECT_EQ(Count(LintSql("alter database postgres set timezone to 'UTC';"), rule), 0u);
}

}  // namespace
}  // namespace freshet
