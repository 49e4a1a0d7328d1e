// The mask codec on bytes: every kind decodes from PostgreSQL 15's binary
// send format to the text its output function prints (or the integer it
// stores) and encodes back to the same bytes; malformed bytes and values are
// refused without quoting them; MaskRows changes exactly the masked fields.
// The expected bytes were taken from PostgreSQL 15's *_send functions.
#include "copy/mask_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "copy/error.h"
#include "copy/mask_value.h"
#include "tests/unit/big_endian.h"

namespace freshet {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::Int16;
using testing::Int32;
using ::testing::Not;

std::string Hex(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return bytes;
}

std::string Int64(int64_t value) {
  auto u = static_cast<uint64_t>(value);
  return Int32(static_cast<int64_t>(u >> 32)) + Int32(static_cast<int64_t>(u & 0xffffffff));
}

ValueLimits Limits(std::string_view type) { return LimitsOfType(type); }

MaskValue Decoded(std::string_view bytes, ValueKind kind, const ValueLimits& limits = {}) {
  MaskValue value;
  DecodeField(bytes, kind, limits, value);
  return value;
}

std::string Encoded(const MaskValue& value, const ValueLimits& limits = {}) {
  std::string out;
  EncodeField(value, limits, out);
  return out;
}

MaskValue TextValue(ValueKind kind, std::string text) {
  MaskValue value;
  value.kind = kind;
  value.text = std::move(text);
  return value;
}

MaskValue IntegerValue(ValueKind kind, int64_t integer) {
  MaskValue value;
  value.kind = kind;
  value.integer = integer;
  return value;
}

// The error `action` throws (fails the test when it throws none).
template <typename Action>
std::string ErrorOf(Action action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

// ---- types and limits -----------------------------------------------------

TEST(MaskValueTest, KindOfTypeKnowsFormatTypeSpellings) {
  EXPECT_EQ(KindOfType("character varying"), ValueKind::kText);
  EXPECT_EQ(KindOfType("character"), ValueKind::kText);
  EXPECT_EQ(KindOfType("name"), ValueKind::kText);
  EXPECT_EQ(KindOfType("citext"), ValueKind::kText);
  EXPECT_EQ(KindOfType("public.citext"), ValueKind::kText);
  EXPECT_EQ(KindOfType("bigint"), ValueKind::kInteger);
  EXPECT_EQ(KindOfType("numeric"), ValueKind::kNumeric);
  EXPECT_EQ(KindOfType("uuid"), ValueKind::kUuid);
  EXPECT_EQ(KindOfType("date"), ValueKind::kDate);
  EXPECT_EQ(KindOfType("timestamp with time zone"), ValueKind::kTimestamp);
  EXPECT_EQ(KindOfType("timestamp(3) without time zone"), ValueKind::kTimestamp);
  EXPECT_EQ(KindOfType("jsonb"), ValueKind::kJson);
  EXPECT_EQ(KindOfType("cidr"), ValueKind::kInet);
  EXPECT_EQ(KindOfType("boolean"), ValueKind::kBoolean);
}

TEST(MaskValueTest, KindOfTypeRefusesOtherTypesAndArrays) {
  EXPECT_EQ(KindOfType("bytea"), std::nullopt);
  EXPECT_EQ(KindOfType("double precision"), std::nullopt);
  EXPECT_EQ(KindOfType("text[]"), std::nullopt);
  EXPECT_EQ(KindOfType("\"char\""), std::nullopt);
  EXPECT_EQ(KindOfType("public.email_address"), std::nullopt);
}

TEST(MaskValueTest, LimitsOfTypeReadsLengthsAndWidths) {
  EXPECT_EQ(Limits("character varying(50)").max_chars, 50u);
  EXPECT_EQ(Limits("character varying").max_chars, 0u);
  EXPECT_EQ(Limits("character(2)").max_chars, 2u);
  EXPECT_EQ(Limits("character").max_chars, 1u);  // SQL's CHARACTER is CHARACTER(1)
  EXPECT_EQ(Limits("bpchar").max_chars, 0u);     // bpchar without a modifier is unbounded
  EXPECT_EQ(Limits("text").max_chars, 0u);
  EXPECT_EQ(Limits("smallint").integer_bytes, 2);
  EXPECT_EQ(Limits("integer").integer_bytes, 4);
  EXPECT_EQ(Limits("bigint").integer_bytes, 8);
  EXPECT_TRUE(Limits("cidr").cidr);
  EXPECT_FALSE(Limits("inet").cidr);
  EXPECT_TRUE(Limits("jsonb").jsonb);
  EXPECT_FALSE(Limits("json").jsonb);
  EXPECT_STREQ(ValueKindName(ValueKind::kTimestamp), "timestamp");
  EXPECT_TRUE(Limits("character(2)").pad_chars);
  EXPECT_TRUE(Limits("bpchar(3)").pad_chars);
  EXPECT_FALSE(Limits("bpchar").pad_chars);
  EXPECT_FALSE(Limits("character varying(5)").pad_chars);
}

// Text is sent as the column stores it, so a restore that digests the bytes
// it sent reads the same bytes back: char(n) padded to n characters, spaces
// beyond n dropped (as bpchar and varchar input do), other characters beyond
// n refused.
TEST(MaskValueTest, TextIsEncodedAsTheColumnStoresIt) {
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "Bob"), Limits("character(6)")), "Bob   ");
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "Zoë"), Limits("character(4)")), "Zoë ");
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "ab  "), Limits("character(3)")), "ab ");
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "abc   "), Limits("character varying(4)")), "abc ");
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "Bob"), Limits("character varying(6)")), "Bob");
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "Bob"), Limits("bpchar")), "Bob");
  EXPECT_THROW(Encoded(TextValue(ValueKind::kText, "Robert"), Limits("character(3)")), Error);
}

// ---- numeric ----------------------------------------------------------------

struct NumericCase {
  const char* text;
  const char* hex;  // numeric_send's bytes
};

TEST(MaskCodecTest, NumericRoundTripsPostgresBytes) {
  const NumericCase cases[] = {
      {"0", "0000000000000000"},
      {"0.000", "0000000000000003"},
      {"-0.001", "0001ffff40000003000a"},
      {"0.000000000000000000000000000001", "0001fff80000001e0064"},
      {"123456789012345678901234567890.5", "0009000700000001000c0d801ed204d2162e23340d801ed21388"},
      {"-12.50", "0002000040000002000c1388"},
      {"100000000", "00010002000000000001"},
      {"NaN", "00000000c0000000"},
      {"Infinity", "00000000d0000020"},
      {"-Infinity", "00000000f0000020"},
  };
  for (const NumericCase& c : cases) {
    SCOPED_TRACE(c.text);
    MaskValue value = Decoded(Hex(c.hex), ValueKind::kNumeric);
    EXPECT_EQ(value.text, c.text);
    EXPECT_EQ(Encoded(value), Hex(c.hex));
  }
}

TEST(MaskCodecTest, NumericRoundTripsTheExtremeExponents) {
  // 10^131071: the largest power of ten numeric holds (weight 32767).
  std::string huge = "1" + std::string(131071, '0');
  std::string huge_bytes = Encoded(TextValue(ValueKind::kNumeric, huge));
  EXPECT_EQ(huge_bytes, Hex("00017fff0000000003e8"));
  EXPECT_EQ(Decoded(huge_bytes, ValueKind::kNumeric).text, huge);
  // 10^-16383: the most digits after the point numeric shows.
  std::string tiny = "0." + std::string(16382, '0') + "1";
  std::string tiny_bytes = Encoded(TextValue(ValueKind::kNumeric, tiny));
  EXPECT_EQ(tiny_bytes, Hex("0001f0000000"
                            "3fff"
                            "000a"));
  EXPECT_EQ(Decoded(tiny_bytes, ValueKind::kNumeric).text, tiny);
}

TEST(MaskCodecTest, NumericEncodesInputFormsAsNumericInDoes) {
  auto bytes = [](const char* text) { return Encoded(TextValue(ValueKind::kNumeric, text)); };
  EXPECT_EQ(bytes("1.5e3"), Hex("000100000000000005dc"));
  EXPECT_EQ(bytes("1e-30"), Hex("0001fff80000001e0064"));
  EXPECT_EQ(bytes("0e-5"), Hex("0000000000000005"));
  EXPECT_EQ(bytes("-0.000"), Hex("0000000000000003"));  // zero has no sign
  EXPECT_EQ(bytes("+007.50"), bytes("7.50"));
  EXPECT_EQ(bytes(".5"), bytes("0.5"));
  EXPECT_EQ(bytes("inf"), bytes("Infinity"));
  EXPECT_EQ(bytes("-INFINITY"), bytes("-Infinity"));
  EXPECT_EQ(bytes("nan"), bytes("NaN"));
}

TEST(MaskCodecTest, NumericDecodesUnnormalizedBytesAsNumericRecvDoes) {
  // Digits beyond the display scale are cut off, not rounded: 1.2344 at scale 2.
  EXPECT_EQ(Decoded(Hex("0002000000000002"
                        "0001"
                        "0928"),
                    ValueKind::kNumeric)
                .text,
            "1.23");
  // A leading zero digit shows no extra zeros.
  EXPECT_EQ(Decoded(Hex("0002000100000000"
                        "0000"
                        "0007"),
                    ValueKind::kNumeric)
                .text,
            "7");
  // A negative value that truncates to zero is zero.
  EXPECT_EQ(Decoded(Hex("0001ffff40000001"
                        "000a"),
                    ValueKind::kNumeric)
                .text,
            "0.0");
}

TEST(MaskCodecTest, NumericRefusesMalformedText) {
  for (const char* text :
       {"", "-", "abc", "1e", "1.2.3", "--1", "1 ", "0x10", "1e99999999999", "Infinityx"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ErrorOf([&] { Encoded(TextValue(ValueKind::kNumeric, text)); }),
                HasSubstr("numeric:"));
  }
  EXPECT_THAT(ErrorOf([] { Encoded(TextValue(ValueKind::kNumeric, "1e131072")); }),
              HasSubstr("too large"));
  EXPECT_THAT(ErrorOf([] { Encoded(TextValue(ValueKind::kNumeric, "1e-16384")); }),
              HasSubstr("digits after the point"));
}

TEST(MaskCodecTest, NumericRefusesMalformedBytes) {
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("000100"), ValueKind::kNumeric); }),
              HasSubstr("shorter than the 8-byte header"));
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("0002000000000000000a"), ValueKind::kNumeric); }),
              HasSubstr("for 2 digits"));
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("0001000012340000000a"), ValueKind::kNumeric); }),
              HasSubstr("invalid sign"));
  EXPECT_THAT(ErrorOf([] {
                Decoded(Hex("0001000000000000"
                            "2710"),
                        ValueKind::kNumeric);
              }),
              HasSubstr("digit out of range"));
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("000000000000ffff"), ValueKind::kNumeric); }),
              HasSubstr("display scale"));
}

// ---- inet and cidr ------------------------------------------------------------

struct InetCase {
  const char* text;
  const char* hex;  // inet_send's / cidr_send's bytes
  bool cidr;
};

TEST(MaskCodecTest, InetAndCidrRoundTripAsPostgresPrintsThem) {
  const InetCase cases[] = {
      {"10.1.2.3", "022000040a010203", false},
      {"10.1.2.3/24", "021800040a010203", false},
      {"10.0.0.0/8", "020801040a000000", true},
      {"10.1.2.3/32", "022001040a010203", true},
      {"::1", "0380001000000000000000000000000000000001", false},
      {"2001:db8::1", "0380001020010db8000000000000000000000001", false},
      {"::ffff:1.2.3.4", "0380001000000000000000000000ffff01020304", false},
      {"1:0:0:2::3", "0380001000010000000000020000000000000003", false},
      {"fe80::/10", "030a0110fe800000000000000000000000000000", true},
      {"::/0", "0300011000000000000000000000000000000000", true},
  };
  for (const InetCase& c : cases) {
    SCOPED_TRACE(c.text);
    ValueLimits limits = Limits(c.cidr ? "cidr" : "inet");
    MaskValue value = Decoded(Hex(c.hex), ValueKind::kInet, limits);
    EXPECT_EQ(value.text, c.text);
    EXPECT_EQ(Encoded(value, limits), Hex(c.hex));
  }
}

TEST(MaskCodecTest, InetWithoutLimitsTakesCidrFromItsFlagByte) {
  MaskValue value;
  DecodeField(Hex("022001040a010203"), ValueKind::kInet, value);
  EXPECT_EQ(value.text, "10.1.2.3/32");
}

TEST(MaskCodecTest, CidrRefusesHostBitsSet) {
  EXPECT_THAT(ErrorOf([] { Encoded(TextValue(ValueKind::kInet, "10.1.2.3/8"), Limits("cidr")); }),
              HasSubstr("bits set to the right of the prefix"));
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("020801040a010203"), ValueKind::kInet, Limits("cidr")); }),
              HasSubstr("bits set to the right of the prefix"));
}

TEST(MaskCodecTest, InetRefusesMalformedTextAndBytes) {
  for (const char* text : {"", "10.1.2", "10.1.2.3/33", "10.1.2.3/", "10.1.2.3/-1", "::1/129",
                           "fe80::1%eth0", "example.com", "10.1.2.3/8x"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ErrorOf([&] { Encoded(TextValue(ValueKind::kInet, text)); }), HasSubstr("inet:"));
  }
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("042000040a010203"), ValueKind::kInet); }),
              HasSubstr("unknown address family"));
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("022100040a010203"), ValueKind::kInet); }),
              HasSubstr("prefix longer than the address"));
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("022000100a010203"), ValueKind::kInet); }),
              HasSubstr("an address of 16 bytes"));
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("0220"), ValueKind::kInet); }), HasSubstr("shorter"));
}

// ---- fixed-size kinds -----------------------------------------------------------

TEST(MaskCodecTest, IntegersRoundTripInTheColumnsWidth) {
  EXPECT_EQ(Decoded(Int16(-2), ValueKind::kInteger).integer, -2);
  EXPECT_EQ(Decoded(Int32(-70000), ValueKind::kInteger).integer, -70000);
  EXPECT_EQ(Decoded(Int64(-5000000000), ValueKind::kInteger).integer, -5000000000);
  EXPECT_EQ(Encoded(IntegerValue(ValueKind::kInteger, -2), Limits("smallint")), Int16(-2));
  EXPECT_EQ(Encoded(IntegerValue(ValueKind::kInteger, 70000), Limits("integer")), Int32(70000));
  EXPECT_EQ(Encoded(IntegerValue(ValueKind::kInteger, -5000000000), Limits("bigint")),
            Int64(-5000000000));
  EXPECT_EQ(Encoded(IntegerValue(ValueKind::kInteger, -32768), Limits("smallint")), Int16(-32768));
}

TEST(MaskCodecTest, IntegersOutOfTheColumnsRangeAreRefused) {
  EXPECT_THAT(
      ErrorOf([] { Encoded(IntegerValue(ValueKind::kInteger, 32768), Limits("smallint")); }),
      AllOf(HasSubstr("out of range for a 2-byte"), Not(HasSubstr("32768"))));
  EXPECT_THAT(ErrorOf([] {
                Encoded(IntegerValue(ValueKind::kInteger, int64_t{1} << 31), Limits("integer"));
              }),
              HasSubstr("4-byte"));
  EXPECT_THAT(ErrorOf([] { Decoded(Hex("010203"), ValueKind::kInteger); }),
              HasSubstr("3 bytes, expected 2, 4 or 8"));
}

TEST(MaskCodecTest, TimestampsKeepInfinitiesAsIntegerExtremes) {
  for (int64_t micros : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                         int64_t{0}, int64_t{-211813488000000000}, int64_t{774360000123456}}) {
    std::string bytes = Int64(micros);
    MaskValue value = Decoded(bytes, ValueKind::kTimestamp);
    EXPECT_EQ(value.integer, micros);
    EXPECT_EQ(Encoded(value), bytes);
  }
  EXPECT_THAT(ErrorOf([] { Encoded(IntegerValue(ValueKind::kTimestamp, -211813488000000001)); }),
              HasSubstr("out of PostgreSQL's range"));
  EXPECT_THAT(ErrorOf([] { Decoded(Int32(1), ValueKind::kTimestamp); }),
              HasSubstr("4 bytes, expected 8"));
}

TEST(MaskCodecTest, DatesRoundTripDaysIncludingInfinities) {
  for (int64_t days : {int64_t{0}, int64_t{-2451545}, int64_t{2145031948}, int64_t{8766},
                       int64_t{std::numeric_limits<int32_t>::max()},
                       int64_t{std::numeric_limits<int32_t>::min()}}) {
    std::string bytes = Int32(days);
    MaskValue value = Decoded(bytes, ValueKind::kDate);
    EXPECT_EQ(value.integer, days);
    EXPECT_EQ(Encoded(value), bytes);
  }
  EXPECT_THAT(ErrorOf([] { Encoded(IntegerValue(ValueKind::kDate, 2145031949)); }),
              HasSubstr("out of PostgreSQL's range"));
}

TEST(MaskCodecTest, UuidAndBooleanRoundTrip) {
  std::string uuid = Hex("a0eebc999c0b4ef8bb6d6bb9bd380a11");
  MaskValue value = Decoded(uuid, ValueKind::kUuid);
  EXPECT_EQ(value.bytes[0], 0xa0);
  EXPECT_EQ(value.bytes[15], 0x11);
  EXPECT_EQ(Encoded(value), uuid);
  EXPECT_THAT(ErrorOf([] { Decoded("short", ValueKind::kUuid); }), HasSubstr("expected 16"));

  EXPECT_EQ(Decoded(Hex("01"), ValueKind::kBoolean).integer, 1);
  EXPECT_EQ(Decoded(Hex("00"), ValueKind::kBoolean).integer, 0);
  EXPECT_EQ(Encoded(IntegerValue(ValueKind::kBoolean, 1)), Hex("01"));
  EXPECT_THAT(ErrorOf([] { Encoded(IntegerValue(ValueKind::kBoolean, 2)); }),
              HasSubstr("neither 0 nor 1"));
}

// ---- text and json --------------------------------------------------------------

TEST(MaskCodecTest, TextRoundTripsItsBytes) {
  std::string text = "Zoë Müller <zoe@example.com>";
  MaskValue value = Decoded(text, ValueKind::kText);
  EXPECT_EQ(value.text, text);
  EXPECT_EQ(Encoded(value), text);
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "")), "");
}

TEST(MaskCodecTest, TextMustBeUtf8WithoutNul) {
  for (std::string text : {std::string("ab\xff"), std::string("\xc3"), std::string("\xc0\xaf"),
                           std::string("\xed\xa0\x80"), std::string("a\0b", 3),
                           std::string("long enough ascii then \xe2\x82")}) {
    EXPECT_THAT(ErrorOf([&] { Encoded(TextValue(ValueKind::kText, text)); }),
                HasSubstr("not valid UTF-8"));
  }
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "\xf0\x9f\x98\x80 emoji")),
            "\xf0\x9f\x98\x80 emoji");
}

TEST(MaskCodecTest, TextLongerThanTheColumnIsRefusedUnlessOnlySpacesOverflow) {
  ValueLimits varchar5 = Limits("character varying(5)");
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "äöüßé"), varchar5), "äöüßé");  // 5 characters
  // The spaces beyond 5 are dropped, as varchar input drops them.
  EXPECT_EQ(Encoded(TextValue(ValueKind::kText, "abc     "), varchar5), "abc  ");
  EXPECT_THAT(ErrorOf([&] { Encoded(TextValue(ValueKind::kText, "secret"), varchar5); }),
              AllOf(HasSubstr("6 characters, more than the column's 5"), Not(HasSubstr("secret"))));
  ValueLimits char1 = Limits("character");
  EXPECT_THAT(ErrorOf([&] { Encoded(TextValue(ValueKind::kText, "ab"), char1); }),
              HasSubstr("more than the column's 1"));
}

TEST(MaskCodecTest, JsonAndJsonbDifferByTheVersionByte) {
  const std::string document = R"({"a": [1, 2.50, "é"]})";
  ValueLimits jsonb = Limits("jsonb");
  MaskValue value = Decoded("\x01" + document, ValueKind::kJson, jsonb);
  EXPECT_EQ(value.text, document);
  EXPECT_EQ(Encoded(value, jsonb), "\x01" + document);
  value = Decoded(document, ValueKind::kJson, Limits("json"));
  EXPECT_EQ(value.text, document);
  EXPECT_EQ(Encoded(value, Limits("json")), document);
  EXPECT_THAT(ErrorOf([&] { Decoded("\x02{}", ValueKind::kJson, jsonb); }),
              HasSubstr("unsupported version"));
  EXPECT_THAT(ErrorOf([&] { Decoded("", ValueKind::kJson, jsonb); }),
              HasSubstr("unsupported version"));
}

TEST(MaskCodecTest, JsonWithoutLimitsRecognizesJsonbByItsVersionByte) {
  MaskValue value;
  DecodeField("\x01[1]", ValueKind::kJson, value);
  EXPECT_EQ(value.text, "[1]");
  DecodeField("[1]", ValueKind::kJson, value);
  EXPECT_EQ(value.text, "[1]");
}

// ---- MaskRows ---------------------------------------------------------------------

// Upper-cases ASCII text, negates integers, and makes NULL of the text "drop".
class TestMasker final : public ValueMasker {
 public:
  bool Mask(MaskValue& value) const override {
    if (value.kind == ValueKind::kInteger) {
      value.integer = -value.integer;
      return true;
    }
    if (value.text == "drop") return false;
    if (value.text == "bad") value.text = "\xff";  // not UTF-8: encoding fails
    for (char& c : value.text)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return true;
  }
};

using Field = std::optional<std::string>;

std::string BinaryRow(const std::vector<Field>& fields) {
  std::string row = Int16(static_cast<int>(fields.size()));
  for (const Field& field : fields)
    row += field ? Int32(static_cast<int64_t>(field->size())) + *field : Int32(-1);
  return row;
}

std::optional<ColumnMasker> Masked(ValueKind kind, std::string type, std::string column) {
  return ColumnMasker{kind, LimitsOfType(type), std::make_shared<TestMasker>(), std::move(column)};
}

std::string Apply(MaskRows& masker, std::string_view row) {
  std::string out;
  masker.Apply(row, out);
  return out;
}

// id bigint (kept), email text (masked), note text (kept), score integer (masked).
MaskRows FourColumnMasker() {
  return MaskRows(StreamFormat::kBinary,
                  {std::nullopt, Masked(ValueKind::kText, "text", "email"), std::nullopt,
                   Masked(ValueKind::kInteger, "integer", "score")});
}

TEST(MaskRowsTest, MasksOnlyTheMaskedFieldsAndCopiesTheOthersByteForByte) {
  MaskRows masker = FourColumnMasker();
  std::string keep_id = Int64(42);
  std::string keep_note("note \xff\0 raw", 11);
  std::string row = BinaryRow({keep_id, std::string("ann@example.com"), keep_note, Int32(7)});
  EXPECT_EQ(Apply(masker, row),
            BinaryRow({keep_id, std::string("ANN@EXAMPLE.COM"), keep_note, Int32(-7)}));
  EXPECT_EQ(masker.masked_fields(), 2u);
}

TEST(MaskRowsTest, KeepsNullsAndMakesNullWhenTheMaskerSaysSo) {
  MaskRows masker = FourColumnMasker();
  std::string row = BinaryRow({std::nullopt, std::string("drop"), std::nullopt, std::nullopt});
  EXPECT_EQ(Apply(masker, row),
            BinaryRow({std::nullopt, std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(masker.masked_fields(), 1u);
}

TEST(MaskRowsTest, AColumnWithoutMaskerBecomesNull) {
  MaskRows masker(StreamFormat::kBinary,
                  {ColumnMasker{ValueKind::kNumeric, {}, nullptr, "salary"}, std::nullopt});
  std::string row = BinaryRow({std::string("not even numeric"), std::string("x")});
  EXPECT_EQ(Apply(masker, row), BinaryRow({std::nullopt, std::string("x")}));
}

TEST(MaskRowsTest, FieldLengthsFollowTheMaskedValues) {
  MaskRows masker(StreamFormat::kBinary, {Masked(ValueKind::kNumeric, "numeric", "amount")});
  // A masker that leaves the value alone still re-encodes it: 1.5e3 -> 1500.
  std::string row = BinaryRow({Hex("000100000000000005dc")});
  EXPECT_EQ(Apply(masker, row), row);
}

TEST(MaskRowsTest, RefusesAFieldCountOtherThanTheColumns) {
  MaskRows masker = FourColumnMasker();
  EXPECT_THAT(ErrorOf([&] {
                Apply(masker, BinaryRow({std::string("a"), std::string("b")}));
              }),
              HasSubstr("the row has 2 fields, expected 4"));
}

TEST(MaskRowsTest, RefusesTruncatedRowsAndTrailingBytes) {
  MaskRows masker = FourColumnMasker();
  std::string row = BinaryRow({Int64(1), std::string("ann@example.com"), std::nullopt, Int32(7)});
  EXPECT_THAT(ErrorOf([&] { Apply(masker, row.substr(0, 1)); }),
              HasSubstr("shorter than its field count"));
  EXPECT_THAT(ErrorOf([&] { Apply(masker, row.substr(0, 20)); }),
              HasSubstr("field 2 is truncated"));
  EXPECT_THAT(ErrorOf([&] { Apply(masker, row.substr(0, row.size() - 1)); }),
              HasSubstr("field 4 is truncated"));
  EXPECT_THAT(ErrorOf([&] { Apply(masker, row + "x"); }),
              HasSubstr("1 bytes follow the last field"));
  std::string bad_length = Int16(4) + Int32(-2);
  EXPECT_THAT(ErrorOf([&] { Apply(masker, bad_length); }), HasSubstr("invalid length -2"));
}

TEST(MaskRowsTest, ErrorsNameTheColumnButNotTheValue) {
  MaskRows masker = FourColumnMasker();
  std::string out = "earlier rows";
  std::string row = BinaryRow({Int64(1), std::string("bad"), std::nullopt, Int32(7)});
  std::string message = ErrorOf([&] { masker.Apply(row, out); });
  EXPECT_THAT(message,
              AllOf(HasSubstr("column email: "), HasSubstr("UTF-8"), Not(HasSubstr("bad"))));
  EXPECT_EQ(out, "earlier rows");  // nothing of the failed row is left behind

  std::string short_score =
      BinaryRow({Int64(1), std::string("a"), std::nullopt, std::string("xyz")});
  EXPECT_THAT(ErrorOf([&] { Apply(masker, short_score); }),
              AllOf(HasSubstr("column score: integer: 3 bytes"), Not(HasSubstr("xyz"))));
}

TEST(MaskRowsTest, HidesTheMessageOfAForeignExceptionFromAMasker) {
  class ThrowingMasker final : public ValueMasker {
   public:
    bool Mask(MaskValue& value) const override { throw std::runtime_error("near " + value.text); }
  };
  MaskRows masker(StreamFormat::kBinary,
                  {ColumnMasker{ValueKind::kText, {}, std::make_shared<ThrowingMasker>(), "note"}});
  EXPECT_THAT(ErrorOf([&] { Apply(masker, BinaryRow({std::string("private")})); }),
              AllOf(HasSubstr("column note: the masker failed"), Not(HasSubstr("private"))));
}

TEST(MaskRowsTest, RefusesTheTextFormat) {
  EXPECT_THAT(ErrorOf([] { MaskRows(StreamFormat::kText, {std::nullopt}); }),
              HasSubstr("binary format"));
}

TEST(MaskRowsTest, ReusesItsBuffersAcrossRows) {
  MaskRows masker = FourColumnMasker();
  std::string out;
  for (int i = 0; i < 1000; ++i)
    masker.Apply(BinaryRow({Int64(i), std::string("x@example.com"), std::nullopt, Int32(i)}), out);
  EXPECT_EQ(masker.masked_fields(), 2000u);
  EXPECT_EQ(
      out.size(),
      1000 * BinaryRow({Int64(0), std::string("X@EXAMPLE.COM"), std::nullopt, Int32(0)}).size());
}

}  // namespace
}  // namespace freshet
