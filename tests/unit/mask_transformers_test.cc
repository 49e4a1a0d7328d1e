// The masking key, its keyed hash and the value transformers: determinism,
// key and domain separation, the distinctness the unique rules promise, the
// formats the others keep, and errors that name the rule but never a value.
#include "copy/mask_transformers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "copy/error.h"
#include "copy/mask_dictionaries.h"
#include "copy/mask_key.h"

namespace freshet {
namespace {

const MaskKey& Key() {
  static const MaskKey key = MaskKey::FromSecret("unit-test secret, 32 bytes long!");
  return key;
}
const MaskKey& OtherKey() {
  static const MaskKey key = MaskKey::FromSecret("another unit-test secret........");
  return key;
}

MaskRule Rule(std::string name) {
  MaskRule rule;
  rule.rule = std::move(name);
  return rule;
}

// Masks text `input` with `rule` on a text column of `max_chars` (0: text).
std::string MaskText(const MaskRule& rule, std::string input, const MaskKey& key = Key(),
                     size_t max_chars = 0) {
  ValueLimits limits;
  limits.max_chars = max_chars;
  MaskValue value;
  value.text = std::move(input);
  EXPECT_TRUE(MakeMasker(rule, key, ValueKind::kText, limits)->Mask(value));
  return value.text;
}

int64_t MaskInteger(const MaskRule& rule, ValueKind kind, int64_t input, int bytes = 8) {
  ValueLimits limits;
  limits.integer_bytes = bytes;
  MaskValue value;
  value.kind = kind;
  value.integer = input;
  EXPECT_TRUE(MakeMasker(rule, Key(), kind, limits)->Mask(value));
  return value.integer;
}

size_t Utf8Chars(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return count;
}

// The error MakeMasker throws, or "" when it does not.
std::string MakeError(const MaskRule& rule, ValueKind kind = ValueKind::kText,
                      ValueLimits limits = {}) {
  try {
    MakeMasker(rule, Key(), kind, limits);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The error masking `input` throws, or "".
std::string MaskError(const MaskRule& rule, ValueKind kind, const std::string& input) {
  auto masker = MakeMasker(rule, Key(), kind, {});
  MaskValue value;
  value.kind = kind;
  value.text = input;
  try {
    masker->Mask(value);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ------------------------------------------------------------- the key

TEST(MaskKeyTest, RefusesShortSecretWithoutEchoingIt) {
  try {
    MaskKey::FromSecret("  hunter2-short  ");
    FAIL() << "a 13-byte secret was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("16"), std::string::npos) << e.what();
  }
}

TEST(MaskKeyTest, IgnoresSurroundingWhitespace) {
  EXPECT_EQ(MaskKey::FromSecret("\n  sixteen bytes long!\r\n").Fingerprint(),
            MaskKey::FromSecret("sixteen bytes long!").Fingerprint());
}

TEST(MaskKeyTest, FingerprintDiffersPerKeyAndRevealsNothing) {
  std::string secret = "abcdef0123456789abcdef";
  std::string fingerprint = MaskKey::FromSecret(secret).Fingerprint();
  EXPECT_EQ(fingerprint.size(), 16u);
  EXPECT_EQ(fingerprint.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(fingerprint, MaskKey::FromSecret(secret).Fingerprint());
  EXPECT_NE(fingerprint, Key().Fingerprint());
  EXPECT_NE(MaskKey::Ephemeral().Fingerprint(), MaskKey::Ephemeral().Fingerprint());
  for (size_t i = 0; i + 4 <= secret.size(); ++i) {
    EXPECT_EQ(fingerprint.find(secret.substr(i, 4)), std::string::npos);
  }
}

TEST(MaskKeyTest, KeyedHashIsDeterministicAndSeparatesKeysAndDomains) {
  KeyedHash hash(Key(), "email");
  EXPECT_EQ(hash.Of("a@b.c"), KeyedHash(Key(), "email").Of("a@b.c"));
  EXPECT_NE(hash.Of("a@b.c"), KeyedHash(OtherKey(), "email").Of("a@b.c"));
  EXPECT_NE(hash.Of("a@b.c"), KeyedHash(Key(), "hash").Of("a@b.c"));
  EXPECT_NE(hash.Of("a@b.c"), hash.Of("a@b.d"));
}

TEST(MaskKeyTest, BelowIsInRangeAndEven) {
  KeyedHash hash(Key(), "test");
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 100000; ++i) ++counts[hash.Below(std::to_string(i), 10)];
  ASSERT_EQ(counts.size(), 10u);
  for (auto [bucket, count] : counts) {
    EXPECT_LT(bucket, 10u);
    EXPECT_NEAR(count, 10000, 500) << "bucket " << bucket;
  }
  EXPECT_EQ(hash.Below("x", 1), 0u);
  uint64_t huge = (uint64_t{1} << 63) + 12345;  // rejects about half the words
  for (int i = 0; i < 1000; ++i) EXPECT_LT(hash.Below(std::to_string(i), huge), huge);
  EXPECT_THROW(hash.Below("x", 0), Error);
}

TEST(MaskKeyTest, KeyedHashIsSafeToShareAcrossThreads) {
  KeyedHash hash(Key(), "threads");
  std::vector<std::array<uint8_t, 16>> expected;
  for (int i = 0; i < 20000; ++i) expected.push_back(hash.Of(std::to_string(i)));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) mismatches[t] += hash.Of(std::to_string(i)) != expected[i];
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// ------------------------------------------------------ keying in general

TEST(MaskTransformersTest, SameKeySameOutputOtherKeyOtherOutput) {
  for (const char* name : {"hash", "email", "first_name", "last_name", "full_name", "city",
                           "street_address", "company", "phone"}) {
    int differing = 0;
    for (int i = 0; i < 200; ++i) {
      std::string input = "+1 555 " + std::to_string(1000000 + i * 7) + " person" +
                          std::to_string(i) + "@example.org";
      std::string masked = MaskText(Rule(name), input);
      EXPECT_EQ(masked, MaskText(Rule(name), input)) << name;
      differing += masked != MaskText(Rule(name), input, OtherKey());
    }
    EXPECT_GT(differing, 150) << name;
  }
}

TEST(MaskTransformersTest, DomainsOfDifferentRulesAreUnrelated) {
  MaskRule five = Rule("choice"), other = Rule("choice");
  five.choices = {"a", "b", "c", "d", "e"};
  other.choices = {"v", "w", "x", "y", "z"};
  int same_position = 0;
  for (int i = 0; i < 500; ++i) {
    std::string input = std::to_string(i);
    same_position += MaskText(five, input)[0] - 'a' == MaskText(other, input)[0] - 'v';
  }
  EXPECT_LT(same_position, 200);  // independent picks agree ~1 time in 5
}

TEST(MaskTransformersTest, RuleTakesAndKeepsUnique) {
  EXPECT_TRUE(RuleTakes(Rule("email"), ValueKind::kText));
  EXPECT_FALSE(RuleTakes(Rule("email"), ValueKind::kUuid));
  EXPECT_TRUE(RuleTakes(Rule("date_shift"), ValueKind::kTimestamp));
  EXPECT_TRUE(RuleTakes(Rule("numeric"), ValueKind::kInteger));
  EXPECT_TRUE(RuleTakes(Rule("null"), ValueKind::kBoolean));
  EXPECT_FALSE(RuleTakes(Rule("nonsense"), ValueKind::kText));
  for (const char* unique : {"uuid", "hash", "email", "keep"}) {
    EXPECT_TRUE(RuleKeepsUnique(Rule(unique))) << unique;
  }
  for (const char* lossy : {"first_name", "phone", "integer", "redact", "choice", "ip"}) {
    EXPECT_FALSE(RuleKeepsUnique(Rule(lossy))) << lossy;
  }
}

// ------------------------------------------------------------ text rules

TEST(MaskTransformersTest, HashIsHexAndFitsTheColumn) {
  std::string masked = MaskText(Rule("hash"), "secret value");
  EXPECT_EQ(masked.size(), 32u);
  EXPECT_EQ(masked.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(MaskText(Rule("hash"), "secret value", Key(), 10), masked.substr(0, 10));
}

TEST(MaskTransformersTest, EmailKeepsMillionAddressesDistinct) {
  auto masker = MakeMasker(Rule("email"), Key(), ValueKind::kText, {});
  std::unordered_set<std::string> seen;
  seen.reserve(1000000);
  for (int i = 0; i < 1000000; ++i) {
    MaskValue value;
    value.text = "user" + std::to_string(i) + "@corp.example";
    masker->Mask(value);
    seen.insert(std::move(value.text));
  }
  EXPECT_EQ(seen.size(), 1000000u);
}

TEST(MaskTransformersTest, EmailUsesReservedDomainsAndFitsTheColumn) {
  std::set<std::string> domains;
  for (int i = 0; i < 300; ++i) {
    std::string masked = MaskText(Rule("email"), "Jane.Doe" + std::to_string(i) + "@gmail.com");
    ASSERT_EQ(masked.size(), 38u) << masked;
    domains.insert(masked.substr(masked.find('@') + 1));
    std::string narrow =
        MaskText(Rule("email"), "jane" + std::to_string(i) + "@gmail.com", Key(), 20);
    EXPECT_LE(narrow.size(), 20u);
    EXPECT_NE(narrow.find("@example."), std::string::npos) << narrow;
  }
  EXPECT_EQ(domains, (std::set<std::string>{"example.com", "example.net", "example.org"}));
  EXPECT_NE(MakeError(Rule("email"), ValueKind::kText, {.max_chars = 12}).find("'email'"),
            std::string::npos);
}

TEST(MaskTransformersTest, EmailKeepsDomainWhenAsked) {
  MaskRule rule = Rule("email");
  rule.keep_domain = true;
  std::string masked = MaskText(rule, "jane.doe@acme.co.uk");
  EXPECT_EQ(masked.substr(masked.find('@')), "@acme.co.uk");
  EXPECT_EQ(masked.find("jane"), std::string::npos);
  EXPECT_EQ(masked.substr(0, masked.find('@')),
            MaskText(Rule("email"), "jane.doe@acme.co.uk").substr(0, masked.find('@')));
}

TEST(MaskTransformersTest, DictionaryRulesPickFromTheLocale) {
  MaskRule rule = Rule("first_name");
  rule.locale = "de";
  const MaskDictionary& german = MaskDictionaryFor("de");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string masked = MaskText(rule, "Name " + std::to_string(i));
    EXPECT_NE(std::find(german.first_names.begin(), german.first_names.end(), masked),
              german.first_names.end())
        << masked;
    seen.insert(masked);
  }
  EXPECT_GT(seen.size(), 30u);
  rule.locale = "xx";
  std::string error = MakeError(rule);
  EXPECT_NE(error.find("'first_name'"), std::string::npos) << error;
  EXPECT_NE(error.find("en, de, fr"), std::string::npos) << error;
}

TEST(MaskTransformersTest, DictionariesAreLargeEnough) {
  const MaskDictionary& english = MaskDictionaryFor("");
  EXPECT_EQ(english.locale, "en");
  for (auto list : {english.first_names, english.last_names, english.cities, english.street_names,
                    english.company_words}) {
    EXPECT_GE(list.size(), 150u);
  }
}

TEST(MaskTransformersTest, DictionaryOutputsFitNarrowColumns) {
  for (const char* name :
       {"first_name", "last_name", "full_name", "city", "street_address", "company"}) {
    for (const char* locale : {"en", "de", "fr"}) {
      MaskRule rule = Rule(name);
      rule.locale = locale;
      auto masker = MakeMasker(rule, Key(), ValueKind::kText, {.max_chars = 7});
      for (int i = 0; i < 100; ++i) {
        MaskValue value;
        value.text = "v" + std::to_string(i);
        masker->Mask(value);
        const std::string& masked = value.text;
        EXPECT_LE(Utf8Chars(masked), 7u) << name << " " << masked;
        EXPECT_FALSE(masked.empty());
      }
    }
  }
}

TEST(MaskTransformersTest, StreetAddressFollowsTheLocale) {
  MaskRule rule = Rule("street_address");
  std::string english = MaskText(rule, "1 Real Road");
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(english[0]))) << english;
  rule.locale = "de";
  std::string german = MaskText(rule, "1 Real Road");
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(german.back()))) << german;
}

TEST(MaskTransformersTest, PhoneKeepsFormatAndCountryCodeDigit) {
  std::string input = "+49 (30) 1234-5678 ext. 12";
  std::string masked = MaskText(Rule("phone"), input);
  ASSERT_EQ(masked.size(), input.size());
  EXPECT_NE(masked, input);
  EXPECT_EQ(masked.substr(0, 2), "+4");
  for (size_t i = 0; i < input.size(); ++i) {
    EXPECT_EQ(std::isdigit(static_cast<unsigned char>(input[i])) != 0,
              std::isdigit(static_cast<unsigned char>(masked[i])) != 0)
        << i;
    if (!std::isdigit(static_cast<unsigned char>(input[i]))) {
      EXPECT_EQ(input[i], masked[i]);
    }
  }
  // Keyed by the digits: other separators, same digits.
  std::string plain = MaskText(Rule("phone"), "+4930123456781 2");
  std::string digits;
  for (char c : masked) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  }
  EXPECT_EQ(plain, "+" + digits.substr(0, 13) + " " + digits.substr(13));
}

TEST(MaskTransformersTest, RedactCountsCharactersNotBytes) {
  MaskRule rule = Rule("redact");
  rule.keep_first = 2;
  rule.keep_last = 1;
  EXPECT_EQ(MaskText(rule, "Müßiggänger"), "Mü********r");
  rule.mask_char = "•";
  EXPECT_EQ(MaskText(rule, "日本語のテキスト"), "日本•••••ト");
  rule.keep_length = false;
  EXPECT_EQ(MaskText(rule, "ab"), "••••••••");  // too short to keep ends
  EXPECT_EQ(MaskText(rule, "Zoë Smith", Key(), 6), "Zo•••h");
  rule.mask_char = "**";
  EXPECT_NE(MakeError(rule).find("'redact'"), std::string::npos);
}

TEST(MaskTransformersTest, RegexpReplacesWithGroups) {
  MaskRule rule = Rule("regexp");
  rule.pattern = R"((\w+)@(\w+)\.com)";
  rule.replacement = "$2 at $1";
  EXPECT_EQ(MaskText(rule, "mail jane@acme.com now"), "mail acme at jane now");
  EXPECT_EQ(MaskText(rule, "mail jane@acme.com now", Key(), 8), "mail acm");
  rule.pattern = "(unclosed";
  std::string error = MakeError(rule);
  EXPECT_NE(error.find("'regexp'"), std::string::npos) << error;
}

TEST(MaskTransformersTest, ChoicePicksFromTheList) {
  MaskRule rule = Rule("choice");
  rule.choices = {"red", "green", "blue"};
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(MaskText(rule, std::to_string(i)));
  EXPECT_EQ(seen, (std::set<std::string>{"red", "green", "blue"}));
  EXPECT_NE(MakeError(rule, ValueKind::kText, {.max_chars = 4}).find("choice #2"),
            std::string::npos);
  rule.choices.clear();
  EXPECT_NE(MakeError(rule).find("'choice'"), std::string::npos);
}

// ------------------------------------------------------ uuid and network

TEST(MaskTransformersTest, UuidIsAPermutationKeepingVersionAndVariant) {
  auto masker = MakeMasker(Rule("uuid"), Key(), ValueKind::kUuid, {});
  std::set<std::array<uint8_t, 16>> outputs;
  for (uint32_t i = 0; i < 100000; ++i) {
    MaskValue value;
    value.kind = ValueKind::kUuid;
    value.bytes = {0x12,
                   0x34,
                   0x56,
                   0x78,
                   0x9a,
                   0xbc,
                   0x4d,
                   0xef,
                   0x8f,
                   0xed,
                   0xcb,
                   0xa9,
                   uint8_t(i >> 24),
                   uint8_t(i >> 16),
                   uint8_t(i >> 8),
                   uint8_t(i)};
    if (i % 2) value.bytes[6] = 0x7d;  // version 7
    auto input = value.bytes;
    ASSERT_TRUE(masker->Mask(value));
    EXPECT_EQ(value.bytes[6] >> 4, input[6] >> 4);
    EXPECT_EQ(value.bytes[8] >> 6, input[8] >> 6);
    outputs.insert(value.bytes);
  }
  EXPECT_EQ(outputs.size(), 100000u);
}

TEST(MaskTransformersTest, UuidInTextKeepsItsForm) {
  std::string input = "550e8400-e29b-41d4-a716-446655440000";
  std::string masked = MaskText(Rule("uuid"), input);
  ASSERT_EQ(masked.size(), 36u);
  EXPECT_NE(masked, input);
  EXPECT_EQ(masked[14], '4');
  EXPECT_NE(std::string("89ab").find(masked[19]), std::string::npos);
  EXPECT_EQ(masked, MaskText(Rule("uuid"), "550E8400-E29B-41D4-A716-446655440000"));
  std::string error = MaskError(Rule("uuid"), ValueKind::kText, "my-secret-token");
  EXPECT_NE(error.find("'uuid'"), std::string::npos);
  EXPECT_EQ(error.find("my-secret-token"), std::string::npos) << error;
}

std::string MaskInet(const std::string& input, bool cidr = false) {
  MaskValue value;
  value.kind = ValueKind::kInet;
  value.text = input;
  EXPECT_TRUE(MakeMasker(Rule("ip"), Key(), ValueKind::kInet, {.cidr = cidr})->Mask(value));
  return value.text;
}

TEST(MaskTransformersTest, IpKeepsFamilyAndPrefix) {
  for (int i = 0; i < 200; ++i) {
    std::string masked = MaskInet("10.1.2." + std::to_string(i));
    int first = std::stoi(masked);
    EXPECT_TRUE(first >= 1 && first <= 223 && first != 127) << masked;
    EXPECT_EQ(std::count(masked.begin(), masked.end(), '.'), 3);
  }
  EXPECT_EQ(MaskInet("::1").rfind("2001:db8:", 0), 0u) << MaskInet("::1");
  std::string with_prefix = MaskInet("192.168.7.9/24");
  EXPECT_EQ(with_prefix.substr(with_prefix.size() - 3), "/24");
  std::string network = MaskInet("192.168.7.0/24", true);
  EXPECT_EQ(network.substr(network.size() - 5), ".0/24") << network;
  EXPECT_EQ(MaskInet("192.168.7.9"), MaskInet("192.168.7.9"));
  std::string error = MaskError(Rule("ip"), ValueKind::kInet, "not-an-ip-4711");
  EXPECT_NE(error.find("'ip'"), std::string::npos);
  EXPECT_EQ(error.find("4711"), std::string::npos) << error;
}

// ----------------------------------------------------------- number rules

TEST(MaskTransformersTest, IntegerRangeStaysWithinRangeAndWidth) {
  MaskRule rule = Rule("integer");
  rule.min = 18;
  rule.max = 90;
  std::set<int64_t> seen;
  for (int64_t i = 0; i < 2000; ++i) {
    int64_t masked = MaskInteger(rule, ValueKind::kInteger, i);
    EXPECT_TRUE(masked >= 18 && masked <= 90) << masked;
    seen.insert(masked);
  }
  EXPECT_EQ(seen.size(), 73u);
  rule.min = -1e12;
  rule.max = 1e12;
  for (int64_t i = 0; i < 1000; ++i) {
    int64_t masked = MaskInteger(rule, ValueKind::kInteger, i, 2);
    EXPECT_TRUE(masked >= -32768 && masked <= 32767) << masked;
  }
}

TEST(MaskTransformersTest, IntegerNoiseMovesByAtMostTheShare) {
  MaskRule rule = Rule("integer");
  rule.noise = 0.1;
  int moved = 0;
  for (int64_t v = 1000; v < 3000; ++v) {
    int64_t masked = MaskInteger(rule, ValueKind::kInteger, v);
    EXPECT_LE(std::abs(masked - v), v / 10);
    moved += masked != v;
  }
  EXPECT_EQ(moved, 2000);  // never left as it was
  // Small values (and zero) move too, by at least one unit.
  for (int64_t v = -9; v <= 9; ++v) {
    int64_t masked = MaskInteger(rule, ValueKind::kInteger, v);
    EXPECT_NE(masked, v);
    EXPECT_LE(std::abs(masked - v), 1);
  }
  EXPECT_EQ(MaskInteger(rule, ValueKind::kInteger, 32767, 2) <= 32767, true);
  rule.noise = -1;
  EXPECT_NE(MakeError(rule, ValueKind::kInteger).find("'integer'"), std::string::npos);
  rule.noise.reset();
  rule.min = 5;
  EXPECT_NE(MakeError(rule, ValueKind::kInteger).find("min and max"), std::string::npos);
}

std::string MaskNumeric(const MaskRule& rule, const std::string& input) {
  MaskValue value;
  value.kind = ValueKind::kNumeric;
  value.text = input;
  EXPECT_TRUE(MakeMasker(rule, Key(), ValueKind::kNumeric, {})->Mask(value));
  return value.text;
}

TEST(MaskTransformersTest, NumericKeepsScaleAndRange) {
  MaskRule rule = Rule("numeric");
  rule.min = 0.1;
  rule.max = 99.9;
  for (int i = 0; i < 500; ++i) {
    std::string masked = MaskNumeric(rule, std::to_string(i) + ".25");
    ASSERT_EQ(masked.size() - masked.find('.'), 3u) << masked;
    double number = std::stod(masked);
    EXPECT_TRUE(number >= 0.1 && number <= 99.9) << masked;
  }
  rule.scale = 0;
  EXPECT_EQ(MaskNumeric(rule, "12.345").find('.'), std::string::npos);
  EXPECT_EQ(MaskNumeric(rule, "NaN"), "NaN");
  MaskRule noise = Rule("numeric");
  noise.noise = 0.5;
  std::string masked = MaskNumeric(noise, "-1200.500");
  EXPECT_EQ(masked.size() - masked.find('.'), 4u) << masked;
  EXPECT_LE(std::abs(std::stod(masked) + 1200.5), 600.25);
  // Zero is not left as it was: it moves by one unit.
  EXPECT_EQ(std::abs(MaskInteger(noise, ValueKind::kInteger, 0)), 1);
  std::string error = MaskError(noise, ValueKind::kNumeric, "12abc34");
  EXPECT_NE(error.find("'numeric'"), std::string::npos);
  EXPECT_EQ(error.find("12abc34"), std::string::npos);
  // A scale the column would round away is refused when the masker is made
  // (the column would hold other values than those sent).
  MaskRule fine = Rule("numeric");
  fine.noise = 0.5;
  fine.scale = 4;
  EXPECT_NE(MakeError(fine, ValueKind::kNumeric, LimitsOfType("numeric(10,2)"))
                .find("scale 4 is more than the column keeps (2 digits after the point)"),
            std::string::npos);
  EXPECT_EQ(MakeError(fine, ValueKind::kNumeric, LimitsOfType("numeric(12, 4)")), "");
  EXPECT_EQ(MakeError(fine, ValueKind::kNumeric, LimitsOfType("numeric")), "");
}

TEST(MaskTransformersTest, DateShiftStaysWithinTheWindow) {
  MaskRule rule = Rule("date_shift");
  rule.window = "30 days";
  for (int64_t day = 0; day < 1000; ++day) {
    int64_t masked = MaskInteger(rule, ValueKind::kDate, day);
    EXPECT_NE(masked, day);
    EXPECT_LE(std::abs(masked - day), 30);
  }
  EXPECT_EQ(MaskInteger(rule, ValueKind::kDate, 7000), MaskInteger(rule, ValueKind::kDate, 7000));
  EXPECT_EQ(MaskInteger(rule, ValueKind::kDate, INT32_MAX), INT32_MAX);  // infinity
  rule.window = "12 hours";
  constexpr int64_t kHour = 3'600'000'000;
  for (int64_t t = 0; t < 1000; ++t) {
    int64_t micros = 700'000'000'000'000 + t * 1'000'003;
    EXPECT_LE(std::abs(MaskInteger(rule, ValueKind::kTimestamp, micros) - micros), 12 * kHour);
  }
  EXPECT_NE(MakeError(rule, ValueKind::kDate).find("under one day"), std::string::npos);
  for (const char* bad : {"0 days", "-3 days", "soon", "3 fortnights", ""}) {
    rule.window = bad;
    EXPECT_NE(MakeError(rule, ValueKind::kTimestamp).find("'date_shift'"), std::string::npos)
        << bad;
  }
}

// --------------------------------------------- null, constant and others

TEST(MaskTransformersTest, NullConstantAndPlannerRules) {
  MaskValue value;
  value.text = "x";
  EXPECT_FALSE(MakeMasker(Rule("null"), Key(), ValueKind::kUuid, {})->Mask(value));
  MaskRule constant = Rule("constant");
  constant.value = "redacted";
  EXPECT_EQ(MaskText(constant, "anything"), "redacted");
  EXPECT_NE(MakeError(constant, ValueKind::kDate).find("'constant'"), std::string::npos);
  EXPECT_NE(MakeError(constant, ValueKind::kText, {.max_chars = 3}).find("'constant'"),
            std::string::npos);
  EXPECT_NE(MakeError(Rule("sql")).find("'sql'"), std::string::npos);
  EXPECT_NE(MakeError(Rule("keep")).find("'keep'"), std::string::npos);
  std::string unknown = MakeError(Rule("scramble"));
  EXPECT_NE(unknown.find("'scramble'"), std::string::npos);
  EXPECT_NE(unknown.find("date_shift"), std::string::npos);
  EXPECT_NE(MakeError(Rule("email"), ValueKind::kUuid).find("takes: text"), std::string::npos);
}

TEST(MaskTransformersTest, JsonMasksValuesAtPaths) {
  MaskRule rule = Rule("json");
  MaskRule amount = Rule("numeric");
  amount.min = 1;
  amount.max = 9;
  amount.scale = 0;
  rule.paths = {{"$.contact.email", Rule("email")}, {"$.amount", amount}};
  MaskValue value;
  value.kind = ValueKind::kJson;
  value.text = R"({"contact":{"email":"jane@acme.com"},"amount":1234,"keep":"x"})";
  ASSERT_TRUE(MakeMasker(rule, Key(), ValueKind::kJson, {})->Mask(value));
  EXPECT_EQ(value.text.find("jane"), std::string::npos) << value.text;
  EXPECT_NE(value.text.find("@example."), std::string::npos) << value.text;
  EXPECT_EQ(value.text.find("1234"), std::string::npos) << value.text;
  EXPECT_NE(value.text.find(R"("keep":"x")"), std::string::npos) << value.text;
  rule.paths = {{"$.age", Rule("integer")}};
  EXPECT_NE(MakeError(rule, ValueKind::kJson).find("$.age"), std::string::npos);
}

}  // namespace
}  // namespace freshet
