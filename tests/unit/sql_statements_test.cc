#include "apply/sql_statements.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "copy/error.h"

namespace freshet {
namespace {

std::vector<std::string> Texts(const SplitResult& result) {
  std::vector<std::string> texts;
  for (const auto& statement : result.statements) texts.push_back(statement.text);
  return texts;
}

TEST(SplitStatementsTest, SplitsOnSemicolonsAndTrims) {
  SplitResult result = SplitStatements("create table a (x int);\n  select 1 ;\nselect 2;\n");
  ASSERT_FALSE(result.error);
  EXPECT_EQ(Texts(result),
            (std::vector<std::string>{"create table a (x int)", "select 1", "select 2"}));
}

TEST(SplitStatementsTest, EmptyAndCommentOnlyInputHaveNoStatements) {
  EXPECT_TRUE(SplitStatements("").statements.empty());
  EXPECT_TRUE(SplitStatements("-- nothing here\n/* nor here */\n").statements.empty());
  EXPECT_FALSE(SplitStatements("-- nothing here\n").error);
}

TEST(SplitStatementsTest, FinalStatementWithoutSemicolon) {
  SplitResult result = SplitStatements("select 1;\nselect 2\n");
  ASSERT_FALSE(result.error);
  EXPECT_EQ(Texts(result), (std::vector<std::string>{"select 1", "select 2"}));
}

TEST(SplitStatementsTest, SemicolonsInsideStringsAndQuotedIdentifiers) {
  SplitResult result =
      SplitStatements("insert into t values ('a;b', E'c\\';d');\nselect \"odd;name\" from t;");
  ASSERT_FALSE(result.error);
  ASSERT_EQ(result.statements.size(), 2u);
  EXPECT_EQ(result.statements[0].text, "insert into t values ('a;b', E'c\\';d')");
  EXPECT_EQ(result.statements[1].text, "select \"odd;name\" from t");
}

TEST(SplitStatementsTest, DollarQuotedBodiesStayWhole) {
  std::string sql =
      "create function f() returns void language plpgsql as $body$\n"
      "begin\n  drop table x;\n  raise notice 'a;b';\nend\n$body$;\n"
      "do $$ begin perform 1; end $$;\n"
      "select 3;";
  SplitResult result = SplitStatements(sql);
  ASSERT_FALSE(result.error);
  ASSERT_EQ(result.statements.size(), 3u);
  EXPECT_NE(result.statements[0].text.find("drop table x;"), std::string::npos);
  EXPECT_EQ(result.statements[1].text, "do $$ begin perform 1; end $$");
  EXPECT_EQ(result.statements[2].text, "select 3");
}

TEST(SplitStatementsTest, BeginAtomicFunctionBodyIsOneStatement) {
  std::string sql =
      "create function add_one(a int) returns int language sql\n"
      "begin atomic\n  select a + 1;\nend;\n"
      "create table t (x int);\n";
  SplitResult result = SplitStatements(sql);
  ASSERT_FALSE(result.error) << result.error->message;
  ASSERT_EQ(result.statements.size(), 2u);
  EXPECT_NE(result.statements[0].text.find("end"), std::string::npos);
  EXPECT_EQ(result.statements[1].text, "create table t (x int)");
  EXPECT_EQ(result.statements[1].line, 5);
}

TEST(SplitStatementsTest, LeadingCommentsAreSeparated) {
  std::string sql =
      "-- first\nselect 1;\n"
      "-- freshet:ignore drop-table\n/* block /* nested */ comment */\nselect 2;";
  SplitResult result = SplitStatements(sql);
  ASSERT_FALSE(result.error);
  ASSERT_EQ(result.statements.size(), 2u);
  EXPECT_EQ(result.statements[0].text, "select 1");
  EXPECT_NE(result.statements[0].leading_comments.find("-- first"), std::string::npos);
  EXPECT_EQ(result.statements[1].text, "select 2");
  EXPECT_NE(result.statements[1].leading_comments.find("freshet:ignore drop-table"),
            std::string::npos);
  EXPECT_NE(result.statements[1].leading_comments.find("nested"), std::string::npos);
  EXPECT_EQ(result.statements[1].leading_comments.find("-- first"), std::string::npos);
}

TEST(SplitStatementsTest, LineAndColumnOfEachStatement) {
  std::string sql = "select 1;\n\n  -- c\n  select 2; select 3;\n";
  SplitResult result = SplitStatements(sql);
  ASSERT_EQ(result.statements.size(), 3u);
  EXPECT_EQ(result.statements[0].line, 1);
  EXPECT_EQ(result.statements[0].column, 1);
  EXPECT_EQ(result.statements[1].line, 4);
  EXPECT_EQ(result.statements[1].column, 3);
  EXPECT_EQ(result.statements[2].line, 4);
  EXPECT_EQ(result.statements[2].column, 13);
  EXPECT_EQ(sql.substr(result.statements[2].offset, 8), "select 3");
}

TEST(SplitStatementsTest, SyntaxErrorHasParserMessageAndPosition) {
  SplitResult result = SplitStatements("select 1;\ncreate tablee x (a int);\n");
  ASSERT_TRUE(result.error);
  EXPECT_TRUE(result.statements.empty());
  EXPECT_EQ(result.error->message, "syntax error at or near \"tablee\"");
  EXPECT_EQ(result.error->line, 2);
  EXPECT_EQ(result.error->column, 8);
}

TEST(SplitStatementsTest, UnterminatedDollarQuoteIsAnError) {
  SplitResult result = SplitStatements("select 1;\ndo $$ begin perform 1; end;\n");
  ASSERT_TRUE(result.error);
  EXPECT_FALSE(result.error->message.empty());
}

TEST(LineAndColumnTest, CountsLinesAndBytes) {
  int line = 0, column = 0;
  LineAndColumn("ab\ncd\nef", 7, &line, &column);
  EXPECT_EQ(line, 3);
  EXPECT_EQ(column, 2);
  LineAndColumn("ab", 0, &line, &column);
  EXPECT_EQ(line, 1);
  EXPECT_EQ(column, 1);
}

TEST(ParseToJsonTest, ReturnsTheParseTree) {
  auto tree = nlohmann::json::parse(ParseToJson("drop table public.users"));
  const auto& drop = tree["stmts"][0]["stmt"]["DropStmt"];
  EXPECT_EQ(drop["removeType"], "OBJECT_TABLE");
}

TEST(ParseToJsonTest, ThrowsOnSyntaxError) { EXPECT_THROW(ParseToJson("drop tablee x"), Error); }

}  // namespace
}  // namespace freshet

namespace freshet {
namespace {

TEST(MustRunOutsideTransactionTest, KnowsTheStatementsATransactionBlockRefuses) {
  for (const char* sql :
       {"CREATE INDEX CONCURRENTLY i ON t (a)", "create unique index concurrently on t(a)",
        "DROP INDEX CONCURRENTLY i", "REINDEX (CONCURRENTLY) TABLE t",
        "REINDEX TABLE CONCURRENTLY t", "VACUUM t", "VACUUM (FULL, ANALYZE) t", "CREATE DATABASE d",
        "DROP DATABASE d", "ALTER SYSTEM SET work_mem = '64MB'"})
    EXPECT_TRUE(MustRunOutsideTransaction(sql)) << sql;
  for (const char* sql : {"CREATE INDEX i ON t (a)", "DROP INDEX i", "REINDEX TABLE t", "ANALYZE t",
                          "SELECT 'CREATE INDEX CONCURRENTLY'", "CREATE TABLE concurrently (a int)",
                          "CREATE INDEX CONCURRENTLY i ON t (a); SELECT 1", "not sql at all"})
    EXPECT_FALSE(MustRunOutsideTransaction(sql)) << sql;
}

}  // namespace
}  // namespace freshet
