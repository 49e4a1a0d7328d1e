#include <gtest/gtest.h>

#include <string>

#include "copy/identifiers.h"

namespace freshet {
namespace {

TEST(QuoteIdentTest, PlainNameIsStillQuoted) { EXPECT_EQ(QuoteIdent("users"), "\"users\""); }

TEST(QuoteIdentTest, MixedCaseIsPreserved) {
  EXPECT_EQ(QuoteIdent("UserAccounts"), "\"UserAccounts\"");
}

TEST(QuoteIdentTest, SpacesAndDotsStayInsideOneIdentifier) {
  EXPECT_EQ(QuoteIdent("order items"), "\"order items\"");
  EXPECT_EQ(QuoteIdent("v1.orders"), "\"v1.orders\"");
}

TEST(QuoteIdentTest, EmbeddedDoubleQuoteIsDoubled) {
  EXPECT_EQ(QuoteIdent("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(QuoteIdent("\""), "\"\"\"\"");
}

TEST(QuoteIdentTest, ReservedWordBecomesAPlainIdentifier) {
  EXPECT_EQ(QuoteIdent("select"), "\"select\"");
  EXPECT_EQ(QuoteIdent("user"), "\"user\"");
}

TEST(QuoteIdentTest, NonAsciiUtf8PassesThroughByteForByte) {
  EXPECT_EQ(QuoteIdent("café"), "\"café\"");
  EXPECT_EQ(QuoteIdent("顧客"), "\"顧客\"");
}

TEST(QuoteIdentTest, SingleQuoteAndBackslashAreNotSpecial) {
  EXPECT_EQ(QuoteIdent("it's\\"), "\"it's\\\"");
}

TEST(QuoteLiteralTest, EmbeddedSingleQuoteIsDoubled) {
  EXPECT_EQ(QuoteLiteral("O'Brien"), "'O''Brien'");
}

TEST(QuoteLiteralTest, BackslashIsLiteralUnderStandardConformingStrings) {
  EXPECT_EQ(QuoteLiteral("C:\\temp\\n"), "'C:\\temp\\n'");
}

TEST(QuoteLiteralTest, DoubleQuotesAndUtf8PassThrough) {
  EXPECT_EQ(QuoteLiteral("\"naïve\" ✓"), "'\"naïve\" ✓'");
}

TEST(QuoteLiteralTest, EmptyTextIsAnEmptyLiteral) { EXPECT_EQ(QuoteLiteral(""), "''"); }

TEST(QualifiedNameTest, QuotedQuotesSchemaAndNameSeparately) {
  EXPECT_EQ((QualifiedName{"public", "users"}).Quoted(), "\"public\".\"users\"");
}

TEST(QualifiedNameTest, DotsInsideNamesDoNotLookLikeSeparators) {
  EXPECT_EQ((QualifiedName{"my.schema", "a.b"}).Quoted(), "\"my.schema\".\"a.b\"");
}

TEST(QualifiedNameTest, MixedCaseSpacesQuotesAndUtf8AllRoundTrip) {
  QualifiedName name{"Sales Data", "Kunden \"Ä\""};
  EXPECT_EQ(name.Quoted(), "\"Sales Data\".\"Kunden \"\"Ä\"\"\"");
  EXPECT_EQ(name.Display(), "Sales Data.Kunden \"Ä\"");
}

TEST(QualifiedNameTest, ReservedWordsAreQuoted) {
  EXPECT_EQ((QualifiedName{"order", "table"}).Quoted(), "\"order\".\"table\"");
}

TEST(QuoteIdentListTest, JoinsQuotedNamesWithCommas) {
  EXPECT_EQ(QuoteIdentList({"id", "Full Name", "a\"b"}), "\"id\", \"Full Name\", \"a\"\"b\"");
  EXPECT_EQ(QuoteIdentList({}), "");
}

TEST(SplitDottedNameTest, QuotedPartsHoldDotsAndQuotes) {
  using Parts = std::vector<std::string>;
  EXPECT_EQ(SplitDottedName("public.deals.owner_id"), (Parts{"public", "deals", "owner_id"}));
  EXPECT_EQ(SplitDottedName("\"my.schema\".\"Deals\""), (Parts{"my.schema", "Deals"}));
  EXPECT_EQ(SplitDottedName("s.\"a \"\"b\"\"\".c"), (Parts{"s", "a \"b\"", "c"}));
  EXPECT_EQ(SplitDottedName("Kunden"), (Parts{"Kunden"}));  // as written, no folding
  for (const char* bad : {"", "a..b", ".a", "a.", "\"a.b", "a.\"\""})
    EXPECT_TRUE(SplitDottedName(bad).empty()) << bad;
}

}  // namespace
}  // namespace freshet
