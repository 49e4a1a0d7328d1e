// The lint rules about locks and rewrites on existing tables: volatile
// defaults and stored generated columns, inline FK/CHECK in ADD COLUMN,
// NOT VALID validated in the same file, policies, DROP INDEX.
#include <gtest/gtest.h>

#include "tests/unit/lint_fixture.h"

namespace freshet {
namespace {

using testing::Count;
using testing::LintTest;
using testing::Mentions;
using testing::Only;
using testing::Rules;

constexpr const char* kRewrite = "adding-field-with-default";

TEST_F(LintTest, VolatileDefaultOnAnExistingTableRewritesIt) {
  for (const char* expression :
       {"random()", "gen_random_uuid()", "extensions.uuid_generate_v4()", "clock_timestamp()",
        "nextval('orders_seq')", "(random() * 100)::int", "md5(random()::text)"}) {
    auto findings = LintSql(std::string("alter table orders add column token text default ") +
                            expression + ";");
    auto rewrites = Only(findings, kRewrite);
    ASSERT_EQ(rewrites.size(), 1u) << expression << ": " << Rules(findings);
    EXPECT_EQ(rewrites[0].severity, Severity::kWarning);
    EXPECT_TRUE(Mentions(rewrites[0].message, "orders.token rewrites the whole table"))
        << rewrites[0].message;
    EXPECT_TRUE(Mentions(rewrites[0].message, "volatile")) << rewrites[0].message;
  }
}

TEST_F(LintTest, StoredGeneratedSerialAndIdentityColumnsRewriteTheTable) {
  auto generated = LintSql(
      "alter table orders add column total_cents bigint generated always as (total * 100) "
      "stored;");
  ASSERT_EQ(Count(generated, kRewrite), 1u) << Rules(generated);
  EXPECT_TRUE(Mentions(Only(generated, kRewrite)[0].message, "GENERATED ... STORED"));
  EXPECT_EQ(Count(LintSql("alter table orders add column n bigserial;"), kRewrite), 1u);
  EXPECT_EQ(Count(LintSql("alter table orders add column n bigint generated always as identity;"),
                  kRewrite),
            1u);
}

TEST_F(LintTest, ConstantAndStableDefaultsAreInstant) {
  for (const char* expression : {"now()", "current_timestamp", "'pending'", "0", "true",
                                 "'{}'::jsonb", "timezone('utc'::text, now())", "auth.uid()",
                                 "null", "array[]::text[]", "(now() + interval '30 days')"}) {
    auto findings =
        LintSql(std::string("alter table orders add column x text default ") + expression + ";");
    EXPECT_EQ(Count(findings, kRewrite), 0u) << expression << ": " << Rules(findings);
  }
  EXPECT_EQ(Count(LintSql("alter table orders add column note text;"), kRewrite), 0u);
  EXPECT_EQ(
      Count(LintSql("alter table orders alter column id set default gen_random_uuid();"), kRewrite),
      0u);
}

TEST_F(LintTest, VolatileDefaultOnATableCreatedInTheSameFileIsFine) {
  auto findings = LintSql(
      "create table private.tokens (id int);\n"
      "alter table private.tokens add column token uuid default gen_random_uuid();\n"
      "alter table private.tokens add column n bigint generated always as (id * 2) stored;\n");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, UnknownFunctionInADefaultMayRewrite) {
  auto findings = LintSql("alter table orders add column code text default app.new_code();");
  auto rewrites = Only(findings, kRewrite);
  ASSERT_EQ(rewrites.size(), 1u) << Rules(findings);
  EXPECT_TRUE(Mentions(rewrites[0].message, "may rewrite the whole table")) << rewrites[0].message;
  EXPECT_TRUE(Mentions(rewrites[0].message, "app.new_code()")) << rewrites[0].message;
  EXPECT_TRUE(Mentions(rewrites[0].message, "STABLE/IMMUTABLE")) << rewrites[0].message;
}

TEST_F(LintTest, ForeignKeyInlineInAddColumn) {
  const char* rule = "adding-foreign-key-constraint";
  auto findings =
      LintSql("alter table posts add column author_id uuid references auth.users (id);");
  auto inline_fk = Only(findings, rule);
  ASSERT_EQ(inline_fk.size(), 1u) << Rules(findings);
  EXPECT_TRUE(Mentions(inline_fk[0].message, "posts.author_id REFERENCES auth.users"));
  EXPECT_TRUE(Mentions(inline_fk[0].message, "NOT VALID"));
  auto separate = LintSql(
      "alter table posts add column author_id uuid;\n"
      "alter table posts add constraint posts_author_fk foreign key (author_id) "
      "references auth.users (id) not valid;\n");
  EXPECT_TRUE(separate.empty()) << Rules(separate);
  EXPECT_EQ(Count(LintSql("create table posts (id int);\n"
                          "alter table posts add column author_id uuid references auth.users;"),
                  rule),
            0u);
}

TEST_F(LintTest, CheckInlineInAddColumn) {
  const char* rule = "adding-check-constraint";
  auto findings = LintSql("alter table orders add column qty int check (qty > 0);");
  ASSERT_EQ(Count(findings, rule), 1u) << Rules(findings);
  EXPECT_TRUE(Mentions(Only(findings, rule)[0].message, "orders.qty"));
  EXPECT_EQ(Count(LintSql("alter table orders add column qty int not null default 1;"), rule), 0u);
  EXPECT_EQ(Count(LintSql("alter table orders add constraint qty_positive check (qty > 0) not "
                          "valid;"),
                  rule),
            0u);
}

TEST_F(LintTest, NotValidThenValidateInTheSameFile) {
  const char* rule = "validate-in-same-transaction";
  auto findings = LintSql(
      "alter table orders add constraint orders_user_fk foreign key (user_id) "
      "references users (id) not valid;\n"
      "alter table orders validate constraint orders_user_fk;\n");
  auto validations = Only(findings, rule);
  ASSERT_EQ(validations.size(), 1u) << Rules(findings);
  EXPECT_EQ(validations[0].line, 2);
  EXPECT_TRUE(Mentions(validations[0].message, "line 1")) << validations[0].message;
  EXPECT_EQ(Count(findings, "constraint-not-valid"), 0u);
}

TEST_F(LintTest, ValidateInALaterFileOrOfAnotherConstraintIsFine) {
  const char* rule = "validate-in-same-transaction";
  Write("20240101000000_add.sql",
        "alter table orders add constraint orders_user_fk foreign key (user_id) "
        "references users (id) not valid;");
  Write("20240102000000_validate.sql", "alter table orders validate constraint orders_user_fk;");
  auto findings = LintDir();
  EXPECT_EQ(Count(findings, rule), 0u) << Rules(findings);
  EXPECT_EQ(Count(LintSql("alter table orders add constraint a check (x > 0) not valid;\n"
                          "alter table orders validate constraint b;"),
                  rule),
            0u);
  EXPECT_EQ(Count(LintSql("alter table orders add constraint a check (x > 0) not valid;\n"
                          "alter table invoices validate constraint a;"),
                  rule),
            0u);
}

TEST_F(LintTest, PolicyOnAnExistingTableOncePerTableAndFile) {
  const char* rule = "policy-on-existing-table";
  auto findings = LintSql(
      "create policy \"read own\" on storage.objects for select using (owner = auth.uid());\n"
      "create policy \"write own\" on storage.objects for insert with check (true);\n"
      "drop policy \"old\" on public.profiles;\n"
      "alter policy \"p\" on public.todos using (false);\n");
  auto policies = Only(findings, rule);
  ASSERT_EQ(policies.size(), 3u) << Rules(findings);
  EXPECT_EQ(policies[0].line, 1);
  EXPECT_EQ(policies[0].severity, Severity::kWarning);
  EXPECT_TRUE(Mentions(policies[0].message, "CREATE POLICY \"read own\" on storage.objects"))
      << policies[0].message;
  EXPECT_TRUE(Mentions(policies[0].message, "Storage upload")) << policies[0].message;
  EXPECT_TRUE(Mentions(policies[1].message, "DROP POLICY \"old\" on public.profiles"))
      << policies[1].message;
  EXPECT_EQ(policies[2].line, 4);
}

TEST_F(LintTest, PolicyOnATableCreatedInTheSameFileIsFine) {
  auto findings = LintSql(
      "create table public.notes (id int);\n"
      "alter table public.notes enable row level security;\n"
      "create policy \"own\" on public.notes using (true);\n"
      "drop policy \"own\" on notes;\n");
  EXPECT_TRUE(findings.empty()) << Rules(findings);
}

TEST_F(LintTest, DropIndexWithoutConcurrently) {
  const char* rule = "require-concurrent-index-deletion";
  auto findings = LintSql("drop index if exists public.users_email_idx;");
  auto drops = Only(findings, rule);
  ASSERT_EQ(drops.size(), 1u) << Rules(findings);
  EXPECT_EQ(drops[0].severity, Severity::kWarning);
  EXPECT_TRUE(Mentions(drops[0].message, "DROP INDEX CONCURRENTLY public.users_email_idx"))
      << drops[0].message;
  EXPECT_EQ(
      Count(LintSql("-- freshet:no-transaction\ndrop index concurrently users_email_idx;"), rule),
      0u);
  EXPECT_EQ(Count(LintSql("create index tmp_idx on users (email);\ndrop index tmp_idx;"), rule),
            0u);
}

}  // namespace
}  // namespace freshet
