// One field's value as masking sees it: decoded from COPY binary by the
// mask codec (mask_codec.h) into the few shapes the transformers work on,
// and encoded back after. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace freshet {

enum class ValueKind {
  kText,       // text, varchar, bpchar, name, citext: UTF-8 in `text`
  kInteger,    // int2, int4, int8: `integer` (the codec checks the width on encode)
  kNumeric,    // numeric: decimal text in `text` ("-12.50", "NaN")
  kUuid,       // uuid: 16 bytes in `bytes`
  kDate,       // date: days since 2000-01-01 in `integer`
  kTimestamp,  // timestamp, timestamptz: microseconds since 2000-01-01 in `integer`
  kJson,       // json, jsonb: the document's text in `text`
  kInet,       // inet, cidr: text form in `text` ("10.1.2.3", "10.0.0.0/8", "::1")
  kBoolean,    // bool: `integer` 0 or 1
};

const char* ValueKindName(ValueKind kind);

// The kind of a built-in type, by its name as format_type(oid, NULL) spells
// it ("character varying", "timestamp with time zone", "integer", "citext",
// ...); nullopt for a type masking cannot decode (then only the rules
// `null`, `constant` and `sql` apply, which need no decoding).
std::optional<ValueKind> KindOfType(std::string_view type_name);

struct MaskValue {
  ValueKind kind = ValueKind::kText;
  std::string text;
  int64_t integer = 0;
  std::array<uint8_t, 16> bytes{};
};

// What a transformer must fit its output to, from the column's type.
struct ValueLimits {
  size_t max_chars = 0;    // varchar(n) / bpchar(n): at most n characters; 0: no limit
  bool pad_chars = false;  // character(n): stored padded with spaces to n characters
  std::optional<int> numeric_scale =
      std::nullopt;       // numeric(p, s): s (values are stored rounded to it)
  int integer_bytes = 8;  // kInteger: 2, 4 or 8
  bool cidr = false;      // kInet: the column is cidr (host bits zero)
  bool jsonb = false;     // kJson: binary form is jsonb's (a version byte first)
};

// The limits of a column of `type` (format_type with the modifier:
// "character varying(50)", "character(2)", "smallint", "cidr", "jsonb").
ValueLimits LimitsOfType(std::string_view type);

}  // namespace freshet
