#include "schema/type_limits.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <regex>
#include <vector>

#include "copy/big_endian.h"

namespace freshet {
namespace {

bool IsCharacter(LimitKind kind) { return kind == LimitKind::kVarchar || kind == LimitKind::kChar; }
bool IsBits(LimitKind kind) { return kind == LimitKind::kBit || kind == LimitKind::kVarbit; }

// Characters of UTF-8 text (the connections' client encoding), trailing
// spaces left out: varchar(n) and character(n) accept a longer value when
// only spaces follow the n-th character.
size_t CharactersBeforeTrailingSpaces(std::string_view text) {
  size_t end = text.find_last_not_of(' ');
  text = end == std::string_view::npos ? std::string_view() : text.substr(0, end + 1);
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::optional<std::string> LengthMisfit(const TypeLimit& limit, size_t length) {
  if (IsCharacter(limit.kind)) {
    if (length <= static_cast<size_t>(limit.length)) return std::nullopt;
    return fmt::format("has {} characters", length);
  }
  bool fits = limit.kind == LimitKind::kBit ? length == static_cast<size_t>(limit.length)
                                            : length <= static_cast<size_t>(limit.length);
  if (fits) return std::nullopt;
  return fmt::format("has {} bits", length);
}

// A decimal number |value| = 0.d1d2d3... x 10^point, `digits` its decimal
// digits (leading zeros allowed). numeric(p,s) rounds it half away from zero
// to s decimals and rejects it when the rounded value, times 10^s, has more
// than p digits.
std::optional<std::string> NumericMisfit(const TypeLimit& limit, std::string_view digits,
                                         int64_t point) {
  size_t first = digits.find_first_not_of('0');
  if (first == std::string_view::npos) return std::nullopt;  // zero
  int64_t kept = point + limit.scale;                        // digits at or above the 10^-s place
  int64_t count = 0;                                         // digits of round(|value| * 10^s)
  if (kept == 0) {
    count = digits[0] >= '5' ? 1 : 0;
  } else if (kept > 0) {
    auto f = static_cast<int64_t>(first);
    count = f < kept ? kept - f : 0;
    auto size = static_cast<int64_t>(digits.size());
    if (kept < size && digits[static_cast<size_t>(kept)] >= '5') {  // rounds up
      bool all_nines = count > 0 && std::all_of(digits.begin() + f, digits.begin() + kept,
                                                [](char c) { return c == '9'; });
      if (count == 0 || all_nines) ++count;
    }
  }
  if (count <= limit.precision) return std::nullopt;
  return fmt::format("needs numeric({},{})", count, limit.scale);
}

// numeric's binary form: int16 ndigits, int16 weight, uint16 sign, int16
// dscale, then ndigits base-10000 digits, the first worth 10000^weight.
std::optional<std::string> BinaryNumericMisfit(const TypeLimit& limit, std::string_view value) {
  if (value.size() < 8) return std::nullopt;
  size_t ndigits = ReadUint16(value.data());
  auto weight = static_cast<int16_t>(ReadUint16(value.data() + 2));
  uint16_t sign = ReadUint16(value.data() + 4);
  if (sign == 0xC000) return std::nullopt;  // NaN fits any numeric
  if (sign == 0xD000 || sign == 0xF000) return std::string("is infinite");
  if (value.size() < 8 + 2 * ndigits) return std::nullopt;
  std::string digits;
  digits.reserve(4 * ndigits);
  for (size_t i = 0; i < ndigits; ++i) {
    unsigned group = ReadUint16(value.data() + 8 + 2 * i);
    if (group > 9999) return std::nullopt;
    digits += fmt::format("{:04d}", group);
  }
  return NumericMisfit(limit, digits, 4 * (int64_t{weight} + 1));
}

// A number as PostgreSQL writes it ("-12.50", "1e+20", "NaN", "Infinity").
std::optional<std::string> TextNumericMisfit(const TypeLimit& limit, std::string_view text) {
  if (text == "NaN") return std::nullopt;
  if (text == "Infinity" || text == "-Infinity") return std::string("is infinite");
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  std::string digits;
  int64_t point = 0;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      if (!seen_point) ++point;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (digits.empty()) return std::nullopt;
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return std::nullopt;
    int64_t exponent = 0;
    bool negative = false;
    if (++i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
    if (i == text.size()) return std::nullopt;
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      exponent = std::min<int64_t>(exponent * 10 + (text[i] - '0'), 1'000'000);
    }
    point += negative ? -exponent : exponent;
  }
  return NumericMisfit(limit, digits, point);
}

std::optional<std::string> ElementMisfit(const TypeLimit& limit, StreamFormat format,
                                         std::string_view value) {
  if (limit.kind == LimitKind::kNumeric)
    return format == StreamFormat::kBinary ? BinaryNumericMisfit(limit, value)
                                           : TextNumericMisfit(limit, value);
  if (IsCharacter(limit.kind)) return LengthMisfit(limit, CharactersBeforeTrailingSpaces(value));
  if (format == StreamFormat::kText) {  // bit_out writes 0s and 1s; other text (x1F) is not judged
    if (value.find_first_not_of("01") != std::string_view::npos) return std::nullopt;
    return LengthMisfit(limit, value.size());
  }
  if (value.size() < 4) return std::nullopt;  // bit strings: int32 bit count, then the bits
  return LengthMisfit(limit, ReadUint32(value.data()));
}

// An array's binary form: int32 ndim, int32 flags, uint32 element type, then
// per dimension int32 length and int32 lower bound, then each element as an
// int32 length (-1: NULL) and its bytes.
std::optional<std::string> BinaryArrayMisfit(const TypeLimit& limit, std::string_view value) {
  if (value.size() < 12) return std::nullopt;
  int32_t dimensions = ReadInt32(value.data());
  if (dimensions < 0 || dimensions > 6 || value.size() < 12 + 8 * size_t(dimensions))
    return std::nullopt;
  uint64_t elements = dimensions ? 1 : 0;
  for (int32_t d = 0; d < dimensions; ++d) {
    int32_t length = ReadInt32(value.data() + 12 + 8 * d);
    if (length < 0) return std::nullopt;
    elements *= static_cast<uint64_t>(length);
  }
  size_t position = 12 + 8 * static_cast<size_t>(dimensions);
  for (uint64_t e = 0; e < elements; ++e) {
    if (value.size() < position + 4) return std::nullopt;
    int32_t length = ReadInt32(value.data() + position);
    position += 4;
    if (length < 0) continue;  // NULL element
    if (value.size() < position + static_cast<size_t>(length)) return std::nullopt;
    auto misfit =
        ElementMisfit(limit, StreamFormat::kBinary, value.substr(position, size_t(length)));
    if (misfit) return "has an element that " + *misfit;
    position += static_cast<size_t>(length);
  }
  return std::nullopt;
}

bool IsArray(std::string_view type) { return type.ends_with("[]"); }

// The type's name without modifiers or array brackets.
std::string BaseName(std::string_view type) {
  std::string base = TypeWithoutModifiers(type);
  return IsArray(base) ? base.substr(0, base.size() - 2) : base;
}

}  // namespace

std::string TypeWithoutModifiers(std::string_view type) {
  static const std::regex kModifier(R"(\(\d+(,-?\d+)?\))");
  return std::regex_replace(std::string(type), kModifier, "");
}

std::string TypeLimit::Describe() const {
  std::string out;
  switch (kind) {
    case LimitKind::kVarchar:
      out = fmt::format("character varying({})", length);
      break;
    case LimitKind::kChar:
      out = fmt::format("character({})", length);
      break;
    case LimitKind::kBit:
      out = fmt::format("bit({})", length);
      break;
    case LimitKind::kVarbit:
      out = fmt::format("bit varying({})", length);
      break;
    case LimitKind::kNumeric:
      out = fmt::format("numeric({},{})", precision, scale);
      break;
  }
  return array ? out + "[]" : out;
}

std::optional<TypeLimit> ParseTypeLimit(std::string_view type) {
  static const std::regex kLimited(
      R"(^(character varying|character|bit varying|bit|numeric)\((\d+)(?:,(-?\d+))?\)(\[\])?$)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(type.begin(), type.end(), match, kLimited)) return std::nullopt;
  TypeLimit limit;
  std::string name = match[1];
  bool numeric = name == "numeric";
  if (numeric != match[3].matched) return std::nullopt;  // numeric(p,s); the others (n)
  limit.kind = name == "character varying" ? LimitKind::kVarchar
               : name == "character"       ? LimitKind::kChar
               : name == "bit varying"     ? LimitKind::kVarbit
               : name == "bit"             ? LimitKind::kBit
                                           : LimitKind::kNumeric;
  try {
    int first = std::stoi(match[2]);
    if (numeric) {
      limit.precision = first;
      limit.scale = std::stoi(match[3]);
    } else {
      limit.length = first;
    }
  } catch (const std::out_of_range&) {
    return std::nullopt;
  }
  limit.array = match[4].matched;
  return limit;
}

std::optional<TypeLimit> NarrowingLimit(std::string_view source_type,
                                        std::string_view target_type) {
  std::optional<TypeLimit> target = ParseTypeLimit(target_type);
  if (!target) return std::nullopt;
  std::optional<TypeLimit> source = ParseTypeLimit(source_type);
  if (!source || source->array != target->array) return target;
  if (IsCharacter(source->kind) && IsCharacter(target->kind))
    return source->length <= target->length ? std::nullopt : target;
  if (IsBits(source->kind) && IsBits(target->kind)) {
    bool fits = target->kind == LimitKind::kBit
                    ? source->kind == LimitKind::kBit && source->length == target->length
                    : source->length <= target->length;
    return fits ? std::nullopt : target;
  }
  if (source->kind == LimitKind::kNumeric && target->kind == LimitKind::kNumeric) {
    // Fewer decimals round, and rounding up can carry into one more digit.
    int carry = target->scale < source->scale ? 1 : 0;
    bool fits = target->precision - target->scale >= source->precision - source->scale + carry;
    return fits ? std::nullopt : target;
  }
  return target;
}

std::optional<std::string> Misfit(const TypeLimit& limit, StreamFormat format,
                                  std::string_view value) {
  if (!limit.array) return ElementMisfit(limit, format, value);
  if (format == StreamFormat::kText) return std::nullopt;
  return BinaryArrayMisfit(limit, value);
}

std::optional<std::string> MisfitCondition(const TypeLimit& limit, std::string_view source_type,
                                           const std::string& value_sql) {
  if (limit.array != IsArray(source_type)) return std::nullopt;
  std::string base = BaseName(source_type);
  std::string v = limit.array ? "e.v" : value_sql;
  std::string condition;
  if (IsCharacter(limit.kind)) {
    // concat() writes the value with its type's output function, as COPY does
    // (a cast to text may differ: true for t, 10.0.0.1/32 for 10.0.0.1).
    condition = fmt::format("char_length(rtrim(concat({}), ' ')) > {}", v, limit.length);
  } else if (IsBits(limit.kind)) {
    if (base != "bit" && base != "bit varying") return std::nullopt;
    condition = fmt::format("length({}) {} {}", v, limit.kind == LimitKind::kBit ? "<>" : ">",
                            limit.length);
  } else {
    std::string number;
    if (base == "numeric" || base == "smallint" || base == "integer" || base == "bigint")
      number = fmt::format("({})::numeric", v);
    else if (base == "real" || base == "double precision")  // as COPY would write it
      number = fmt::format("({})::text::numeric", v);
    else
      return std::nullopt;
    condition = fmt::format("({0} <> 'NaN' AND abs(round({0}, {1})) >= power(10::numeric, {2}))",
                            number, limit.scale, limit.precision - limit.scale);
  }
  if (!limit.array) return condition;
  return fmt::format("EXISTS (SELECT FROM unnest({}) AS e(v) WHERE {})", value_sql, condition);
}

}  // namespace freshet
