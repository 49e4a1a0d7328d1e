// The masking rules on values other than text: uuid (a keyed permutation),
// integer and numeric (a keyed pick in a range, or keyed noise), and
// date_shift. Keyed rules hash under a domain of the rule's name and
// output-changing parameters only (see mask_transformers.cc).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "copy/mask_rules_internal.h"

namespace freshet::mask_rules {

namespace {

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

}  // namespace

// --------------------------------------------------------------------- uuid

namespace {

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

}  // namespace

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

namespace {

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

// A keyed offset in [-spread, -1] or [1, spread], spread at least 1 (so a
// small value or a small share never leaves the original as it was) and
// capped so 2*spread fits.
int64_t Offset(const KeyedHash& hash, std::string_view value, long double spread) {
  uint64_t bound =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::min(std::floor(spread), 4e18L)));
  int64_t pick = static_cast<int64_t>(hash.Below(value, 2 * bound));
  int64_t signed_bound = static_cast<int64_t>(bound);
  return pick < signed_bound ? pick - signed_bound : pick - signed_bound + 1;
}

}  // namespace

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

namespace {

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

}  // namespace

std::unique_ptr<ValueMasker> MakeNumeric(const Build& b) {
  CheckRangeOrNoise(b);
  constexpr int kMaxScale = 20;  // range picks count units of 10^-scale in 64 bits
  if (b.rule.scale && (*b.rule.scale < 0 || *b.rule.scale > kMaxScale)) {
    throw b.Fail("scale must be between 0 and " + std::to_string(kMaxScale));
  }
  if (b.rule.scale && b.limits.numeric_scale && *b.rule.scale > *b.limits.numeric_scale)
    throw b.Fail("scale " + std::to_string(*b.rule.scale) + " is more than the column keeps (" +
                 std::to_string(*b.limits.numeric_scale) + " digits after the point)");
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

namespace {

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

}  // namespace

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

}  // namespace freshet::mask_rules
