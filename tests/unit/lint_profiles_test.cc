// The opt-in lint profiles (`idempotent`, `additive-only`), how profiles,
// grant_roles and [lint.rules] decide a rule's severity, and
// `identifier-too-long`.
#include <gtest/gtest.h>

#include <string>

#include "copy/error.h"
#include "tests/unit/lint_fixture.h"

namespace freshet {
namespace {

using testing::Count;
using testing::LintTest;
using testing::Mentions;
using testing::Only;
using testing::Rules;

LintOptions Profile(const std::string& name) {
  LintOptions options;
  options.profiles = {name};
  return options;
}

// --- severities -------------------------------------------------------------

TEST(LintSeverityTest, ProfilesAndGrantRolesTurnRulesOnAndOverridesWin) {
  LintOptions options;
  EXPECT_EQ(EffectiveSeverity("non-idempotent-ddl", options), Severity::kOff);
  EXPECT_EQ(EffectiveSeverity("not-additive", options), Severity::kOff);
  EXPECT_EQ(EffectiveSeverity("missing-grants", options), Severity::kOff);
  options.profiles = {"idempotent", "additive-only"};
  options.grant_roles = {"authenticated"};
  EXPECT_EQ(EffectiveSeverity("non-idempotent-ddl", options), Severity::kWarning);
  EXPECT_EQ(EffectiveSeverity("not-additive", options), Severity::kError);
  EXPECT_EQ(EffectiveSeverity("missing-grants", options), Severity::kWarning);
  options.severity["not-additive"] = Severity::kWarning;
  options.severity["non-idempotent-ddl"] = Severity::kOff;
  EXPECT_EQ(EffectiveSeverity("not-additive", options), Severity::kWarning);
  EXPECT_EQ(EffectiveSeverity("non-idempotent-ddl", options), Severity::kOff);
  EXPECT_EQ(EffectiveSeverity("drop-table", options), Severity::kError);
}

TEST(LintSeverityTest, EveryProfileTurnsOnACataloguedRule) {
  for (const auto& profile : LintProfiles()) {
    bool found = false;
    for (const auto& rule : LintRules())
      found = found || (rule.id == profile.rule && rule.default_severity == Severity::kOff);
    EXPECT_TRUE(found) << profile.name << " -> " << profile.rule;
  }
}

TEST_F(LintTest, UnknownProfileIsAUsageErrorNamingIt) {
  try {
    LintSql("select 1;", Profile("idempotant"));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_TRUE(Mentions(error.what(), "'idempotant'")) << error.what();
    EXPECT_TRUE(Mentions(error.what(), "idempotent or additive-only")) << error.what();
  }
}

// --- idempotent -------------------------------------------------------------

TEST_F(LintTest, IdempotentProfileIsOffByDefault) {
  auto findings = LintSql("create table private.t (id int);\ncreate index i on private.t (id);");
  EXPECT_EQ(Count(findings, "non-idempotent-ddl"), 0u) << Rules(findings);
}

TEST_F(LintTest, IdempotentProfileFlagsDdlThatFailsTheSecondTime) {
  const char* rule = "non-idempotent-ddl";
  auto options = Profile("idempotent");
  for (const char* sql :
       {"create table private.t (id int);", "create index i on private.t (id);",
        "create schema app;", "create sequence s;", "create extension pgcrypto;",
        "create function f() returns int language sql as 'select 1';",
        "create view private.v as select 1;", "create type mood as enum ('ok');",
        "create domain private.pos as int check (value > 0);", "drop function f();",
        "alter table private.t add column a int;", "alter table private.t drop column a;",
        "create policy \"p\" on private.t using (true);",
        "create trigger tr after insert on private.t for each row execute function f();"}) {
    auto findings = LintSql(sql, options);
    auto flagged = Only(findings, rule);
    ASSERT_EQ(flagged.size(), 1u) << sql << ": " << Rules(findings);
    EXPECT_EQ(flagged[0].severity, Severity::kWarning) << sql;
    EXPECT_TRUE(Mentions(flagged[0].message, "fails when the file runs a second time"));
  }
}

TEST_F(LintTest, IdempotentFormsPass) {
  auto findings = LintSql(
      "create table if not exists private.t (id int);\n"
      "create index if not exists i on private.t (id);\n"
      "create schema if not exists app;\ncreate sequence if not exists s;\n"
      "create extension if not exists pgcrypto;\n"
      "create or replace function f() returns int language sql as 'select 1';\n"
      "create or replace view private.v as select 1;\n"
      "drop type if exists mood;\ncreate type mood as enum ('ok');\n"
      "drop function if exists g();\n"
      "alter table private.t add column if not exists a int, drop column if exists b;\n"
      "drop policy if exists \"p\" on private.t;\n"
      "create policy \"p\" on private.t using (true);\n"
      "create or replace trigger tr after insert on private.t for each row execute function "
      "f();\n"
      "do $$ begin create type private.size as enum ('s'); exception when duplicate_object then "
      "null; end $$;\n",
      Profile("idempotent"));
  EXPECT_EQ(Count(findings, "non-idempotent-ddl"), 0u) << Rules(findings);
}

TEST_F(LintTest, IdempotentNamesWhatFails) {
  auto findings = LintSql("alter table private.t add column a int, add column if not exists b int;",
                          Profile("idempotent"));
  auto flagged = Only(findings, "non-idempotent-ddl");
  ASSERT_EQ(flagged.size(), 1u) << Rules(findings);
  EXPECT_TRUE(Mentions(flagged[0].message,
                       "ALTER TABLE private.t ADD COLUMN a without IF NOT "
                       "EXISTS fails"))
      << flagged[0].message;
  auto policy = Only(LintSql("drop policy if exists \"other\" on private.t;\n"
                             "create policy \"p\" on private.t using (true);",
                             Profile("idempotent")),
                     "non-idempotent-ddl");
  ASSERT_EQ(policy.size(), 1u);
  EXPECT_EQ(policy[0].line, 2);
}

// --- additive-only ----------------------------------------------------------

TEST_F(LintTest, AdditiveOnlyProfileFlagsRemovalsAndRewritesAsErrors) {
  const char* rule = "not-additive";
  auto options = Profile("additive-only");
  for (const char* sql :
       {"drop table if exists private.old;", "drop view if exists private.v;",
        "drop type if exists mood;", "drop function if exists f();",
        "alter table private.t drop column if exists a;",
        "alter table private.t alter column a type bigint;",
        "alter table private.t rename column a to b;", "alter table private.t rename to u;",
        "update private.t set a = 1 where id = 2;", "delete from private.t where id = 2;",
        "truncate private.t;", "alter type mood rename value 'ok' to 'fine';"}) {
    auto findings = LintSql(sql, options);
    auto flagged = Only(findings, rule);
    ASSERT_EQ(flagged.size(), 1u) << sql << ": " << Rules(findings);
    EXPECT_EQ(flagged[0].severity, Severity::kError) << sql;
    EXPECT_TRUE(Mentions(flagged[0].message, "`additive-only` profile forbids"));
  }
}

TEST_F(LintTest, AdditiveOnlyNamesWhatIsRenamed) {
  auto findings = LintSql(
      "alter table private.t rename column a to b;\nalter function f() rename to g;\n"
      "alter schema app rename to application;\n",
      Profile("additive-only"));
  auto flagged = Only(findings, "not-additive");
  ASSERT_EQ(flagged.size(), 3u) << Rules(findings);
  EXPECT_TRUE(Mentions(flagged[0].message, "RENAME COLUMN private.t.a TO b removes"))
      << flagged[0].message;
  EXPECT_TRUE(Mentions(flagged[1].message, "RENAME FUNCTION f TO g")) << flagged[1].message;
  EXPECT_TRUE(Mentions(flagged[2].message, "RENAME SCHEMA app TO application"))
      << flagged[2].message;
}

TEST_F(LintTest, AdditiveChangesPassTheAdditiveOnlyProfile) {
  auto findings = LintSql(
      "create table private.t (id int);\n"
      "alter table private.u add column if not exists note text;\n"
      "create index if not exists u_note_idx on private.u (note);\n"
      "insert into private.u (note) values ('x');\n"
      "update private.t set id = 1;\ndelete from private.t;\n"
      "alter table private.t rename to t2;\ndrop table private.t2;\n"
      "alter type mood add value 'meh';\n"
      "alter index private.u_note_idx rename to u_note_key;\n"
      "alter table private.u rename constraint a to b;\n"
      "create or replace view private.v as select 1;\n",
      Profile("additive-only"));
  EXPECT_EQ(Count(findings, "not-additive"), 0u) << Rules(findings);
}

// --- identifier-too-long ----------------------------------------------------

TEST_F(LintTest, IdentifierLongerThan63BytesIsTruncated) {
  const char* rule = "identifier-too-long";
  std::string long_name(70, 'a');
  auto findings = LintSql("create table private." + long_name + " (id int);");
  auto flagged = Only(findings, rule);
  ASSERT_EQ(flagged.size(), 1u) << Rules(findings);
  EXPECT_EQ(flagged[0].severity, Severity::kError);
  EXPECT_TRUE(Mentions(flagged[0].message,
                       "\"" + long_name + "\" (70 bytes) becomes \"" + std::string(63, 'a') + "\""))
      << flagged[0].message;
  EXPECT_EQ(Count(LintSql("alter table t add column \"" + std::string(64, 'B') + "\" int;"), rule),
            1u);
  EXPECT_EQ(Count(LintSql("alter table t rename column a to " + long_name + ";"), rule), 1u);
  std::string accented;
  for (int i = 0; i < 32; ++i) accented += "\xc3\xa9";  // é: 64 bytes
  auto cut = Only(LintSql("create index \"" + accented + "\" on private.t (id);"), rule);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_TRUE(Mentions(cut[0].message, "becomes \"" + accented.substr(0, 62) + "\""))
      << cut[0].message;
}

TEST_F(LintTest, LongTextThatIsNotAnIdentifierIsFine) {
  const char* rule = "identifier-too-long";
  std::string long_text(80, 'x');
  EXPECT_EQ(Count(LintSql("create table private." + std::string(63, 'a') + " (id int);"), rule),
            0u);
  EXPECT_EQ(Count(LintSql("comment on table private.t is '" + long_text + "';"), rule), 0u);
  EXPECT_EQ(Count(LintSql("create function f() returns text language sql as $body$ select '" +
                          long_text + "' as " + long_text + " $body$;"),
                  rule),
            0u);
  EXPECT_EQ(Count(LintSql("-- " + long_text + "\ncreate table private.t (id int);"), rule), 0u);
  EXPECT_EQ(
      Count(LintSql("alter table private.t add column note text default E'" + long_text + "\\'';"),
            rule),
      0u);
}

}  // namespace
}  // namespace freshet
