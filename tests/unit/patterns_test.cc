#include "schema/patterns.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "copy/error.h"

namespace freshet {
namespace {

QualifiedName T(const std::string& schema, const std::string& name) { return {schema, name}; }

// The message of the Error thrown by parsing `text`, or "" when none is thrown.
std::string ParseError(const std::string& text) {
  try {
    TablePattern::Parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GlobMatchTest, StarMatchesAnyRunIncludingNone) {
  EXPECT_TRUE(GlobMatch("user*", "user"));
  EXPECT_TRUE(GlobMatch("user*", "users_archive"));
  EXPECT_TRUE(GlobMatch("*_log", "audit_log"));
  EXPECT_TRUE(GlobMatch("*", ""));
}

TEST(GlobMatchTest, SeveralStarsMatchInOrder) {
  EXPECT_TRUE(GlobMatch("a*b*c", "a--b--c"));
  EXPECT_TRUE(GlobMatch("a*b*c", "abc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "a--c--b"));
  EXPECT_TRUE(GlobMatch("*ab*ab*", "xxabyyabzz"));
  EXPECT_FALSE(GlobMatch("*ab*ab*", "xxabyy"));
}

TEST(GlobMatchTest, OtherCharactersMatchThemselvesExactly) {
  EXPECT_TRUE(GlobMatch("users", "users"));
  EXPECT_FALSE(GlobMatch("users", "Users"));
  EXPECT_FALSE(GlobMatch("users", "users2"));
  EXPECT_FALSE(GlobMatch("u?ers", "users"));
  EXPECT_FALSE(GlobMatch("", "x"));
  EXPECT_TRUE(GlobMatch("", ""));
}

TEST(GlobMatchTest, PrefixAndSuffixMayNotOverlap) {
  EXPECT_FALSE(GlobMatch("ab*ba", "aba"));
  EXPECT_TRUE(GlobMatch("ab*ba", "abba"));
}

TEST(TablePatternTest, SchemaAndTableMatchTheirOwnParts) {
  TablePattern p = TablePattern::Parse("public.users");
  EXPECT_TRUE(p.Matches(T("public", "users")));
  EXPECT_FALSE(p.Matches(T("app", "users")));
  EXPECT_FALSE(p.Matches(T("public", "users_old")));
  EXPECT_TRUE(p.NamesSchemaLiterally());
  EXPECT_EQ(p.schema_glob(), "public");
  EXPECT_EQ(p.text(), "public.users");
}

TEST(TablePatternTest, PatternWithoutDotMatchesTheTableInAnySchema) {
  TablePattern p = TablePattern::Parse("users");
  EXPECT_TRUE(p.Matches(T("public", "users")));
  EXPECT_TRUE(p.Matches(T("auth", "users")));
  EXPECT_FALSE(p.Matches(T("public", "users2")));
  EXPECT_FALSE(p.NamesSchemaLiterally());
  EXPECT_EQ(p.schema_glob(), "*");
}

TEST(TablePatternTest, WildcardsWorkInEitherPart) {
  TablePattern p = TablePattern::Parse("tenant_*.audit_*");
  EXPECT_TRUE(p.Matches(T("tenant_42", "audit_log")));
  EXPECT_FALSE(p.Matches(T("tenant_42", "orders")));
  EXPECT_FALSE(p.Matches(T("public", "audit_log")));
  EXPECT_FALSE(p.NamesSchemaLiterally());
}

TEST(TablePatternTest, LiteralSchemaWithWildcardTableNamesTheSchemaLiterally) {
  TablePattern p = TablePattern::Parse("auth.*");
  EXPECT_TRUE(p.NamesSchemaLiterally());
  EXPECT_TRUE(p.Matches(T("auth", "sessions")));
}

TEST(TablePatternTest, QuotedPartMayHoldADot) {
  TablePattern p = TablePattern::Parse("\"my.schema\".*");
  EXPECT_TRUE(p.Matches(T("my.schema", "t")));
  EXPECT_FALSE(p.Matches(T("my", "schema")));
  EXPECT_TRUE(p.NamesSchemaLiterally());
  EXPECT_EQ(p.schema_glob(), "my.schema");
}

TEST(TablePatternTest, QuotedStarIsLiteral) {
  TablePattern p = TablePattern::Parse("public.\"rate*\"");
  EXPECT_TRUE(p.Matches(T("public", "rate*")));
  EXPECT_FALSE(p.Matches(T("public", "rates")));
}

TEST(TablePatternTest, QuotedStarInSchemaKeepsTheSchemaLiteral) {
  TablePattern p = TablePattern::Parse("\"odd*\".t");
  EXPECT_TRUE(p.NamesSchemaLiterally());
  EXPECT_TRUE(p.Matches(T("odd*", "t")));
  EXPECT_FALSE(p.Matches(T("oddity", "t")));
}

TEST(TablePatternTest, DoubledQuoteInsideQuotesIsOneQuote) {
  TablePattern p = TablePattern::Parse("public.\"say \"\"hi\"\"\"");
  EXPECT_TRUE(p.Matches(T("public", "say \"hi\"")));
}

TEST(TablePatternTest, QuotedAndUnquotedTextJoinWithinAPart) {
  TablePattern p = TablePattern::Parse("public.\"v1.\"*");
  EXPECT_TRUE(p.Matches(T("public", "v1.orders")));
  EXPECT_FALSE(p.Matches(T("public", "v1_orders")));
}

TEST(TablePatternTest, MatchingIsCaseSensitive) {
  TablePattern p = TablePattern::Parse("public.\"Users\"");
  EXPECT_TRUE(p.Matches(T("public", "Users")));
  EXPECT_FALSE(p.Matches(T("public", "users")));
}

TEST(TablePatternTest, EmptyPatternIsAnError) { EXPECT_THROW(TablePattern::Parse(""), Error); }

TEST(TablePatternTest, EmptySchemaPartIsAnErrorNamingThePattern) {
  std::string message = ParseError(".users");
  EXPECT_NE(message.find(".users"), std::string::npos) << message;
  EXPECT_NE(message.find("empty schema part"), std::string::npos) << message;
}

TEST(TablePatternTest, EmptyTablePartIsAnErrorNamingThePattern) {
  std::string message = ParseError("public.");
  EXPECT_NE(message.find("public."), std::string::npos) << message;
  EXPECT_NE(message.find("empty table part"), std::string::npos) << message;
}

TEST(TablePatternTest, EmptyQuotedPartIsAnError) {
  EXPECT_THROW(TablePattern::Parse("\"\".users"), Error);
}

TEST(TablePatternTest, UnterminatedQuoteIsAnErrorNamingThePattern) {
  std::string message = ParseError("\"public.users");
  EXPECT_NE(message.find("\"public.users"), std::string::npos) << message;
  EXPECT_NE(message.find("unterminated"), std::string::npos) << message;
}

TEST(TablePatternTest, SecondUnquotedDotIsAnErrorNamingThePattern) {
  std::string message = ParseError("db.public.users");
  EXPECT_NE(message.find("db.public.users"), std::string::npos) << message;
  EXPECT_NE(message.find("more than one"), std::string::npos) << message;
}

TEST(PlatformSchemaTest, SupabaseAndPostgresSchemasArePlatform) {
  for (const char* schema :
       {"auth", "storage", "realtime", "vault", "graphql", "graphql_public", "extensions",
        "pgsodium", "pgsodium_masks", "net", "cron", "information_schema", "_freshet", "pgbouncer",
        "_realtime", "_analytics", "supabase_functions", "supabase_migrations"}) {
    EXPECT_TRUE(IsPlatformSchema(schema)) << schema;
  }
}

TEST(PlatformSchemaTest, AnyPgPrefixedSchemaIsPlatform) {
  EXPECT_TRUE(IsPlatformSchema("pg_catalog"));
  EXPECT_TRUE(IsPlatformSchema("pg_toast"));
  EXPECT_TRUE(IsPlatformSchema("pg_temp_3"));
}

TEST(PlatformSchemaTest, UserSchemasAreNotPlatformEvenWhenNamedAlike) {
  for (const char* schema : {"public", "app", "authn", "auth2", "Auth", "storage_archive", "pg",
                             "pgx", "supabase", "cron_jobs", "my_extensions", "freshet"}) {
    EXPECT_FALSE(IsPlatformSchema(schema)) << schema;
  }
}

TEST(TableSelectionTest, NoPatternsSelectEveryUserTableAndNoPlatformTable) {
  TableSelection selection({}, {});
  EXPECT_TRUE(selection.Selected(T("public", "users")));
  EXPECT_TRUE(selection.Selected(T("billing", "invoices")));
  EXPECT_FALSE(selection.Selected(T("auth", "users")));
  EXPECT_FALSE(selection.Selected(T("storage", "objects")));
  EXPECT_FALSE(selection.Selected(T("_freshet", "runs")));
}

TEST(TableSelectionTest, IncludingAPlatformTableAddsItToEverythingElse) {
  TableSelection selection({"auth.users"}, {});
  EXPECT_TRUE(selection.Selected(T("auth", "users")));
  EXPECT_TRUE(selection.Selected(T("public", "orders")));
  EXPECT_FALSE(selection.Selected(T("auth", "sessions")));
}

TEST(TableSelectionTest, LiteralPlatformSchemaWithWildcardTableSelectsTheWholeSchema) {
  TableSelection selection({"auth.*"}, {});
  EXPECT_TRUE(selection.Selected(T("auth", "users")));
  EXPECT_TRUE(selection.Selected(T("auth", "sessions")));
  EXPECT_FALSE(selection.Selected(T("storage", "objects")));
}

TEST(TableSelectionTest, WildcardSchemaNeverReachesIntoPlatformSchemas) {
  TableSelection selection({"*.users"}, {});
  EXPECT_FALSE(selection.Selected(T("auth", "users")));
  EXPECT_TRUE(selection.Selected(T("public", "users")));
}

TEST(TableSelectionTest, PatternWithoutDotNeverReachesIntoPlatformSchemas) {
  TableSelection selection({"users"}, {});
  EXPECT_FALSE(selection.Selected(T("auth", "users")));
  EXPECT_TRUE(selection.Selected(T("public", "users")));
}

TEST(TableSelectionTest, PartialWildcardOnAPlatformNameDoesNotCount) {
  TableSelection selection({"aut*.users"}, {});
  EXPECT_FALSE(selection.Selected(T("auth", "users")));
}

TEST(TableSelectionTest, UserIncludesFormAWhitelist) {
  TableSelection selection({"public.orders", "billing.*"}, {});
  EXPECT_TRUE(selection.Selected(T("public", "orders")));
  EXPECT_TRUE(selection.Selected(T("billing", "invoices")));
  EXPECT_FALSE(selection.Selected(T("public", "users")));
  EXPECT_FALSE(selection.Selected(T("crm", "contacts")));
}

TEST(TableSelectionTest, WhitelistAndPlatformIncludeCombine) {
  TableSelection selection({"public.*", "auth.users"}, {});
  EXPECT_TRUE(selection.Selected(T("public", "orders")));
  EXPECT_TRUE(selection.Selected(T("auth", "users")));
  EXPECT_FALSE(selection.Selected(T("billing", "invoices")));
}

TEST(TableSelectionTest, QuotedPlatformSchemaStillNamesItLiterally) {
  TableSelection selection({"\"auth\".users"}, {});
  EXPECT_TRUE(selection.Selected(T("auth", "users")));
  EXPECT_TRUE(selection.Selected(T("public", "orders")));
}

TEST(TableSelectionTest, ExcludesRemoveUserTables) {
  TableSelection selection({}, {"*.audit_*", "public.sessions"});
  EXPECT_FALSE(selection.Selected(T("public", "audit_log")));
  EXPECT_FALSE(selection.Selected(T("billing", "audit_events")));
  EXPECT_FALSE(selection.Selected(T("public", "sessions")));
  EXPECT_TRUE(selection.Selected(T("public", "orders")));
}

TEST(TableSelectionTest, ExcludeWinsOverIncludeOfTheSameTable) {
  TableSelection selection({"auth.*", "public.orders"}, {"auth.sessions", "public.orders"});
  EXPECT_TRUE(selection.Selected(T("auth", "users")));
  EXPECT_FALSE(selection.Selected(T("auth", "sessions")));
  EXPECT_FALSE(selection.Selected(T("public", "orders")));
}

TEST(TableSelectionTest, MalformedPatternIsAnError) {
  EXPECT_THROW(TableSelection({"a.b.c"}, {}), Error);
  EXPECT_THROW(TableSelection({}, {"\"open"}), Error);
}

}  // namespace
}  // namespace freshet
