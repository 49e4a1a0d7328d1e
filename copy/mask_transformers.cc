// The masking rules: which kinds each takes, whether it keeps values
// distinct, and the masker each builds. Every keyed rule hashes under a
// domain made of the rule's name and the parameters that change its output,
// never a table or column, so that equal values mask equally everywhere and
// foreign keys stay joined.
#include "copy/mask_transformers.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "copy/error.h"
#include "copy/mask_dictionaries.h"
#include "copy/mask_json.h"

namespace freshet {
namespace {

// ---------------------------------------------------------------- helpers

// A masker around a function object; lambdas hold only values fixed at
// construction, so Mask is thread-safe.
template <class F>
class FunctionMasker final : public ValueMasker {
 public:
  explicit FunctionMasker(F f) : f_(std::move(f)) {}
  bool Mask(MaskValue& value) const override { return f_(value); }

 private:
  F f_;
};

template <class F>
std::unique_ptr<ValueMasker> Masker(F f) {
  return std::make_unique<FunctionMasker<F>>(std::move(f));
}

// What a rule's factory is given.
struct Build {
  const MaskRule& rule;
  const MaskKey& key;
  ValueKind kind;
  const ValueLimits& limits;

  Error Fail(const std::string& what) const {
    return Error(ErrorKind::kUsage, "mask rule '" + rule.rule + "': " + what);
  }
};

// An error about one value, found while masking; names the rule, never the value.
Error ValueError(const std::string& rule, const std::string& what) {
  return Error("mask rule '" + rule + "': " + what + " (the value is not shown)");
}

size_t CountChars(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return count;
}

// The byte length of the first `chars` UTF-8 characters of `text`.
size_t BytesOfFirstChars(std::string_view text, size_t chars) {
  size_t i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<uint8_t>(text[i]) & 0xC0) != 0x80 && chars-- == 0) break;
  }
  return i;
}

// Cuts `text` to at most `max` characters (0: no limit), on a character boundary.
void FitChars(std::string& text, size_t max) {
  if (max != 0) text.resize(BytesOfFirstChars(text, max));
}

bool FitsChars(std::string_view text, size_t max) { return max == 0 || CountChars(text) <= max; }

uint64_t LittleEndian64(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::string Hex(const std::array<uint8_t, 16>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// RFC 4648 base32 in lowercase: 26 characters for 128 bits.
std::string Base32(const std::array<uint8_t, 16>& bytes) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    for (bits += 8; bits >= 5; bits -= 5) out += kAlphabet[(buffer >> (bits - 5)) & 31];
    buffer &= (1u << bits) - 1;
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

std::string FormatParam(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

int64_t ClampToInt64(long double value) {
  if (std::isnan(value)) return 0;
  if (value <= static_cast<long double>(std::numeric_limits<int64_t>::min())) {
    return std::numeric_limits<int64_t>::min();
  }
  if (value >= static_cast<long double>(std::numeric_limits<int64_t>::max())) {
    return std::numeric_limits<int64_t>::max();
  }
  return static_cast<int64_t>(value);
}

std::pair<int64_t, int64_t> IntegerRange(int bytes) {
  if (bytes == 2) return {INT16_MIN, INT16_MAX};
  if (bytes == 4) return {INT32_MIN, INT32_MAX};
  return {INT64_MIN, INT64_MAX};
}

int64_t Clamp(__int128 value, std::pair<int64_t, int64_t> range) {
  return static_cast<int64_t>(value < range.first    ? range.first
                              : value > range.second ? range.second
                                                     : value);
}

// ------------------------------------------------------------ text rules

std::unique_ptr<ValueMasker> MakeHash(const Build& b) {
  // 32 hex digits; a column narrower than that gets a prefix, which no
  // longer keeps values distinct.
  return Masker([hash = KeyedHash(b.key, "hash"), max = b.limits.max_chars](MaskValue& value) {
    value.text = Hex(hash.Of(value.text));
    FitChars(value.text, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeEmail(const Build& b) {
  static constexpr std::string_view kReserved[] = {"example.com", "example.org", "example.net"};
  size_t max = b.limits.max_chars;
  // A full address is 26 + 1 + 11 = 38 characters; a narrower column gets a
  // shorter local part (fewer hash bits, so distinctness is no longer
  // promised), and one under 13 cannot hold "x@example.com" at all.
  if (max != 0 && max < 13 && !b.rule.keep_domain) {
    throw b.Fail("the column holds " + std::to_string(max) +
                 " characters; a masked address needs at least 13");
  }
  return Masker(
      [hash = KeyedHash(b.key, "email"), max, keep_domain = b.rule.keep_domain](MaskValue& value) {
        auto digest = hash.Of(value.text);  // of the whole address, so distinct stays distinct
        std::string local = Base32(digest);
        std::string domain(kReserved[LittleEndian64(digest.data()) % 3]);
        size_t at = value.text.rfind('@');
        if (keep_domain && at != std::string::npos && at + 1 < value.text.size()) {
          std::string own = value.text.substr(at + 1);
          if (max == 0 || CountChars(own) + 2 <= max) domain = std::move(own);
        }
        if (max != 0) {
          size_t room = max - std::min(max, CountChars(domain) + 1);
          local.resize(std::min(local.size(), std::max<size_t>(room, 1)));
        }
        value.text = local + "@" + domain;
        FitChars(value.text, max);
        return true;
      });
}

// A word list cut to the entries that fit the column; all of it (to be
// truncated) when none does.
std::vector<std::string_view> Fitting(std::span<const std::string_view> words, size_t max) {
  std::vector<std::string_view> out;
  for (std::string_view word : words) {
    if (FitsChars(word, max)) out.push_back(word);
  }
  if (out.empty()) out.assign(words.begin(), words.end());
  return out;
}

// The first of `candidates` that fits `max`, else the last one cut.
std::string FirstFitting(std::initializer_list<std::string> candidates, size_t max) {
  for (const std::string& candidate : candidates) {
    if (FitsChars(candidate, max)) return candidate;
  }
  std::string last = *(candidates.end() - 1);
  FitChars(last, max);
  return last;
}

const MaskDictionary& DictionaryOf(const Build& b) {
  try {
    return MaskDictionaryFor(b.rule.locale);
  } catch (const Error& e) {
    throw b.Fail(e.what());
  }
}

std::unique_ptr<ValueMasker> MakeDictionaryWord(const Build& b) {
  const MaskDictionary& dictionary = DictionaryOf(b);
  std::span<const std::string_view> list = b.rule.rule == "first_name"  ? dictionary.first_names
                                           : b.rule.rule == "last_name" ? dictionary.last_names
                                                                        : dictionary.cities;
  std::string domain = b.rule.rule + "/" + std::string(dictionary.locale);
  return Masker([hash = KeyedHash(b.key, domain), words = Fitting(list, b.limits.max_chars),
                 max = b.limits.max_chars](MaskValue& value) {
    value.text = words[hash.Below(value.text, words.size())];
    FitChars(value.text, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeFullName(const Build& b) {
  const MaskDictionary& d = DictionaryOf(b);
  return Masker([hash = KeyedHash(b.key, "full_name/" + std::string(d.locale)), &d,
                 max = b.limits.max_chars](MaskValue& value) {
    uint64_t pick = hash.Below(value.text, d.first_names.size() * d.last_names.size());
    std::string first(d.first_names[pick / d.last_names.size()]);
    std::string last(d.last_names[pick % d.last_names.size()]);
    std::string initial = first.substr(0, BytesOfFirstChars(first, 1)) + ". ";
    value.text = FirstFitting({first + " " + last, initial + last, last}, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeStreetAddress(const Build& b) {
  const MaskDictionary& d = DictionaryOf(b);
  return Masker([hash = KeyedHash(b.key, "street_address/" + std::string(d.locale)), &d,
                 max = b.limits.max_chars](MaskValue& value) {
    uint64_t names = d.street_names.size(), types = d.street_types.size();
    uint64_t pick = hash.Below(value.text, 999 * names * types);  // numbers 1..999
    int number = static_cast<int>(pick / (names * types)) + 1;
    value.text = FormatStreetAddress(d, number, d.street_names[pick / types % names],
                                     d.street_types[pick % types]);
    FitChars(value.text, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeCompany(const Build& b) {
  const MaskDictionary& d = DictionaryOf(b);
  return Masker([hash = KeyedHash(b.key, "company/" + std::string(d.locale)), &d,
                 max = b.limits.max_chars](MaskValue& value) {
    uint64_t trades = d.company_trades.size(), suffixes = d.company_suffixes.size();
    uint64_t pick = hash.Below(value.text, d.company_words.size() * trades * suffixes);
    std::string word(d.company_words[pick / (trades * suffixes)]);
    std::string trade = word + " " + std::string(d.company_trades[pick / suffixes % trades]);
    std::string full = trade + " " + std::string(d.company_suffixes[pick % suffixes]);
    value.text = FirstFitting({full, trade, word}, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakePhone(const Build& b) {
  return Masker([hash = KeyedHash(b.key, "phone")](MaskValue& value) {
    // Keyed by the digits (and a leading '+') alone, so one number written
    // with different separators masks to the same digits.
    std::string digits;
    bool plus = false;
    for (char c : value.text) {
      if (c >= '0' && c <= '9') digits += c;
      if (c == '+' && digits.empty()) plus = true;
    }
    std::string input = (plus ? "+" : "") + digits;
    std::string keyed;  // 8 digits from each 64-bit word (bias under 1e-11)
    for (int block = 0; keyed.size() < digits.size(); ++block) {
      auto bytes = hash.Of(block == 0 ? input : input + "#" + std::to_string(block));
      for (int half = 0; half < 2; ++half) {
        char eight[9];
        std::snprintf(eight, sizeof eight, "%08u",
                      static_cast<unsigned>(LittleEndian64(bytes.data() + 8 * half) % 100000000));
        keyed += eight;
      }
    }
    size_t index = 0;
    for (char& c : value.text) {
      if (c < '0' || c > '9') continue;
      if (!(plus && index == 0)) c = keyed[index];  // after '+', the country code's first digit
      ++index;
    }
    return true;
  });
}

// -------------------------------------------------- network and uuid rules

std::unique_ptr<ValueMasker> MakeIp(const Build& b) {
  return Masker([hash = KeyedHash(b.key, "ip"), cidr = b.limits.cidr, rule = b.rule.rule,
                 max = b.limits.max_chars](MaskValue& value) {
    size_t slash = value.text.find('/');
    std::string address = value.text.substr(0, slash);
    std::string suffix = slash == std::string::npos ? "" : value.text.substr(slash);
    uint8_t in[16] = {}, out[16] = {};
    int family = inet_pton(AF_INET, address.c_str(), in) == 1    ? AF_INET
                 : inet_pton(AF_INET6, address.c_str(), in) == 1 ? AF_INET6
                                                                 : 0;
    if (family == 0) throw ValueError(rule, "a value is not an IP address");
    int bytes = family == AF_INET ? 4 : 16;
    int prefix = bytes * 8;
    if (!suffix.empty()) {
      auto [end, error] = std::from_chars(suffix.data() + 1, suffix.data() + suffix.size(), prefix);
      if (error != std::errc() || end != suffix.data() + suffix.size() || prefix > bytes * 8) {
        throw ValueError(rule, "a value has a bad prefix length");
      }
    }
    auto digest = hash.Of(std::string_view(reinterpret_cast<char*>(in), bytes));
    if (family == AF_INET) {
      // A unicast, non-loopback first octet: 1..223 without 127.
      int first = 1 + static_cast<int>(LittleEndian64(digest.data()) % 222);
      out[0] = static_cast<uint8_t>(first >= 127 ? first + 1 : first);
      std::memcpy(out + 1, digest.data() + 8, 3);
    } else {
      const uint8_t documentation[4] = {0x20, 0x01, 0x0d, 0xb8};  // 2001:db8::/32
      std::memcpy(out, documentation, 4);
      std::memcpy(out + 4, digest.data(), 12);
    }
    if (cidr) {
      for (int bit = prefix; bit < bytes * 8; ++bit) out[bit / 8] &= ~(0x80 >> (bit % 8));
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(family, out, text, sizeof text);
    value.text = text + suffix;
    FitChars(value.text, max);
    return true;
  });
}

// The 122 bits of a uuid that are neither the version nibble (byte 6, high)
// nor the variant bits (byte 8, top two), packed low, and back.
unsigned __int128 UuidFreeBits(const std::array<uint8_t, 16>& uuid) {
  unsigned __int128 all = 0;
  for (uint8_t byte : uuid) all = (all << 8) | byte;
  unsigned __int128 high = all >> 80, middle = (all >> 64) & 0xFFF;
  unsigned __int128 low = all & ((static_cast<unsigned __int128>(1) << 62) - 1);
  return (high << 74) | (middle << 62) | low;
}

void SetUuidFreeBits(std::array<uint8_t, 16>& uuid, unsigned __int128 free) {
  unsigned __int128 all = 0;
  for (uint8_t byte : uuid) all = (all << 8) | byte;
  unsigned __int128 fixed = (static_cast<unsigned __int128>(0xF000) << 64) |
                            (static_cast<unsigned __int128>(0xC000000000000000ull));
  unsigned __int128 spread = ((free >> 74) << 80) | (((free >> 62) & 0xFFF) << 64) |
                             (free & ((static_cast<unsigned __int128>(1) << 62) - 1));
  all = (all & fixed) | spread;
  for (int i = 15; i >= 0; --i, all >>= 8) uuid[i] = static_cast<uint8_t>(all);
}

// A keyed permutation of the 122 free bits: a 4-round balanced Feistel
// network on two 61-bit halves (Luby-Rackoff), the keyed hash as round
// function. A Feistel network is invertible whatever its round function, so
// distinct uuids always give distinct uuids.
void PermuteUuid(const KeyedHash& hash, std::array<uint8_t, 16>& uuid) {
  constexpr uint64_t kHalf = (uint64_t{1} << 61) - 1;
  unsigned __int128 free = UuidFreeBits(uuid);
  uint64_t left = static_cast<uint64_t>(free >> 61), right = static_cast<uint64_t>(free) & kHalf;
  for (char round = 0; round < 4; ++round) {
    char input[9] = {round};
    for (int i = 0; i < 8; ++i) input[1 + i] = static_cast<char>(right >> (8 * i));
    uint64_t mixed = left ^ (hash.U64(std::string_view(input, 9)) & kHalf);
    left = right;
    right = mixed;
  }
  SetUuidFreeBits(uuid, (static_cast<unsigned __int128>(left) << 61) | right);
}

std::optional<std::array<uint8_t, 16>> ParseUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::array<uint8_t, 16> uuid{};
  int nibble = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
    if (digit < 0) return std::nullopt;
    uuid[nibble / 2] |= static_cast<uint8_t>(digit << (nibble % 2 == 0 ? 4 : 0));
    ++nibble;
  }
  return uuid;
}

std::unique_ptr<ValueMasker> MakeUuid(const Build& b) {
  return Masker(
      [hash = KeyedHash(b.key, "uuid"), kind = b.kind, rule = b.rule.rule](MaskValue& value) {
        if (kind == ValueKind::kUuid) {
          PermuteUuid(hash, value.bytes);
          return true;
        }
        // A uuid kept in a text column: canonical lowercase form out.
        auto uuid = ParseUuid(value.text);
        if (!uuid) throw ValueError(rule, "a value is not a uuid");
        PermuteUuid(hash, *uuid);
        std::string hex = Hex(*uuid);
        value.text = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
                     hex.substr(16, 4) + "-" + hex.substr(20);
        return true;
      });
}

// ---------------------------------------------------------- number rules

// Either [min, max] or noise, checked once for integer and numeric.
void CheckRangeOrNoise(const Build& b) {
  const MaskRule& r = b.rule;
  bool range = r.min.has_value() || r.max.has_value();
  if (range == r.noise.has_value()) throw b.Fail("give either min and max, or noise");
  if (range && (!r.min || !r.max || !std::isfinite(*r.min) || !std::isfinite(*r.max))) {
    throw b.Fail("min and max must both be given, as finite numbers");
  }
  if (range && *r.min > *r.max) throw b.Fail("min is greater than max");
  if (!range && !(std::isfinite(*r.noise) && *r.noise > 0)) {
    throw b.Fail("noise must be a positive number (0.1: up to 10% either way)");
  }
}

// A keyed offset in [-spread, spread], spread capped so 2*spread+1 fits.
int64_t Offset(const KeyedHash& hash, std::string_view value, long double spread) {
  uint64_t bound = static_cast<uint64_t>(std::min(std::floor(spread), 4e18L));
  return static_cast<int64_t>(hash.Below(value, 2 * bound + 1)) - static_cast<int64_t>(bound);
}

std::unique_ptr<ValueMasker> MakeInteger(const Build& b) {
  CheckRangeOrNoise(b);
  auto width = IntegerRange(b.limits.integer_bytes);
  if (b.rule.noise) {
    return Masker([hash = KeyedHash(b.key, "integer/noise/" + FormatParam(*b.rule.noise)),
                   noise = static_cast<long double>(*b.rule.noise), width](MaskValue& value) {
      std::string text = std::to_string(value.integer);
      long double spread = noise * std::fabs(static_cast<long double>(value.integer));
      value.integer =
          Clamp(static_cast<__int128>(value.integer) + Offset(hash, text, spread), width);
      return true;
    });
  }
  int64_t low = ClampToInt64(std::ceil(static_cast<long double>(*b.rule.min)));
  int64_t high = ClampToInt64(std::floor(static_cast<long double>(*b.rule.max)));
  // The domain has the rule's bounds, not the column's, so int4 and int8
  // columns (a key and its reference) mask alike.
  std::string domain = "integer/" + std::to_string(low) + "/" + std::to_string(high);
  low = Clamp(low, width);
  high = Clamp(high, width);
  if (low > high) throw b.Fail("no integer of the column's width lies in [min, max]");
  uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;  // 0: all 2^64
  return Masker([hash = KeyedHash(b.key, domain), low, span](MaskValue& value) {
    std::string text = std::to_string(value.integer);
    uint64_t pick = span == 0 ? hash.U64(text) : hash.Below(text, span);
    value.integer = static_cast<int64_t>(static_cast<uint64_t>(low) + pick);
    return true;
  });
}

// The scale (digits after the point) of a decimal or JSON number text, or
// nullopt when `text` is not one.
std::optional<int> DecimalScale(std::string_view text) {
  size_t i = 0, n = text.size();
  if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
  size_t digits = 0, fraction = 0;
  for (; i < n && std::isdigit(static_cast<unsigned char>(text[i])); ++i) ++digits;
  if (i < n && text[i] == '.') {
    for (++i; i < n && std::isdigit(static_cast<unsigned char>(text[i])); ++i) ++fraction;
  }
  if (digits + fraction == 0) return std::nullopt;
  long exponent = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    size_t start = ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (i == n) return std::nullopt;
    for (; i < n && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      exponent = std::min(exponent * 10 + (text[i] - '0'), 100000L);
    }
    if (text[start] == '-') exponent = -exponent;
  }
  if (i != n) return std::nullopt;
  return static_cast<int>(std::max(0L, static_cast<long>(fraction) - exponent));
}

// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view text) {
  static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  return std::regex_match(text.begin(), text.end(), kNumber);
}

// `units` / 10^scale as decimal text.
std::string FormatScaled(__int128 units, int scale) {
  bool negative = units < 0;
  unsigned __int128 magnitude = negative ? -static_cast<unsigned __int128>(units) : units;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale))
      digits.insert(0, scale + 1 - digits.size(), '0');
    digits.insert(digits.size() - scale, ".");
  }
  return negative ? "-" + digits : digits;
}

// `x` rounded to a whole number of units, up or down, forgiving the last
// bits of binary floating point (0.1 * 100 is 10, not 10.000000000000002).
long double WholeUnits(long double x, bool up) {
  long double nearest = std::round(x);
  if (std::fabs(x - nearest) <= 1e-9L * std::max(1.0L, std::fabs(x))) return nearest;
  return up ? std::ceil(x) : std::floor(x);
}

struct NumericParams {
  std::string rule;
  std::optional<long double> min, max, noise;
  std::optional<int> scale;
  bool integer = false;  // a kInteger column: scale 0
};

// The masked text of decimal `text` with `scale` digits.
std::string MaskDecimal(const KeyedHash& hash, const NumericParams& p, std::string_view text,
                        int scale) {
  long double units_per_one = std::pow(10.0L, scale);
  if (p.noise) {
    long double value = std::strtold(std::string(text).c_str(), nullptr);
    long double shifted =
        value + Offset(hash, text, *p.noise * std::fabs(value) * units_per_one) / units_per_one;
    std::string out(64, '\0');
    int size = std::snprintf(out.data(), out.size(), "%.*Lf", scale, shifted);
    if (size >= static_cast<int>(out.size())) {
      out.resize(size + 1);
      std::snprintf(out.data(), out.size(), "%.*Lf", scale, shifted);
    }
    out.resize(size);
    return out;
  }
  long double low = WholeUnits(*p.min * units_per_one, true);
  long double high = WholeUnits(*p.max * units_per_one, false);
  if (low > high) throw ValueError(p.rule, "no number with the scale's digits lies in [min, max]");
  if (high - low >= 9e18L || std::fabs(low) >= 1e36L || std::fabs(high) >= 1e36L) {
    throw ValueError(p.rule, "[min, max] is too wide for the scale's digits");
  }
  auto pick = static_cast<__int128>(low) + hash.Below(text, static_cast<uint64_t>(high - low) + 1);
  return FormatScaled(pick, scale);
}

std::unique_ptr<ValueMasker> MakeNumeric(const Build& b) {
  CheckRangeOrNoise(b);
  constexpr int kMaxScale = 20;  // range picks count units of 10^-scale in 64 bits
  if (b.rule.scale && (*b.rule.scale < 0 || *b.rule.scale > kMaxScale)) {
    throw b.Fail("scale must be between 0 and " + std::to_string(kMaxScale));
  }
  NumericParams p{b.rule.rule,  b.rule.min,   b.rule.max,
                  b.rule.noise, b.rule.scale, b.kind == ValueKind::kInteger};
  std::string domain = "numeric/" +
                       (p.noise ? "noise/" + FormatParam(*b.rule.noise)
                                : FormatParam(*b.rule.min) + "/" + FormatParam(*b.rule.max)) +
                       "/" + (p.scale ? std::to_string(*p.scale) : "input");
  return Masker([hash = KeyedHash(b.key, domain), p, kMaxScale,
                 width = IntegerRange(b.limits.integer_bytes)](MaskValue& value) {
    if (p.integer) {
      std::string masked = MaskDecimal(hash, p, std::to_string(value.integer), 0);
      value.integer = Clamp(ClampToInt64(std::strtold(masked.c_str(), nullptr)), width);
      return true;
    }
    std::string_view text = value.text;
    if (text == "NaN" || text == "Infinity" || text == "-Infinity") return true;
    std::optional<int> input_scale = DecimalScale(text);
    if (!input_scale) throw ValueError(p.rule, "a value is not a decimal number");
    value.text = MaskDecimal(hash, p, text, p.scale.value_or(std::min(*input_scale, kMaxScale)));
    return true;
  });
}

// ------------------------------------------------------------ date_shift

// The window in microseconds: "N days", "N hours", "N minutes", "N seconds",
// "N weeks" (singular too); nullopt when it does not parse or is not > 0.
std::optional<int64_t> ParseWindow(std::string_view text) {
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {{"second", 1'000'000},
                                                                    {"minute", 60'000'000},
                                                                    {"hour", 3'600'000'000},
                                                                    {"day", 86'400'000'000},
                                                                    {"week", 7 * 86'400'000'000}};
  size_t i = text.find_first_not_of(' ');
  int64_t count = 0;
  size_t digits = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++digits) {
    if (count > 1'000'000'000) return std::nullopt;
    count = count * 10 + (text[i] - '0');
  }
  if (digits == 0 || count <= 0) return std::nullopt;
  std::string unit;
  for (; i < text.size(); ++i) {
    if (text[i] != ' ')
      unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  if (!unit.empty() && unit.back() == 's') unit.pop_back();
  for (auto [name, micros] : kUnits) {
    if (unit == name) {
      if (count > std::numeric_limits<int64_t>::max() / micros) return std::nullopt;
      return count * micros;
    }
  }
  return std::nullopt;
}

std::unique_ptr<ValueMasker> MakeDateShift(const Build& b) {
  std::optional<int64_t> window = ParseWindow(b.rule.window);
  if (!window) {
    throw b.Fail("window must be a positive \"N days|hours|minutes|seconds|weeks\"");
  }
  bool date = b.kind == ValueKind::kDate;
  constexpr int64_t kDay = 86'400'000'000;
  int64_t reach = date ? *window / kDay : *window;  // in the value's own unit
  if (reach == 0) throw b.Fail("a window under one day cannot shift a date");
  // PostgreSQL's ranges (date: days, timestamp: microseconds since 2000-01-01);
  // the extremes of the integer type stand for -infinity and infinity.
  int64_t lowest = date ? -2451545 : -211813488000000000;
  int64_t highest = date ? 2145031948 : 9223371331200000000 - 1;
  int64_t infinity = date ? std::numeric_limits<int32_t>::max() : INT64_MAX;
  return Masker([hash = KeyedHash(b.key, "date_shift/" + std::to_string(*window)), reach, lowest,
                 highest, infinity](MaskValue& value) {
    if (value.integer >= infinity || value.integer <= -infinity - 1) return true;
    // Never zero, so every value moves: [-reach, -1] or [1, reach].
    int64_t pick = static_cast<int64_t>(
        hash.Below(std::to_string(value.integer), 2 * static_cast<uint64_t>(reach)));
    int64_t shift = pick < reach ? pick - reach : pick - reach + 1;
    __int128 moved = static_cast<__int128>(value.integer) + shift;
    if (moved < lowest || moved > highest) moved = static_cast<__int128>(value.integer) - shift;
    value.integer = Clamp(moved, {lowest, highest});
    return true;
  });
}

// ---------------------------------------------- redact, regexp and choice

std::unique_ptr<ValueMasker> MakeRedact(const Build& b) {
  const MaskRule& r = b.rule;
  if (r.keep_first < 0 || r.keep_last < 0) throw b.Fail("keep_first and keep_last must be >= 0");
  if (CountChars(r.mask_char) != 1) throw b.Fail("mask_char must be exactly one character");
  return Masker([keep_first = size_t(r.keep_first), keep_last = size_t(r.keep_last),
                 keep_length = r.keep_length, mask = r.mask_char,
                 max = b.limits.max_chars](MaskValue& value) {
    size_t chars = CountChars(value.text);
    // A value no longer than the ends it would keep is masked whole.
    bool whole = keep_first + keep_last >= chars;
    size_t first = whole ? 0 : BytesOfFirstChars(value.text, keep_first);
    size_t last = whole ? value.text.size() : BytesOfFirstChars(value.text, chars - keep_last);
    size_t run = keep_length ? chars - (whole ? 0 : keep_first + keep_last) : 8;
    std::string out = value.text.substr(0, first);
    for (size_t i = 0; i < run; ++i) out += mask;
    out += value.text.substr(last);
    if (!FitsChars(out, max) && !whole) {  // a fixed run too long for the column: shorten it
      size_t room = max > keep_first + keep_last ? max - keep_first - keep_last : 0;
      out = value.text.substr(0, first);
      for (size_t i = 0; i < std::min(room, run); ++i) out += mask;
      out += value.text.substr(last);
    }
    FitChars(out, max);
    value.text = std::move(out);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeRegexp(const Build& b) {
  if (b.rule.pattern.empty()) throw b.Fail("pattern is missing");
  std::shared_ptr<const std::regex> pattern;
  try {
    pattern = std::make_shared<const std::regex>(b.rule.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw b.Fail(std::string("the pattern does not compile: ") + e.what());
  }
  return Masker([pattern, replacement = b.rule.replacement, rule = b.rule.rule,
                 max = b.limits.max_chars](MaskValue& value) {
    try {
      value.text = std::regex_replace(value.text, *pattern, replacement);
    } catch (const std::regex_error& e) {  // e.g. too complex for a long value
      throw ValueError(rule, std::string("the pattern failed on a value: ") + e.what());
    }
    FitChars(value.text, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeChoice(const Build& b) {
  const auto& choices = b.rule.choices;
  if (choices.empty()) throw b.Fail("choices must list at least one value");
  std::string domain = "choice";
  for (size_t i = 0; i < choices.size(); ++i) {
    if (!FitsChars(choices[i], b.limits.max_chars)) {
      throw b.Fail("choice #" + std::to_string(i + 1) + " is longer than the column's " +
                   std::to_string(b.limits.max_chars) + " characters");
    }
    domain += '\x1f' + choices[i];
  }
  return Masker([hash = KeyedHash(b.key, domain), choices](MaskValue& value) {
    value.text = choices[hash.Below(value.text, choices.size())];
    return true;
  });
}

// ------------------------------------------------- json, null and constant

std::unique_ptr<ValueMasker> MakeJson(const Build& b) {
  if (b.rule.paths.empty()) throw b.Fail("paths must list at least one path and its rule");
  std::vector<JsonPathMaskers> paths;
  for (const auto& [path, sub] : b.rule.paths) {
    std::string where = "path '" + path + "' (rule '" + sub.rule + "'): ";
    // A constant that is no JSON number is written as a string, via `text`.
    bool number =
        RuleTakes(sub, ValueKind::kNumeric) && (sub.rule != "constant" || IsJsonNumber(sub.value));
    bool text = RuleTakes(sub, ValueKind::kText);
    if (!text && !number) throw b.Fail(where + "masks neither JSON strings nor numbers");
    JsonPathMaskers maskers{path, nullptr, nullptr};
    try {
      if (number) maskers.number = MakeMasker(sub, b.key, ValueKind::kNumeric, ValueLimits{});
      if (text) {
        maskers.text = MakeMasker(sub, b.key, ValueKind::kText, ValueLimits{});
      } else {
        maskers.text = Masker([where](MaskValue&) -> bool {
          throw ValueError("json", where + "found a string, which the rule does not mask");
        });
      }
    } catch (const Error& e) {
      throw b.Fail(where + e.what());
    }
    paths.push_back(std::move(maskers));
  }
  std::shared_ptr<const JsonPathMasker> masker;
  try {
    masker = std::make_shared<const JsonPathMasker>(std::move(paths));
  } catch (const Error& e) {
    throw b.Fail(e.what());
  }
  return Masker([masker](MaskValue& value) {
    try {
      value.text = masker->Mask(value.text);
    } catch (const Error& e) {
      throw ValueError("json", e.what());
    }
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeNull(const Build&) {
  return Masker([](MaskValue&) { return false; });
}

std::unique_ptr<ValueMasker> MakeConstant(const Build& b) {
  // Text forms only: for other kinds the planner writes the constant into
  // the COPY's SELECT, where the server parses it.
  if (b.kind != ValueKind::kText && b.kind != ValueKind::kJson && b.kind != ValueKind::kNumeric &&
      b.kind != ValueKind::kInet) {
    throw b.Fail(std::string("a constant for a ") + ValueKindName(b.kind) +
                 " column goes into SQL; it has no masker");
  }
  if (b.kind == ValueKind::kNumeric && !DecimalScale(b.rule.value) && b.rule.value != "NaN") {
    throw b.Fail("value is not a decimal number");
  }
  if (!FitsChars(b.rule.value, b.limits.max_chars)) {
    throw b.Fail("value is longer than the column's " + std::to_string(b.limits.max_chars) +
                 " characters");
  }
  return Masker([constant = b.rule.value](MaskValue& value) {
    value.text = constant;
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeNone(const Build& b) {
  throw b.Fail("needs no masker: the planner handles it");
}

// --------------------------------------------------------------- the table

constexpr unsigned Bit(ValueKind kind) { return 1u << static_cast<unsigned>(kind); }
constexpr unsigned kAnyKind = ~0u;
constexpr unsigned kText = Bit(ValueKind::kText);

struct RuleEntry {
  std::string_view name;
  unsigned kinds;     // Bit()s of the kinds it takes
  bool keeps_unique;  // see RuleKeepsUnique
  std::unique_ptr<ValueMasker> (*make)(const Build&);
};

constexpr RuleEntry kRules[] = {
    {"hash", kText, true, MakeHash},
    {"email", kText, true, MakeEmail},
    {"first_name", kText, false, MakeDictionaryWord},
    {"last_name", kText, false, MakeDictionaryWord},
    {"full_name", kText, false, MakeFullName},
    {"city", kText, false, MakeDictionaryWord},
    {"street_address", kText, false, MakeStreetAddress},
    {"company", kText, false, MakeCompany},
    {"phone", kText, false, MakePhone},
    {"ip", Bit(ValueKind::kInet) | kText, false, MakeIp},
    {"uuid", Bit(ValueKind::kUuid) | kText, true, MakeUuid},
    {"integer", Bit(ValueKind::kInteger), false, MakeInteger},
    {"numeric", Bit(ValueKind::kNumeric) | Bit(ValueKind::kInteger), false, MakeNumeric},
    {"date_shift", Bit(ValueKind::kDate) | Bit(ValueKind::kTimestamp), false, MakeDateShift},
    {"null", kAnyKind, false, MakeNull},
    {"constant", kAnyKind, false, MakeConstant},
    {"redact", kText, false, MakeRedact},
    {"regexp", kText, false, MakeRegexp},
    {"choice", kText, false, MakeChoice},
    {"json", Bit(ValueKind::kJson), false, MakeJson},
    {"sql", kAnyKind, false, MakeNone},
    {"keep", kAnyKind, true, MakeNone},  // the values themselves
};

const RuleEntry* FindRule(std::string_view name) {
  for (const RuleEntry& entry : kRules) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace

bool RuleKeepsUnique(const MaskRule& rule) {
  const RuleEntry* entry = FindRule(rule.rule);
  return entry != nullptr && entry->keeps_unique;
}

bool RuleTakes(const MaskRule& rule, ValueKind kind) {
  const RuleEntry* entry = FindRule(rule.rule);
  return entry != nullptr && (entry->kinds & Bit(kind)) != 0;
}

std::unique_ptr<ValueMasker> MakeMasker(const MaskRule& rule, const MaskKey& key, ValueKind kind,
                                        const ValueLimits& limits) {
  const RuleEntry* entry = FindRule(rule.rule);
  if (entry == nullptr) {
    std::string known;
    for (const RuleEntry& e : kRules) known += (known.empty() ? "" : ", ") + std::string(e.name);
    throw Error(ErrorKind::kUsage, "unknown mask rule '" + rule.rule + "' (known: " + known + ")");
  }
  Build build{rule, key, kind, limits};
  if ((entry->kinds & Bit(kind)) == 0) {
    std::string takes;
    for (ValueKind k : {ValueKind::kText, ValueKind::kInteger, ValueKind::kNumeric,
                        ValueKind::kUuid, ValueKind::kDate, ValueKind::kTimestamp, ValueKind::kJson,
                        ValueKind::kInet, ValueKind::kBoolean}) {
      if (entry->kinds & Bit(k))
        takes += (takes.empty() ? "" : ", ") + std::string(ValueKindName(k));
    }
    throw build.Fail(std::string("does not take a ") + ValueKindName(kind) +
                     " column (takes: " + takes + ")");
  }
  return entry->make(build);
}

}  // namespace freshet
