#include "apply/lint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "copy/error.h"
#include "tests/unit/lint_fixture.h"

namespace freshet {
namespace {

using testing::Count;
using testing::kLintFile;
using testing::LintTest;
using testing::Only;
using testing::Rules;

// --- the rule list ---------------------------------------------------------

TEST(LintRulesTest, EveryRuleIsDocumentedOnce) {
  const std::map<std::string, Severity> expected = {
      {"migration-name", Severity::kError},
      {"skipped-file", Severity::kWarning},
      {"duplicate-version", Severity::kError},
      {"syntax-error", Severity::kError},
      {"drop-table", Severity::kError},
      {"drop-schema", Severity::kError},
      {"drop-database", Severity::kError},
      {"cascade", Severity::kError},
      {"truncate", Severity::kError},
      {"delete-without-where", Severity::kError},
      {"update-without-where", Severity::kError},
      {"drop-column", Severity::kError},
      {"alter-column-type", Severity::kWarning},
      {"set-not-null", Severity::kWarning},
      {"add-column-not-null-without-default", Severity::kError},
      {"adding-field-with-default", Severity::kWarning},
      {"constraint-not-valid", Severity::kWarning},
      {"adding-foreign-key-constraint", Severity::kWarning},
      {"adding-check-constraint", Severity::kWarning},
      {"validate-in-same-transaction", Severity::kWarning},
      {"create-index-not-concurrently", Severity::kWarning},
      {"require-concurrent-index-deletion", Severity::kWarning},
      {"concurrently-in-transaction", Severity::kError},
      {"no-transaction-single-statement", Severity::kError},
      {"rename", Severity::kWarning},
      {"policy-on-existing-table", Severity::kWarning},
      {"transaction-control", Severity::kError},
      {"missing-lock-timeout", Severity::kOff},
      {"rls-not-enabled", Severity::kWarning},
      {"missing-grants", Severity::kOff},
      {"security-definer-view", Severity::kWarning},
      {"drop-view", Severity::kWarning},
      {"alter-role-set", Severity::kWarning},
      {"identifier-too-long", Severity::kError},
      {"non-idempotent-ddl", Severity::kOff},
      {"not-additive", Severity::kOff},
  };
  std::map<std::string, Severity> actual;
  for (const auto& rule : LintRules()) {
    EXPECT_TRUE(actual.emplace(rule.id, rule.default_severity).second) << rule.id;
    EXPECT_GT(rule.summary.size(), 40u) << rule.id;
  }
  EXPECT_EQ(actual, expected);
}

TEST(ParseSeverityTest, KnownNamesAndUsageErrorOtherwise) {
  EXPECT_EQ(ParseSeverity("error"), Severity::kError);
  EXPECT_EQ(ParseSeverity("warning"), Severity::kWarning);
  EXPECT_EQ(ParseSeverity("off"), Severity::kOff);
  try {
    ParseSeverity("fatal");
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(error.what()).find("fatal"), std::string::npos);
  }
}

// --- naming and syntax -----------------------------------------------------

TEST_F(LintTest, MigrationNameAtLineOneUnderTheStrictProfile) {
  Write("20241301000000_bad_month.sql", "select 1;");
  Write("20240101000000_good.sql", "select 1;");
  set_ = LoadMigrations(dir_, {Layout::kSupabase, Naming::kStrict});
  auto findings = Lint(set_, {});
  ASSERT_EQ(findings.size(), 1u) << Rules(findings);
  EXPECT_EQ(findings[0].rule, "migration-name");
  EXPECT_EQ(findings[0].severity, Severity::kError);
  EXPECT_EQ(findings[0].line, 1);
  EXPECT_EQ(findings[0].column, 1);
  EXPECT_EQ(std::filesystem::path(findings[0].file).filename(), "20241301000000_bad_month.sql");
}

TEST_F(LintTest, FilesTheCliSkipsAreWarnedAboutAndTheirContentIsStillChecked) {
  Write("20240101000000_create-users.sql", "create table users (id int);");
  Write("20240102000000_add@email.v2.sql", "alter table users drop column id;");
  Write("create_orders.sql", "drop table users;");
  Write("seed.sql", "delete from users;");
  auto findings = LintDir();
  std::vector<std::string> seen;
  for (const auto& finding : findings)
    seen.push_back(std::filesystem::path(finding.file).filename().string() + " " + finding.rule +
                   " " + SeverityName(finding.severity));
  EXPECT_EQ(seen,
            (std::vector<std::string>{"20240101000000_create-users.sql rls-not-enabled warning",
                                      "20240102000000_add@email.v2.sql drop-column error",
                                      "create_orders.sql skipped-file warning",
                                      "create_orders.sql drop-table error"}));
  EXPECT_NE(RenderLintText(findings, set_).find("3 migration files checked"), std::string::npos);
}

TEST_F(LintTest, DuplicateVersion) {
  Write("20240101000000_a.sql", "select 1;");
  Write("20240101000000_b.sql", "select 1;");
  Write("20240102000000_c.sql", "select 1;");
  auto findings = LintDir();
  EXPECT_EQ(Count(findings, "duplicate-version"), 2u) << Rules(findings);
  EXPECT_EQ(findings.size(), 2u);
}

TEST_F(LintTest, DistinctVersionsAreFine) {
  Write("20240101000000_a.sql", "select 1;");
  Write("20240101000001_b.sql", "select 1;");
  EXPECT_TRUE(LintDir().empty());
}

TEST_F(LintTest, SyntaxErrorHasPositionAndMessageAndOtherFilesAreLinted) {
  Write("20240101000000_broken.sql", "select 1;\n\ncreate tablee x (a int);\n");
  Write("20240102000000_drop.sql", "drop table users;");
  auto findings = LintDir();
  auto syntax = Only(findings, "syntax-error");
  ASSERT_EQ(syntax.size(), 1u) << Rules(findings);
  EXPECT_EQ(std::filesystem::path(syntax[0].file).filename(), "20240101000000_broken.sql");
  EXPECT_EQ(syntax[0].line, 3);
  EXPECT_EQ(syntax[0].column, 8);
  EXPECT_NE(syntax[0].message.find("syntax error at or near \"tablee\""), std::string::npos);
  EXPECT_EQ(Count(findings, "drop-table"), 1u);
}

TEST_F(LintTest, SyntaxErrorCannotBeTurnedOffOrDowngraded) {
  LintOptions options;
  options.severity["syntax-error"] = Severity::kOff;
  auto findings = LintSql("selec 1;", options);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Severity::kError);
  options.severity["syntax-error"] = Severity::kWarning;
  EXPECT_EQ(LintSql("selec 1;", options)[0].severity, Severity::kError);
}

TEST_F(LintTest, DollarQuotedBodiesAreNotStatements) {
  auto findings = LintSql(
      "create function cleanup() returns void language plpgsql as $$\n"
      "begin\n  drop table x;\n  delete from y;\n  truncate z;\nend\n$$;\n"
      "do $do$ begin execute 'drop table w'; commit; end $do$;\n");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, BeginAtomicBodiesParseAndAreNotChecked) {
  auto findings = LintSql(
      "create function purge() returns void language sql\n"
      "begin atomic\n  delete from sessions;\n  update users set active = false;\nend;\n"
      "drop table legacy;\n");
  EXPECT_EQ(Count(findings, "syntax-error"), 0u) << Rules(findings);
  EXPECT_EQ(Count(findings, "delete-without-where"), 0u) << Rules(findings);
  EXPECT_EQ(Count(findings, "update-without-where"), 0u) << Rules(findings);
  EXPECT_EQ(Count(findings, "transaction-control"), 0u) << Rules(findings);
  auto drops = Only(findings, "drop-table");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(drops[0].line, 6);
}

// --- destructive statements ------------------------------------------------

TEST_F(LintTest, DropTable) {
  auto findings = LintSql("select 1;\ndrop table public.users, posts;");
  auto drops = Only(findings, "drop-table");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(drops[0].severity, Severity::kError);
  EXPECT_EQ(drops[0].line, 2);
  EXPECT_EQ(drops[0].column, 1);
  EXPECT_NE(drops[0].message.find("public.users"), std::string::npos);
}

TEST_F(LintTest, DropViewOrTableCreatedInTheSameFileIsNotDropTable) {
  EXPECT_EQ(Count(LintSql("drop view v;"), "drop-table"), 0u);
  auto findings = LintSql("create table scratch (a int);\ndrop table scratch;");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, DropSchema) {
  EXPECT_EQ(Count(LintSql("drop schema legacy;"), "drop-schema"), 1u);
  EXPECT_EQ(Count(LintSql("create schema legacy;"), "drop-schema"), 0u);
}

TEST_F(LintTest, DropDatabase) {
  EXPECT_EQ(Count(LintSql("drop database old;"), "drop-database"), 1u);
  EXPECT_EQ(Count(LintSql("alter database postgres set timezone to 'UTC';"), "drop-database"), 0u);
}

TEST_F(LintTest, CascadeOnDropTruncateAndAlterTable) {
  EXPECT_EQ(Count(LintSql("drop view v cascade;"), "cascade"), 1u);
  EXPECT_EQ(Count(LintSql("drop function f() cascade;"), "cascade"), 1u);
  EXPECT_EQ(Count(LintSql("truncate t cascade;"), "cascade"), 1u);
  EXPECT_EQ(Count(LintSql("alter table t drop column a cascade;"), "cascade"), 1u);
  EXPECT_EQ(Count(LintSql("alter table t drop constraint c cascade;"), "cascade"), 1u);
}

TEST_F(LintTest, OnDeleteCascadeIsNotCascade) {
  auto findings = LintSql(
      "create table child (id int, parent_id int references parent (id) on delete cascade);\n"
      "drop view v restrict;");
  EXPECT_EQ(Count(findings, "cascade"), 0u) << Rules(findings);
}

TEST_F(LintTest, Truncate) {
  EXPECT_EQ(Count(LintSql("truncate audit_log;"), "truncate"), 1u);
  EXPECT_EQ(Count(LintSql("delete from audit_log where created_at < now() - interval '90 days';"),
                  "truncate"),
            0u);
}

TEST_F(LintTest, DeleteWithoutWhere) {
  EXPECT_EQ(Count(LintSql("delete from sessions;"), "delete-without-where"), 1u);
  EXPECT_EQ(Count(LintSql("with d as (delete from sessions returning id) select count(*) from d;"),
                  "delete-without-where"),
            1u);
  EXPECT_EQ(
      Count(LintSql("delete from sessions where expires_at < now();"), "delete-without-where"), 0u);
}

TEST_F(LintTest, UpdateWithoutWhere) {
  EXPECT_EQ(Count(LintSql("update users set active = true;"), "update-without-where"), 1u);
  EXPECT_EQ(Count(LintSql("update users set active = true where id = 1;"), "update-without-where"),
            0u);
}

TEST_F(LintTest, DropColumn) {
  auto findings = LintSql("alter table users drop column nickname;");
  auto drops = Only(findings, "drop-column");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_NE(drops[0].message.find("users.nickname"), std::string::npos);
  EXPECT_EQ(Count(LintSql("alter table users drop constraint users_nickname_key;"), "drop-column"),
            0u);
  EXPECT_EQ(
      Count(LintSql("create table t (a int, b int);\nalter table t drop column b;"), "drop-column"),
      0u);
}

// --- locking and compatibility ---------------------------------------------

TEST_F(LintTest, AlterColumnType) {
  auto findings = LintSql("alter table users alter column age type bigint;");
  auto changes = Only(findings, "alter-column-type");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].severity, Severity::kWarning);
  EXPECT_EQ(
      Count(LintSql("alter table users alter column age set default 0;"), "alter-column-type"), 0u);
}

TEST_F(LintTest, SetNotNull) {
  EXPECT_EQ(Count(LintSql("alter table users alter column email set not null;"), "set-not-null"),
            1u);
  EXPECT_EQ(Count(LintSql("alter table users alter column email drop not null;"), "set-not-null"),
            0u);
}

TEST_F(LintTest, AddColumnNotNullWithoutDefault) {
  const char* rule = "add-column-not-null-without-default";
  EXPECT_EQ(Count(LintSql("alter table users add column plan text not null;"), rule), 1u);
  EXPECT_EQ(Count(LintSql("alter table users add column plan text not null default null;"), rule),
            1u);
  EXPECT_EQ(Count(LintSql("alter table users add column plan text not null default 'x';"), rule),
            0u);
  EXPECT_EQ(Count(LintSql("alter table users add column plan text;"), rule), 0u);
  EXPECT_EQ(
      Count(LintSql("alter table users add column n bigint generated always as identity;"), rule),
      0u);
}

TEST_F(LintTest, AddColumnNotNullToATableCreatedInTheSameFileIsFine) {
  auto findings = LintSql(
      "create table plans (id int primary key);\n"
      "alter table plans enable row level security;\n"
      "alter table plans add column name text not null;\n");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, AddColumnNotNullToATableCreatedInAnEarlierFileIsFlagged) {
  Write("20240101000000_create.sql",
        "create table plans (id int);\nalter table plans enable row level security;");
  Write("20240102000000_add.sql", "alter table plans add column name text not null;");
  auto findings = LintDir();
  EXPECT_EQ(Count(findings, "add-column-not-null-without-default"), 1u) << Rules(findings);
}

TEST_F(LintTest, ConstraintNotValid) {
  const char* rule = "constraint-not-valid";
  auto findings = LintSql(
      "alter table orders add constraint orders_user_fk foreign key (user_id) "
      "references users (id);");
  ASSERT_EQ(Count(findings, rule), 1u);
  EXPECT_NE(Only(findings, rule)[0].message.find("NOT VALID"), std::string::npos);
  EXPECT_EQ(Count(LintSql("alter table orders add constraint positive check (total > 0);"), rule),
            1u);
  EXPECT_EQ(Count(LintSql("alter table orders add constraint orders_user_fk foreign key "
                          "(user_id) references users (id) not valid;"),
                  rule),
            0u);
  EXPECT_EQ(Count(LintSql("alter table orders validate constraint orders_user_fk;"), rule), 0u);
  EXPECT_EQ(Count(LintSql("alter table orders add constraint u unique (code);"), rule), 0u);
  EXPECT_EQ(Count(LintSql("create table orders (id int, user_id int);\n"
                          "alter table orders add constraint fk foreign key (user_id) "
                          "references users (id);"),
                  rule),
            0u);
}

TEST_F(LintTest, CreateIndexNotConcurrently) {
  const char* rule = "create-index-not-concurrently";
  auto findings = LintSql("create index users_email_idx on users (email);");
  ASSERT_EQ(Count(findings, rule), 1u);
  EXPECT_EQ(Only(findings, rule)[0].severity, Severity::kWarning);
  EXPECT_EQ(Count(LintSql("create unique index on users (email);"), rule), 1u);
  EXPECT_EQ(Count(LintSql("create table t (a int);\ncreate index on t (a);"), rule), 0u);
  auto concurrent = LintSql(
      "-- freshet:no-transaction\ncreate index concurrently users_email_idx on users "
      "(email);\n");
  EXPECT_TRUE(concurrent.empty()) << Rules(concurrent);
}

TEST_F(LintTest, ConcurrentlyInTransaction) {
  const char* rule = "concurrently-in-transaction";
  EXPECT_EQ(Count(LintSql("select 1;\ncreate index concurrently i on t (a);"), rule), 1u);
  EXPECT_EQ(Count(LintSql("drop index concurrently i;\nselect 1;"), rule), 1u);
  EXPECT_EQ(Count(LintSql("select 1;\nreindex index concurrently i;"), rule), 1u);
  // Alone in its file, it runs outside a transaction: nothing to report.
  EXPECT_EQ(Count(LintSql("create index concurrently i on t (a);"), rule), 0u);
  EXPECT_EQ(Count(LintSql("drop index concurrently i;"), rule), 0u);
  EXPECT_EQ(Count(LintSql("-- freshet:no-transaction\ndrop index concurrently i;"), rule), 0u);
  EXPECT_EQ(Count(LintSql("-- freshet:no-transaction\nreindex index concurrently i;"), rule), 0u);
}

TEST_F(LintTest, NoTransactionFileWithSeveralStatements) {
  const char* rule = "no-transaction-single-statement";
  auto findings = LintSql(
      "-- freshet:no-transaction\n"
      "create index concurrently a_idx on t (a);\n"
      "create index concurrently b_idx on t (b);\n");
  auto several = Only(findings, rule);
  ASSERT_EQ(several.size(), 1u) << Rules(findings);
  EXPECT_EQ(several[0].line, 3);
  EXPECT_EQ(several[0].severity, Severity::kError);
  EXPECT_EQ(
      Count(LintSql("-- freshet:no-transaction\ncreate index concurrently a on t (a);"), rule), 0u);
  EXPECT_EQ(Count(LintSql("select 1;\nselect 2;"), rule), 0u);
}

TEST_F(LintTest, RenameTableOrColumn) {
  EXPECT_EQ(Count(LintSql("alter table users rename to accounts;"), "rename"), 1u);
  auto findings = LintSql("alter table users rename column name to full_name;");
  auto renames = Only(findings, "rename");
  ASSERT_EQ(renames.size(), 1u);
  EXPECT_NE(renames[0].message.find("users.name"), std::string::npos);
  EXPECT_EQ(renames[0].severity, Severity::kWarning);
}

TEST_F(LintTest, RenameOfIndexConstraintOrNewTableIsNotRename) {
  EXPECT_EQ(Count(LintSql("alter index users_email_idx rename to users_email_key;"), "rename"), 0u);
  EXPECT_EQ(Count(LintSql("alter table users rename constraint a to b;"), "rename"), 0u);
  auto findings = LintSql(
      "create table draft (a int);\nalter table draft rename to final;\n"
      "alter table final enable row level security;\n");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, TransactionControl) {
  auto findings = LintSql("begin;\ncreate table t (a int);\nsavepoint s;\ncommit;");
  EXPECT_EQ(Count(findings, "transaction-control"), 3u) << Rules(findings);
  EXPECT_EQ(Count(LintSql("start transaction;"), "transaction-control"), 1u);
  EXPECT_EQ(Count(LintSql("rollback;"), "transaction-control"), 1u);
  EXPECT_EQ(Count(LintSql("do $$ begin perform 1; end $$;"), "transaction-control"), 0u);
}

TEST_F(LintTest, TemplateWrappedInBeginCommitIsAccepted) {
  auto findings = LintSql(
      "BEGIN;\nSET lock_timeout = '5s';\n"
      "create table public.notes (id bigint primary key, body text);\n"
      "alter table public.notes enable row level security;\nCOMMIT;\n");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
  findings = LintSql("start transaction;\nalter table users add column bio text;\nend;");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, TransactionControlBesidesAPlainWrapperStaysAnError) {
  const char* rule = "transaction-control";
  auto middle = LintSql("begin;\nselect 1;\ncommit;\nselect 2;\n");
  EXPECT_EQ(Rules(Only(middle, rule)), "transaction-control@1 transaction-control@3 ");
  EXPECT_EQ(Count(LintSql("begin;\nselect 1;\ncommit;\nbegin;\nselect 2;\ncommit;"), rule), 4u);
  EXPECT_EQ(Count(LintSql("begin;\nselect 1;\nrollback;"), rule), 2u);
  EXPECT_EQ(Count(LintSql("begin;\nselect 1;"), rule), 1u);
  EXPECT_EQ(Count(LintSql("select 1;\ncommit;"), rule), 1u);
  EXPECT_EQ(Count(LintSql("begin isolation level serializable;\nselect 1;\ncommit;"), rule), 2u);
  EXPECT_EQ(Count(LintSql("begin;\nselect 1;\ncommit and chain;"), rule), 2u);
  auto nested = LintSql("begin;\nsavepoint s;\nselect 1;\nrelease savepoint s;\ncommit;");
  EXPECT_EQ(Count(nested, rule), 4u) << Rules(nested);
  EXPECT_TRUE(HasErrors(nested));
}

TEST_F(LintTest, MissingLockTimeoutIsOffByDefault) {
  auto findings = LintSql("alter table users add column bio text;\ncreate index i on users (a);");
  EXPECT_EQ(Count(findings, "missing-lock-timeout"), 0u) << Rules(findings);
}

TEST_F(LintTest, MissingLockTimeoutWhenTurnedOn) {
  const char* rule = "missing-lock-timeout";
  LintOptions options{{{rule, Severity::kWarning}}};
  auto findings = LintSql("alter table users add column bio text;", options);
  ASSERT_EQ(Count(findings, rule), 1u) << Rules(findings);
  EXPECT_EQ(Only(findings, rule)[0].severity, Severity::kWarning);
  EXPECT_EQ(Count(LintSql("create index i on users (a);", options), rule), 1u);
  EXPECT_EQ(Count(LintSql("drop table users;", options), rule), 1u);
  EXPECT_EQ(Count(LintSql("truncate users;", options), rule), 1u);
  EXPECT_EQ(Count(LintSql("vacuum full users;", options), rule), 1u);
  EXPECT_EQ(Count(LintSql("cluster users using users_pkey;", options), rule), 1u);
  EXPECT_EQ(Count(LintSql("reindex table users;", options), rule), 1u);
  EXPECT_EQ(Count(LintSql("create trigger t before update on users for each row execute "
                          "function touch();",
                          options),
                  rule),
            1u);
  EXPECT_EQ(Count(LintSql("create policy p on users using (true);", options), rule), 1u);
  EXPECT_EQ(
      Count(LintSql("alter table users add column bio text;\nset lock_timeout = '5s';", options),
            rule),
      1u);
}

TEST_F(LintTest, MissingLockTimeoutIsReportedOncePerFileAtTheFirstStatement) {
  const char* rule = "missing-lock-timeout";
  LintOptions options{{{rule, Severity::kError}}};
  auto findings = LintSql(
      "create table t (a int);\nalter table users add column bio text;\n"
      "create index i on users (bio);\ndrop table old;\n",
      options);
  auto timeouts = Only(findings, rule);
  ASSERT_EQ(timeouts.size(), 1u) << Rules(findings);
  EXPECT_EQ(timeouts[0].line, 2);
  EXPECT_EQ(timeouts[0].severity, Severity::kError);
  EXPECT_TRUE(testing::Mentions(timeouts[0].message, "ALTER TABLE users")) << timeouts[0].message;
  EXPECT_TRUE(
      testing::Mentions(timeouts[0].message, "(nor before 2 more such statements) in this file"))
      << timeouts[0].message;
}

TEST_F(LintTest, LockTimeoutSetEarlierInTheFile) {
  const char* rule = "missing-lock-timeout";
  LintOptions options{{{rule, Severity::kWarning}}};
  EXPECT_EQ(Count(LintSql("set lock_timeout = '5s';\nalter table users add column bio text;\n"
                          "create trigger t before update on users for each row execute "
                          "function touch();",
                          options),
                  rule),
            0u);
  EXPECT_EQ(Count(LintSql("set local lock_timeout to '5s';\nalter table users add column bio "
                          "text;",
                          options),
                  rule),
            0u);
  EXPECT_EQ(Count(LintSql("select set_config('lock_timeout', '5s', true);\n"
                          "alter table users add column bio text;",
                          options),
                  rule),
            0u);
  EXPECT_EQ(Count(LintSql("set lock_timeout = 0;\nalter table users add column bio text;", options),
                  rule),
            1u);
  EXPECT_EQ(Count(LintSql("vacuum users;", options), rule), 0u);
  EXPECT_EQ(Count(LintSql("create table t (a int);\nalter table t enable row level security;\n"
                          "create index on t (a);",
                          options),
                  rule),
            0u);
}

TEST_F(LintTest, RlsNotEnabled) {
  auto findings = LintSql("create table profiles (id uuid primary key);");
  auto rls = Only(findings, "rls-not-enabled");
  ASSERT_EQ(rls.size(), 1u);
  EXPECT_EQ(rls[0].severity, Severity::kWarning);
  EXPECT_NE(rls[0].message.find("ENABLE ROW LEVEL SECURITY"), std::string::npos);
  EXPECT_EQ(Count(LintSql("create table public.profiles (id uuid);"), "rls-not-enabled"), 1u);
}

TEST_F(LintTest, RlsEnabledLaterInTheFileOrOutsideTheApi) {
  EXPECT_TRUE(LintSql("create table profiles (id uuid primary key);\n"
                      "alter table public.profiles enable row level security;")
                  .empty());
  EXPECT_EQ(Count(LintSql("create table private.secrets (id int);"), "rls-not-enabled"), 0u);
  EXPECT_EQ(Count(LintSql("create temporary table scratch (id int);"), "rls-not-enabled"), 0u);
  // Enabling it for another table does not count.
  EXPECT_EQ(Count(LintSql("create table a (id int);\nalter table b enable row level security;"),
                  "rls-not-enabled"),
            1u);
}

TEST_F(LintTest, RlsFollowsConfiguredApiSchemas) {
  LintOptions options;
  options.api_schemas = {"api"};
  EXPECT_EQ(Count(LintSql("create table api.items (id int);", options), "rls-not-enabled"), 1u);
  EXPECT_EQ(Count(LintSql("create table items (id int);", options), "rls-not-enabled"), 0u);
}

// --- ignore directives and severities --------------------------------------

TEST_F(LintTest, IgnoreSilencesOnlyTheNamedRuleForOnlyTheNextStatement) {
  auto findings = LintSql(
      "set lock_timeout = '5s';\n"
      "-- freshet:ignore drop-column\n"
      "alter table users drop column a, alter column b type bigint;\n"
      "alter table users drop column c;\n");
  auto drops = Only(findings, "drop-column");
  ASSERT_EQ(drops.size(), 1u) << Rules(findings);
  EXPECT_EQ(drops[0].line, 4);
  auto types = Only(findings, "alter-column-type");
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0].line, 3);
}

TEST_F(LintTest, IgnoreTakesSeveralRulesCommaOrSpaceSeparated) {
  auto findings = LintSql(
      "-- freshet:ignore drop-table, cascade missing-lock-timeout -- approved in #42\n"
      "drop table users cascade;\n");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
  findings = LintSql("/* freshet:ignore drop-table */\ndrop table users;\n",
                     LintOptions{{{"missing-lock-timeout", Severity::kOff}}});
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, SeverityOverrideAndOff) {
  LintOptions options;
  options.severity["drop-column"] = Severity::kWarning;
  options.severity["missing-lock-timeout"] = Severity::kOff;
  auto findings = LintSql("alter table users drop column a;", options);
  ASSERT_EQ(findings.size(), 1u) << Rules(findings);
  EXPECT_EQ(findings[0].rule, "drop-column");
  EXPECT_EQ(findings[0].severity, Severity::kWarning);
  EXPECT_FALSE(HasErrors(findings));
  options.severity["drop-column"] = Severity::kOff;
  EXPECT_TRUE(LintSql("alter table users drop column a;", options).empty());
  options.severity["set-not-null"] = Severity::kError;
  EXPECT_TRUE(HasErrors(LintSql("alter table users alter column a set not null;", options)));
}

TEST_F(LintTest, FindingsAreSortedByFileLineColumn) {
  Write("20240102000000_second.sql", "select 1;\ndelete from b;\n");
  Write("20240101000000_first.sql", "truncate a;   drop table c;\nupdate d set x = 1;\n");
  LintOptions options;
  options.severity["missing-lock-timeout"] = Severity::kOff;
  auto findings = LintDir(options);
  ASSERT_EQ(findings.size(), 4u) << Rules(findings);
  EXPECT_EQ(findings[0].rule, "truncate");
  EXPECT_EQ(findings[1].rule, "drop-table");
  EXPECT_EQ(findings[1].column, 15);
  EXPECT_EQ(findings[2].rule, "update-without-where");
  EXPECT_EQ(findings[3].rule, "delete-without-where");
  EXPECT_EQ(std::filesystem::path(findings[3].file).filename(), "20240102000000_second.sql");
  EXPECT_TRUE(std::is_sorted(findings.begin(), findings.end(), [](const auto& a, const auto& b) {
    return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
  }));
}

TEST_F(LintTest, CleanMigrationHasNoFindings) {
  auto findings = LintSql(
      "create table public.todos (\n  id bigint generated always as identity primary key,\n"
      "  title text not null,\n  done boolean not null default false\n);\n"
      "alter table public.todos enable row level security;\n"
      "create policy \"own todos\" on public.todos for select using (true);\n"
      "create index todos_title_idx on public.todos (title);\n");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
  EXPECT_FALSE(HasErrors(findings));
}

// --- rendering -------------------------------------------------------------

TEST_F(LintTest, TextRenderingHasFileLineColumnAndSummary) {
  auto findings = LintSql("select 1;\n  drop table users;\n",
                          LintOptions{{{"missing-lock-timeout", Severity::kWarning}}});
  std::string text = RenderLintText(findings, set_);
  std::string path = (std::filesystem::path(dir_) / kLintFile).string();
  EXPECT_NE(text.find(path + ":2:3: error[drop-table]: DROP TABLE users"), std::string::npos)
      << text;
  EXPECT_NE(text.find(path + ":2:3: warning[missing-lock-timeout]: "), std::string::npos) << text;
  EXPECT_NE(text.find("1 migration file checked: 1 error, 1 warning\n"), std::string::npos) << text;
  EXPECT_EQ(RenderLintText({}, set_), "1 migration file checked: no problems found\n");
}

TEST(LintRenderTest, JsonIsAnArrayOfFindings) {
  std::vector<Finding> findings = {
      {"m/20240101000000_a.sql", 3, 5, "drop-table", Severity::kError, "DROP \"x\""},
      {"m/20240101000000_a.sql", 4, 1, "rename", Severity::kWarning, "renamed"}};
  auto json = nlohmann::json::parse(RenderLintJson(findings));
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["file"], "m/20240101000000_a.sql");
  EXPECT_EQ(json[0]["line"], 3);
  EXPECT_EQ(json[0]["column"], 5);
  EXPECT_EQ(json[0]["rule"], "drop-table");
  EXPECT_EQ(json[0]["severity"], "error");
  EXPECT_EQ(json[0]["message"], "DROP \"x\"");
  EXPECT_EQ(json[1]["severity"], "warning");
  EXPECT_EQ(json[0].size(), 6u);
  EXPECT_EQ(nlohmann::json::parse(RenderLintJson({})), nlohmann::json::array());
}

TEST(LintRenderTest, MarkdownHasCountsAndEscapesPipes) {
  MigrationSet set;
  set.dir = "supabase/migrations";
  set.files.resize(3);
  for (int i = 0; i < 3; ++i)
    set.files[i].filename = "2024010100000" + std::to_string(i) + "_x.sql";
  std::vector<Finding> findings = {
      {"supabase/migrations/20240101000000_x.sql", 2, 1, "drop-table", Severity::kError, "a | b"},
      {"supabase/migrations/20240101000001_x.sql", 1, 1, "rename", Severity::kWarning, "r"},
      {"supabase/migrations/20240101000002_x.sql", 1, 1, "rename", Severity::kWarning, "s"}};
  std::string markdown = RenderLintMarkdown(findings, set);
  EXPECT_EQ(markdown.rfind("## ", 0), 0u) << markdown;
  EXPECT_NE(markdown.find("3 migration files"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("**1 error**"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("**2 warnings**"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("| Severity |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("a \\| b"), std::string::npos) << markdown;
  EXPECT_EQ(markdown.find("a | b"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("20240101000000_x.sql:2:1"), std::string::npos) << markdown;
}

TEST(LintRenderTest, MarkdownWithoutFindingsSaysSo) {
  MigrationSet set;
  set.dir = "supabase/migrations";
  std::string markdown = RenderLintMarkdown({}, set);
  EXPECT_NE(markdown.find("No problems found"), std::string::npos) << markdown;
  EXPECT_EQ(markdown.find("| Severity |"), std::string::npos) << markdown;
}

}  // namespace
}  // namespace freshet
