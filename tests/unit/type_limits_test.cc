// Type limits: which declared types limit their values, when a target's type
// is narrower than the source's, and which values do not fit, in COPY binary
// (encoded here as PostgreSQL's send functions write them) and text.
#include "schema/type_limits.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/big_endian.h"

namespace freshet {
namespace {

using testing::Int16;
using testing::Int32;

// numeric_send: ndigits, weight, sign, dscale, base-10000 digits.
std::string BinaryNumeric(int weight, std::vector<int> digits, int sign = 0, int dscale = 0) {
  std::string out =
      Int16(static_cast<int>(digits.size())) + Int16(weight) + Int16(sign) + Int16(dscale);
  for (int digit : digits) out += Int16(digit);
  return out;
}

// array_send of a one-dimensional array; a null element is none.
std::string BinaryArray(const std::vector<std::optional<std::string>>& elements) {
  std::string out =
      Int32(1) + Int32(0) + Int32(1043) + Int32(static_cast<int64_t>(elements.size())) + Int32(1);
  for (const auto& element : elements)
    out += element ? Int32(static_cast<int64_t>(element->size())) + *element : Int32(-1);
  return out;
}

TypeLimit Limit(const std::string& type) {
  auto limit = ParseTypeLimit(type);
  EXPECT_TRUE(limit) << type;
  return limit.value_or(TypeLimit{});
}

std::string MisfitOf(const std::string& type, StreamFormat format, const std::string& value) {
  return Misfit(Limit(type), format, value).value_or("fits");
}

TEST(TypeLimits, ParsesTheLimitedTypesAsFormatTypeWritesThem) {
  for (const char* type : {"character varying(12)", "character(3)[]", "bit(8)", "bit varying(5)",
                           "numeric(10,2)", "numeric(2,-3)"})
    EXPECT_EQ(Limit(type).Describe(), type);
  EXPECT_EQ(Limit("numeric(2,-3)").scale, -3);
  EXPECT_TRUE(Limit("character varying(4)[]").array);
  for (const char* type :
       {"text", "character varying", "numeric", "bpchar", "timestamp(3) without time zone",
        "interval(2)", "\"my type\"(3)", "character varying(99999999999)"})
    EXPECT_FALSE(ParseTypeLimit(type)) << type;
}

TEST(TypeLimits, NarrowingNeedsATargetLimitBelowTheSources) {
  auto narrows = [](const char* source, const char* target) {
    return NarrowingLimit(source, target).has_value();
  };
  EXPECT_TRUE(narrows("character varying(100)", "character varying(12)"));
  EXPECT_TRUE(narrows("character varying", "character varying(12)"));
  EXPECT_TRUE(narrows("text", "character varying(12)"));
  EXPECT_FALSE(narrows("character varying(10)", "character varying(20)"));
  EXPECT_FALSE(narrows("character(5)", "character varying(5)"));
  EXPECT_FALSE(narrows("character varying(100)", "text"));
  EXPECT_TRUE(narrows("character varying(5)[]", "character varying(3)[]"));
  EXPECT_FALSE(narrows("bit(3)", "bit(3)"));
  EXPECT_TRUE(narrows("bit(3)", "bit(4)"));  // bit(n) takes exactly n bits
  EXPECT_FALSE(narrows("bit(3)", "bit varying(3)"));
  EXPECT_TRUE(narrows("bit varying(3)", "bit(3)"));
  EXPECT_FALSE(narrows("numeric(10,2)", "numeric(12,2)"));
  EXPECT_FALSE(narrows("numeric(10,2)", "numeric(12,4)"));
  EXPECT_TRUE(narrows("numeric(10,2)", "numeric(10,3)"));  // one integer digit fewer
  // 99.999 rounds to 100.00: fewer decimals need room for a carry.
  EXPECT_TRUE(narrows("numeric(5,3)", "numeric(4,2)"));
  EXPECT_FALSE(narrows("numeric(5,3)", "numeric(5,2)"));
  EXPECT_TRUE(narrows("numeric", "numeric(6,2)"));
  EXPECT_EQ(NarrowingLimit("character varying(100)", "character varying(12)")->length, 12);
}

TEST(TypeLimits, CharactersCountInUtf8AndTrailingSpacesAreAllowed) {
  const auto binary = StreamFormat::kBinary;
  EXPECT_EQ(MisfitOf("character varying(3)", binary, "abc"), "fits");
  EXPECT_EQ(MisfitOf("character varying(3)", binary, "abcd"), "has 4 characters");
  EXPECT_EQ(MisfitOf("character varying(3)", binary, "abc    "), "fits");
  EXPECT_EQ(MisfitOf("character varying(3)", binary, "ab  c"), "has 5 characters");
  EXPECT_EQ(MisfitOf("character varying(3)", binary, "\xc3\xa9\xc3\xa9\xe2\x82\xac"), "fits");
  EXPECT_EQ(MisfitOf("character(3)", binary, "\xc3\xa9\xc3\xa9\xe2\x82\xac!"), "has 4 characters");
  EXPECT_EQ(MisfitOf("character(3)", StreamFormat::kText, "12345"), "has 5 characters");
}

TEST(TypeLimits, BitStringsCountTheirBits) {
  std::string five_bits = Int32(5) + std::string(1, '\xa8');
  EXPECT_EQ(MisfitOf("bit(5)", StreamFormat::kBinary, five_bits), "fits");
  EXPECT_EQ(MisfitOf("bit(6)", StreamFormat::kBinary, five_bits), "has 5 bits");
  EXPECT_EQ(MisfitOf("bit varying(6)", StreamFormat::kBinary, five_bits), "fits");
  EXPECT_EQ(MisfitOf("bit varying(4)", StreamFormat::kBinary, five_bits), "has 5 bits");
  EXPECT_EQ(MisfitOf("bit varying(4)", StreamFormat::kText, "10101"), "has 5 bits");
  // Text of another type (a text column into bit(3)): bit_in reads B101 and x1F too.
  EXPECT_EQ(MisfitOf("bit(3)", StreamFormat::kText, "B101"), "fits");
  EXPECT_EQ(MisfitOf("bit(8)", StreamFormat::kText, "x1F"), "fits");
}

TEST(TypeLimits, NumericsRoundToTheScaleBeforeTheirDigitsCount) {
  const auto binary = StreamFormat::kBinary;
  // 999.994 and 999.995 (weight 0: 999, then .9940 / .9950).
  EXPECT_EQ(MisfitOf("numeric(5,2)", binary, BinaryNumeric(0, {999, 9940}, 0, 3)), "fits");
  EXPECT_EQ(MisfitOf("numeric(5,2)", binary, BinaryNumeric(0, {999, 9950}, 0, 3)),
            "needs numeric(6,2)");
  // -1234567.5 into numeric(8,1) fits; into numeric(7,1) it does not.
  std::string negative = BinaryNumeric(1, {123, 4567, 5000}, 0x4000, 1);
  EXPECT_EQ(MisfitOf("numeric(8,1)", binary, negative), "fits");
  EXPECT_EQ(MisfitOf("numeric(7,1)", binary, negative), "needs numeric(8,1)");
  // 0.004 rounds to 0.00; 0.1 has no room in numeric(1,2) (below 0.1 only).
  EXPECT_EQ(MisfitOf("numeric(1,2)", binary, BinaryNumeric(-1, {40}, 0, 3)), "fits");
  EXPECT_EQ(MisfitOf("numeric(1,2)", binary, BinaryNumeric(-1, {1000}, 0, 1)),
            "needs numeric(2,2)");
  // A negative scale rounds to tens, hundreds...: 12345 is 12000 in numeric(2,-3).
  EXPECT_EQ(MisfitOf("numeric(2,-3)", binary, BinaryNumeric(1, {1, 2345})), "fits");
  EXPECT_EQ(MisfitOf("numeric(2,-3)", binary, BinaryNumeric(1, {12, 3456})), "needs numeric(3,-3)");
  EXPECT_EQ(MisfitOf("numeric(3,0)", binary, BinaryNumeric(0, {}, 0xC000)), "fits");  // NaN
  EXPECT_EQ(MisfitOf("numeric(3,0)", binary, BinaryNumeric(0, {}, 0xD000)), "is infinite");
  EXPECT_EQ(MisfitOf("numeric(3,0)", binary, BinaryNumeric(0, {})), "fits");  // zero
}

TEST(TypeLimits, NumericTextIsReadAsPostgreSqlWritesIt) {
  const auto text = StreamFormat::kText;
  EXPECT_EQ(MisfitOf("numeric(2,0)", text, "-12.5"), "fits");  // -13
  EXPECT_EQ(MisfitOf("numeric(2,0)", text, "99.5"), "needs numeric(3,0)");
  EXPECT_EQ(MisfitOf("numeric(3,0)", text, "1e+3"), "needs numeric(4,0)");
  EXPECT_EQ(MisfitOf("numeric(3,0)", text, "9.99e+2"), "fits");
  EXPECT_EQ(MisfitOf("numeric(3,2)", text, "1.5e-3"), "fits");
  EXPECT_EQ(MisfitOf("numeric(3,0)", text, "-Infinity"), "is infinite");
  EXPECT_EQ(MisfitOf("numeric(3,0)", text, "NaN"), "fits");
  EXPECT_EQ(MisfitOf("numeric(3,0)", text, "not a number"), "fits");  // not judged
}

TEST(TypeLimits, ArrayElementsAreEachChecked) {
  const auto binary = StreamFormat::kBinary;
  EXPECT_EQ(MisfitOf("character varying(3)[]", binary, BinaryArray({"ab", std::nullopt, "abc"})),
            "fits");
  EXPECT_EQ(MisfitOf("character varying(3)[]", binary, BinaryArray({"ab", "abcd"})),
            "has an element that has 4 characters");
  EXPECT_EQ(MisfitOf("character varying(3)[]", binary, BinaryArray({})), "fits");
  EXPECT_EQ(MisfitOf("character varying(3)[]", binary, Int32(0) + Int32(0) + Int32(1043)),
            "fits");  // an empty array has no dimensions
}

TEST(TypeLimits, MalformedValuesAreNotJudged) {
  EXPECT_EQ(MisfitOf("numeric(3,0)", StreamFormat::kBinary, "\x01"), "fits");
  EXPECT_EQ(MisfitOf("bit(3)", StreamFormat::kBinary, "\x01"), "fits");
  EXPECT_EQ(MisfitOf("character varying(3)[]", StreamFormat::kBinary, Int32(1) + Int32(0)), "fits");
}

TEST(TypeLimits, SqlConditionsCoverTheSourceTypesTheyCanRead) {
  auto condition = [](const char* target, const char* source) {
    return MisfitCondition(Limit(target), source, "\"c\"");
  };
  EXPECT_EQ(condition("character varying(12)", "text").value_or(""),
            "char_length(rtrim(concat(\"c\"), ' ')) > 12");
  EXPECT_EQ(condition("numeric(5,2)", "integer").value_or(""),
            "((\"c\")::numeric <> 'NaN' AND abs(round((\"c\")::numeric, 2)) >= power(10::numeric, "
            "3))");
  EXPECT_TRUE(condition("numeric(5,2)", "double precision"));
  EXPECT_FALSE(condition("numeric(5,2)", "text"));
  EXPECT_FALSE(condition("bit(3)", "text"));
  EXPECT_FALSE(condition("character varying(3)[]", "text"));
  EXPECT_EQ(condition("bit varying(3)[]", "bit varying(8)[]").value_or(""),
            "EXISTS (SELECT FROM unnest(\"c\") AS e(v) WHERE length(e.v) > 3)");
}

}  // namespace
}  // namespace freshet
