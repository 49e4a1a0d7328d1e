// PostgreSQL's binary send formats of the maskable types, and the row
// transform that masks COPY binary rows with them. The encoders write exactly
// what the server's own send function would for the value its input function
// makes of the text (checked against PostgreSQL 15), so a value a masker
// leaves alone comes out byte for byte as it came in.
#include "copy/mask_codec.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <limits>

#include "copy/big_endian.h"
#include "copy/error.h"

namespace freshet {
namespace {

template <typename... Args>
[[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  char buffer[8];
  for (int i = 0; i < bytes; ++i)
    buffer[i] = static_cast<char>((value >> (8 * (bytes - 1 - i))) & 0xff);
  out.append(buffer, static_cast<size_t>(bytes));
}

uint8_t Byte(std::string_view field, size_t i) { return static_cast<uint8_t>(field[i]); }

void ExpectSize(std::string_view field, size_t size, const char* type) {
  if (field.size() != size) Fail("{}: {} bytes, expected {}", type, field.size(), size);
}

// ---- text ---------------------------------------------------------------

// Whether `text` is UTF-8 as PostgreSQL accepts it: no overlong forms, no
// surrogates, nothing above U+10FFFF, and no NUL (which no text value holds).
bool IsValidText(std::string_view text) {
  auto p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  constexpr uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
  while (p < end) {
    if (end - p >= 8) {  // most text is ASCII: eight bytes at a time
      uint64_t word;
      std::memcpy(&word, p, 8);
      bool has_zero = ((word - kOnes) & ~word & kHighs) != 0;
      if (!has_zero && (word & kHighs) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned lead = *p;
    if (lead < 0x80) {
      if (lead == 0) return false;
      ++p;
      continue;
    }
    int continuations;
    uint32_t code, least;
    if ((lead & 0xe0) == 0xc0) {
      continuations = 1, code = lead & 0x1f, least = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      continuations = 2, code = lead & 0x0f, least = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      continuations = 3, code = lead & 0x07, least = 0x10000;
    } else {
      return false;
    }
    if (end - p <= continuations) return false;
    for (int i = 1; i <= continuations; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3f);
    }
    if (code < least || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    p += continuations + 1;
  }
  return true;
}

// Checks what the target's text input would refuse, so the error names the
// column instead of surfacing as a failed COPY on the target.
void CheckText(std::string_view text, size_t max_chars, const char* type) {
  if (!IsValidText(text)) Fail("{}: the masked value is not valid UTF-8 (or holds a NUL)", type);
  if (max_chars == 0 || text.size() <= max_chars) return;
  size_t chars = 0, limit_end = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<uint8_t>(text[i]) & 0xc0) == 0x80) continue;
    if (chars == max_chars) limit_end = i;
    ++chars;
  }
  // Like varchar(n) and char(n) input: characters beyond n may only be
  // spaces, which PostgreSQL drops.
  if (chars > max_chars && text.find_first_not_of(' ', limit_end) != std::string_view::npos)
    Fail("{}: the masked value has {} characters, more than the column's {}", type, chars,
         max_chars);
}

// Appends `text` (checked by CheckText) as the server stores it in a column
// with `limits`: spaces beyond varchar(n)'s or char(n)'s n dropped, and a
// char(n) value padded with spaces to n characters. So the bytes sent are
// the bytes a restore's verification reads back.
void AppendStoredText(std::string_view text, const ValueLimits& limits, std::string& out) {
  // Fewer bytes than n: no more than n characters, so nothing to drop.
  if (limits.max_chars == 0 || (!limits.pad_chars && text.size() <= limits.max_chars)) {
    out.append(text);
    return;
  }
  size_t chars = 0, end = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<uint8_t>(text[i]) & 0xc0) == 0x80) continue;
    if (chars == limits.max_chars) {
      end = i;
      break;
    }
    ++chars;
  }
  out.append(text.substr(0, end));
  if (limits.pad_chars && chars < limits.max_chars) out.append(limits.max_chars - chars, ' ');
}

// ---- integers, dates, timestamps ----------------------------------------

int64_t DecodeInteger(std::string_view field) {
  switch (field.size()) {
    case 2:
      return ReadInt16(field.data());
    case 4:
      return ReadInt32(field.data());
    case 8:
      return static_cast<int64_t>((uint64_t{ReadUint32(field.data())} << 32) |
                                  ReadUint32(field.data() + 4));
  }
  Fail("integer: {} bytes, expected 2, 4 or 8", field.size());
}

void EncodeInteger(int64_t value, int bytes, std::string& out) {
  if (bytes != 2 && bytes != 4 && bytes != 8)
    Fail("integer: a column of {} bytes, expected 2, 4 or 8", bytes);
  int64_t max =
      bytes == 8 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (8 * bytes - 1)) - 1;
  if (value > max || value < -max - 1)
    Fail("integer: the masked value is out of range for a {}-byte integer column", bytes);
  AppendBigEndian(out, static_cast<uint64_t>(value), bytes);
}

// The ranges date_recv and timestamp_recv accept: from 4714-11-24 BC to
// before 5874898-01-01 (dates) or 294277-01-01 (timestamps), in days or
// microseconds since 2000-01-01; the integer extremes are -infinity and
// infinity.
constexpr int64_t kMinDate = -2451545, kEndDate = 2145031949;
constexpr int64_t kMinTimestamp = -211813488000000000, kEndTimestamp = 9223371331200000000;

void EncodeDate(int64_t days, std::string& out) {
  bool infinite =
      days == std::numeric_limits<int32_t>::min() || days == std::numeric_limits<int32_t>::max();
  if (!infinite && (days < kMinDate || days >= kEndDate))
    Fail("date: the masked value is out of PostgreSQL's range");
  AppendBigEndian(out, static_cast<uint64_t>(days), 4);
}

void EncodeTimestamp(int64_t micros, std::string& out) {
  bool infinite = micros == std::numeric_limits<int64_t>::min() ||
                  micros == std::numeric_limits<int64_t>::max();
  if (!infinite && (micros < kMinTimestamp || micros >= kEndTimestamp))
    Fail("timestamp: the masked value is out of PostgreSQL's range");
  AppendBigEndian(out, static_cast<uint64_t>(micros), 8);
}

// ---- numeric ------------------------------------------------------------

// numeric_send's form: int16 ndigits, weight, sign, dscale, then ndigits
// base-10000 digits, the first worth 10000^weight; dscale is the number of
// decimal places shown.
constexpr uint16_t kNumericPositive = 0x0000, kNumericNegative = 0x4000, kNumericNaN = 0xc000,
                   kNumericInfinity = 0xd000, kNumericNegativeInfinity = 0xf000;
constexpr int kMaxDisplayScale = 0x3fff;
constexpr int kMaxWeight = std::numeric_limits<int16_t>::max();

void AppendGroup(std::string& text, int group) {
  char digits[4] = {static_cast<char>('0' + group / 1000),
                    static_cast<char>('0' + group / 100 % 10),
                    static_cast<char>('0' + group / 10 % 10), static_cast<char>('0' + group % 10)};
  text.append(digits, 4);
}

// The text numeric_out prints for the value numeric_recv makes of `field`:
// digits beyond dscale are cut off (not rounded), and a value that shows only
// zeros is zero, which has no sign.
void DecodeNumeric(std::string_view field, std::string& text) {
  if (field.size() < 8) Fail("numeric: {} bytes, shorter than the 8-byte header", field.size());
  const char* p = field.data();
  size_t ndigits = ReadUint16(p);
  int weight = ReadInt16(p + 2);
  uint16_t sign = ReadUint16(p + 4);
  int dscale = ReadUint16(p + 6);
  if (field.size() != 8 + 2 * ndigits)
    Fail("numeric: {} bytes for {} digits, expected {}", field.size(), ndigits, 8 + 2 * ndigits);
  if (dscale > kMaxDisplayScale) Fail("numeric: invalid display scale");
  for (size_t i = 0; i < ndigits; ++i)
    if (ReadUint16(p + 8 + 2 * i) >= 10000) Fail("numeric: a base-10000 digit out of range");
  text.clear();
  switch (sign) {
    case kNumericNaN:
      text = "NaN";
      return;
    case kNumericInfinity:
      text = "Infinity";
      return;
    case kNumericNegativeInfinity:
      text = "-Infinity";
      return;
    case kNumericPositive:
    case kNumericNegative:
      break;
    default:
      Fail("numeric: invalid sign word");
  }
  auto digit = [&](long d) -> int {
    return d >= 0 && static_cast<size_t>(d) < ndigits ? ReadUint16(p + 8 + 2 * d) : 0;
  };
  if (sign == kNumericNegative) text.push_back('-');
  const size_t integer_start = text.size();
  if (weight < 0) {
    text.push_back('0');
  } else {
    for (long d = 0; d <= weight; ++d) AppendGroup(text, digit(d));
    size_t leading = text.find_first_not_of('0', integer_start);
    leading = std::min(leading, text.size() - 1) - integer_start;  // keep one digit
    text.erase(integer_start, leading);
  }
  if (dscale > 0) {
    text.push_back('.');
    const size_t fraction_start = text.size();
    for (long d = weight + 1; text.size() - fraction_start < static_cast<size_t>(dscale); ++d)
      AppendGroup(text, digit(d));
    text.resize(fraction_start + static_cast<size_t>(dscale));
  }
  if (sign == kNumericNegative && text.find_first_not_of("0.", integer_start) == std::string::npos)
    text.erase(0, 1);
}

bool EqualsIgnoringCase(std::string_view text, std::string_view lower) {
  return text.size() == lower.size() &&
         std::equal(text.begin(), text.end(), lower.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         });
}

// Encodes the special values numeric_in accepts; false for anything else.
bool EncodeSpecialNumeric(std::string_view text, std::string& out) {
  uint16_t sign;
  if (EqualsIgnoringCase(text, "nan")) {
    sign = kNumericNaN;
  } else if (!text.empty() && text[0] == '-' &&
             (EqualsIgnoringCase(text.substr(1), "infinity") ||
              EqualsIgnoringCase(text.substr(1), "inf"))) {
    sign = kNumericNegativeInfinity;
  } else {
    std::string_view rest = !text.empty() && text[0] == '+' ? text.substr(1) : text;
    if (!EqualsIgnoringCase(rest, "infinity") && !EqualsIgnoringCase(rest, "inf")) return false;
    sign = kNumericInfinity;
  }
  AppendBigEndian(out, 0, 4);  // no digits, weight 0
  AppendBigEndian(out, sign, 2);
  // numeric_send takes the display scale from the header's scale bits, which
  // in the infinities' stored header (0xd000, 0xf000) read 32, in NaN's 0.
  AppendBigEndian(out, sign == kNumericNaN ? 0 : 32, 2);
  return true;
}

// A decimal text split into its parts: [sign] digits [. digits] [e exponent].
struct Decimal {
  bool negative = false;
  std::string_view integer, fraction;  // digits only
  int64_t exponent = 0;
};

Decimal ParseDecimal(std::string_view text) {
  Decimal decimal;
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) decimal.negative = text[i++] == '-';
  auto digits = [&]() {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return text.substr(start, i - start);
  };
  decimal.integer = digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    decimal.fraction = digits();
  }
  if (decimal.integer.empty() && decimal.fraction.empty())
    Fail("numeric: the masked value is not a decimal number");
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative = i < text.size() && text[i] == '-';
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    std::string_view exponent = digits();
    int32_t magnitude = 0;
    auto [end, error] =
        std::from_chars(exponent.data(), exponent.data() + exponent.size(), magnitude);
    if (exponent.empty() || error != std::errc() || end != exponent.data() + exponent.size())
      Fail("numeric: the masked value has an invalid exponent");
    decimal.exponent = negative ? -int64_t{magnitude} : magnitude;
  }
  if (i != text.size()) Fail("numeric: the masked value is not a decimal number");
  return decimal;
}

int64_t FloorDivide(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// The bytes numeric_send writes for the value numeric_in makes of `text`:
// display scale from the digits after the point (less the exponent), no
// leading or trailing zero base-10000 digits, zero unsigned.
void EncodeNumeric(std::string_view text, std::string& out) {
  if (EncodeSpecialNumeric(text, out)) return;
  Decimal decimal = ParseDecimal(text);
  const int64_t scale =
      std::max<int64_t>(0, static_cast<int64_t>(decimal.fraction.size()) - decimal.exponent);
  if (scale > kMaxDisplayScale)
    Fail("numeric: the masked value has more than {} digits after the point", kMaxDisplayScale);
  // Digit i of integer then fraction is worth 10^(point - 1 - i).
  const int64_t count = static_cast<int64_t>(decimal.integer.size() + decimal.fraction.size());
  const int64_t point = static_cast<int64_t>(decimal.integer.size()) + decimal.exponent;
  auto digit = [&](int64_t i) -> int {
    if (i < 0 || i >= count) return 0;
    size_t at = static_cast<size_t>(i);
    return (at < decimal.integer.size() ? decimal.integer[at]
                                        : decimal.fraction[at - decimal.integer.size()]) -
           '0';
  };
  int64_t first = 0, last = count - 1;
  while (first < count && digit(first) == 0) ++first;
  while (last >= first && digit(last) == 0) --last;
  if (first > last) {  // zero
    AppendBigEndian(out, 0, 6);
    AppendBigEndian(out, static_cast<uint64_t>(scale), 2);
    return;
  }
  const int64_t weight = FloorDivide(point - 1 - first, 4);
  const int64_t lowest = FloorDivide(point - 1 - last, 4);
  if (weight > kMaxWeight) Fail("numeric: the masked value is too large for numeric");
  AppendBigEndian(out, static_cast<uint64_t>(weight - lowest + 1), 2);
  AppendBigEndian(out, static_cast<uint64_t>(weight), 2);
  AppendBigEndian(out, decimal.negative ? kNumericNegative : kNumericPositive, 2);
  AppendBigEndian(out, static_cast<uint64_t>(scale), 2);
  for (int64_t group = weight; group >= lowest; --group) {
    // Decimal places 4*group+3 down to 4*group, i.e. digits point-4*group-4
    // up to point-4*group-1.
    int value = 0;
    for (int64_t i = point - 4 * group - 4; i < point - 4 * group; ++i)
      value = value * 10 + digit(i);
    AppendBigEndian(out, static_cast<uint64_t>(value), 2);
  }
}

// ---- inet, cidr -----------------------------------------------------------

// inet_send's form: family (2 IPv4, 3 IPv6), prefix bits, is_cidr, address
// length, address bytes.
constexpr uint8_t kFamilyIPv4 = 2, kFamilyIPv6 = 3;

bool HostBitsZero(const uint8_t* address, int size, int bits) {
  for (int i = 0; i < size; ++i) {
    int kept = std::clamp(bits - 8 * i, 0, 8);  // network bits in this byte
    uint8_t host_mask = static_cast<uint8_t>(0xff >> kept);
    if (address[i] & host_mask) return false;
  }
  return true;
}

// The text inet_out / cidr_out print: the address (IPv6 compressed), then
// "/bits" for cidr always and for inet when it is not a single host.
void DecodeInet(std::string_view field, int cidr_flag, std::string& text) {
  if (field.size() < 4) Fail("inet: {} bytes, shorter than the 4-byte header", field.size());
  uint8_t family = Byte(field, 0);
  int bits = Byte(field, 1);
  bool cidr = cidr_flag < 0 ? Byte(field, 2) != 0 : cidr_flag != 0;
  size_t size = Byte(field, 3);
  if (family != kFamilyIPv4 && family != kFamilyIPv6) Fail("inet: unknown address family");
  const int max_bits = family == kFamilyIPv4 ? 32 : 128;
  if (size != static_cast<size_t>(max_bits / 8) || field.size() != 4 + size)
    Fail("inet: an address of {} bytes in {} bytes, expected {} in {}", size, field.size(),
         max_bits / 8, 4 + max_bits / 8);
  if (bits > max_bits) Fail("inet: a prefix longer than the address");
  auto address = reinterpret_cast<const uint8_t*>(field.data() + 4);
  if (cidr && !HostBitsZero(address, max_bits / 8, bits))
    Fail("cidr: bits set to the right of the prefix");
  char printed[INET6_ADDRSTRLEN];
  if (!inet_ntop(family == kFamilyIPv4 ? AF_INET : AF_INET6, address, printed, sizeof printed))
    Fail("inet: the address cannot be printed");
  text.assign(printed);
  if (cidr || bits != max_bits) fmt::format_to(std::back_inserter(text), "/{}", bits);
}

void EncodeInet(std::string_view text, bool cidr, std::string& out) {
  const char* type = cidr ? "cidr" : "inet";
  size_t slash = text.find('/');
  std::string_view address_text = text.substr(0, slash);
  const bool v6 = address_text.find(':') != std::string_view::npos;
  const int max_bits = v6 ? 128 : 32;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view bits_text = text.substr(slash + 1);
    auto [end, error] =
        std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (bits_text.empty() || bits_text[0] == '-' || error != std::errc() ||
        end != bits_text.data() + bits_text.size() || bits > max_bits)
      Fail("{}: the masked value has an invalid prefix length", type);
  }
  char terminated[INET6_ADDRSTRLEN];
  uint8_t address[16];
  if (address_text.size() >= sizeof terminated)
    Fail("{}: the masked value is not an IP address", type);
  address_text.copy(terminated, address_text.size());
  terminated[address_text.size()] = '\0';
  if (inet_pton(v6 ? AF_INET6 : AF_INET, terminated, address) != 1)
    Fail("{}: the masked value is not an IP address", type);
  if (cidr && !HostBitsZero(address, max_bits / 8, bits))
    Fail("cidr: the masked value has bits set to the right of the prefix");
  out.push_back(static_cast<char>(v6 ? kFamilyIPv6 : kFamilyIPv4));
  out.push_back(static_cast<char>(bits));
  out.push_back(cidr ? 1 : 0);
  out.push_back(static_cast<char>(max_bits / 8));
  out.append(reinterpret_cast<const char*>(address), static_cast<size_t>(max_bits / 8));
}

// jsonb_send's form: a version byte (1, the only one so far), then the text.
constexpr uint8_t kJsonbVersion = 1;

void DecodeAny(std::string_view field, ValueKind kind, int jsonb_flag, int cidr_flag,
               MaskValue& value) {
  value.kind = kind;
  switch (kind) {
    case ValueKind::kText:
      value.text.assign(field);
      return;
    case ValueKind::kInteger:
      value.integer = DecodeInteger(field);
      return;
    case ValueKind::kNumeric:
      DecodeNumeric(field, value.text);
      return;
    case ValueKind::kUuid:
      ExpectSize(field, 16, "uuid");
      std::memcpy(value.bytes.data(), field.data(), 16);
      return;
    case ValueKind::kDate:
      ExpectSize(field, 4, "date");
      value.integer = ReadInt32(field.data());
      return;
    case ValueKind::kTimestamp:
      ExpectSize(field, 8, "timestamp");
      value.integer = DecodeInteger(field);
      return;
    case ValueKind::kJson: {
      bool jsonb = jsonb_flag < 0 ? !field.empty() && Byte(field, 0) == kJsonbVersion : jsonb_flag;
      if (jsonb) {
        if (field.empty() || Byte(field, 0) != kJsonbVersion)
          Fail("jsonb: unsupported version (expected 1)");
        field.remove_prefix(1);
      }
      value.text.assign(field);
      return;
    }
    case ValueKind::kInet:
      DecodeInet(field, cidr_flag, value.text);
      return;
    case ValueKind::kBoolean:
      ExpectSize(field, 1, "boolean");
      value.integer = Byte(field, 0) != 0;  // boolrecv takes any non-zero byte as true
      return;
  }
  Fail("cannot decode values of kind {}", static_cast<int>(kind));
}

}  // namespace

void DecodeField(std::string_view field, ValueKind kind, const ValueLimits& limits,
                 MaskValue& value) {
  DecodeAny(field, kind, limits.jsonb, limits.cidr, value);
}

void DecodeField(std::string_view field, ValueKind kind, MaskValue& value) {
  DecodeAny(field, kind, -1, -1, value);
}

void EncodeField(const MaskValue& value, const ValueLimits& limits, std::string& out) {
  switch (value.kind) {
    case ValueKind::kText:
      CheckText(value.text, limits.max_chars, "text");
      AppendStoredText(value.text, limits, out);
      return;
    case ValueKind::kInteger:
      EncodeInteger(value.integer, limits.integer_bytes, out);
      return;
    case ValueKind::kNumeric:
      EncodeNumeric(value.text, out);
      return;
    case ValueKind::kUuid:
      out.append(reinterpret_cast<const char*>(value.bytes.data()), value.bytes.size());
      return;
    case ValueKind::kDate:
      EncodeDate(value.integer, out);
      return;
    case ValueKind::kTimestamp:
      EncodeTimestamp(value.integer, out);
      return;
    case ValueKind::kJson:
      CheckText(value.text, 0, limits.jsonb ? "jsonb" : "json");
      if (limits.jsonb) out.push_back(static_cast<char>(kJsonbVersion));
      out.append(value.text);
      return;
    case ValueKind::kInet:
      EncodeInet(value.text, limits.cidr, out);
      return;
    case ValueKind::kBoolean:
      if (value.integer != 0 && value.integer != 1)
        Fail("boolean: the masked value is neither 0 nor 1");
      out.push_back(static_cast<char>(value.integer));
      return;
  }
  Fail("cannot encode values of kind {}", static_cast<int>(value.kind));
}

MaskRows::MaskRows(StreamFormat format, std::vector<std::optional<ColumnMasker>> columns)
    : columns_(std::move(columns)) {
  if (format != StreamFormat::kBinary)
    throw Error("masking in the COPY stream needs the binary format, not text");
}

void MaskRows::Apply(std::string_view row, std::string& out) {
  const size_t out_size = out.size();
  auto fail = [&](std::string reason) {
    out.resize(out_size);
    throw Error("cannot mask a binary COPY row: " + reason);
  };
  if (row.size() < 2) fail("the row is shorter than its field count");
  int fields = ReadInt16(row.data());
  if (fields < 0 || static_cast<size_t>(fields) != columns_.size())
    fail(fmt::format("the row has {} fields, expected {}", fields, columns_.size()));
  size_t position = 2;
  size_t copied = 0;  // row bytes before this went to `out` already
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (row.size() < position + 4) fail(fmt::format("field {} is truncated", i + 1));
    int32_t length = ReadInt32(row.data() + position);
    if (length < -1) fail(fmt::format("field {} has an invalid length {}", i + 1, length));
    size_t end = position + 4 + (length > 0 ? static_cast<size_t>(length) : 0);
    if (row.size() < end) fail(fmt::format("field {} is truncated", i + 1));
    if (const std::optional<ColumnMasker>& column = columns_[i]) {
      // Untouched fields before this one go out in one piece.
      out.append(row.data() + copied, position - copied);
      copied = end;
      std::optional<std::string_view> field;
      if (length >= 0) field = row.substr(position + 4, static_cast<size_t>(length));
      try {
        MaskField(*column, field, out);
      } catch (const Error& error) {
        out.resize(out_size);
        throw Error(fmt::format("column {}: {}", column->column, error.what()), error.sqlstate(),
                    error.kind());
      } catch (const std::exception&) {
        // A library under a masker failed; its message might quote the value.
        out.resize(out_size);
        throw Error(
            fmt::format("column {}: the masker failed (its message is not shown)", column->column));
      }
    }
    position = end;
  }
  if (position != row.size())
    fail(fmt::format("{} bytes follow the last field", row.size() - position));
  out.append(row.data() + copied, position - copied);
}

void MaskRows::MaskField(const ColumnMasker& column, std::optional<std::string_view> field,
                         std::string& out) {
  constexpr uint64_t kNull = 0xffffffff;  // length -1
  if (column.constant) {
    if (field) ++masked_fields_;
    if (column.constant->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
      Fail("the constant is longer than a COPY field can be");
    AppendBigEndian(out, column.constant->size(), 4);
    out.append(*column.constant);
    return;
  }
  if (!field) {
    AppendBigEndian(out, kNull, 4);
    return;
  }
  ++masked_fields_;
  if (!column.masker) {
    AppendBigEndian(out, kNull, 4);
    return;
  }
  DecodeField(*field, column.kind, column.limits, value_);
  if (!column.masker->Mask(value_)) {
    AppendBigEndian(out, kNull, 4);
    return;
  }
  if (value_.kind != column.kind)
    Fail("the masker returned a {} value for a {} column", ValueKindName(value_.kind),
         ValueKindName(column.kind));
  const size_t length_at = out.size();
  out.append(4, '\0');
  EncodeField(value_, column.limits, out);
  const size_t length = out.size() - length_at - 4;
  if (length > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    Fail("the masked value is longer than a COPY field can be");
  for (int i = 0; i < 4; ++i)
    out[length_at + static_cast<size_t>(i)] = static_cast<char>((length >> (8 * (3 - i))) & 0xff);
}

}  // namespace freshet
