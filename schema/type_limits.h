// The limits a declared type puts on its values (the 12 of varchar(12), the
// 5,2 of numeric(5,2)), whether a column's values might not fit the type the
// target declares for it, and whether one value does. A migration that narrows
// a column on dev (varchar(100) on prod, varchar(12) on dev) is the case:
// PostgreSQL rejects such rows only while loading them, after the truncate, so
// freshet looks at the values first. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "copy/copy_rows.h"

namespace freshet {

enum class LimitKind {
  kVarchar,  // character varying(n): at most n characters, beyond them only spaces
  kChar,     // character(n): the same rule (shorter values are padded)
  kBit,      // bit(n): exactly n bits
  kVarbit,   // bit varying(n): at most n bits
  kNumeric,  // numeric(p,s): rounded to s decimals, fewer than 10^(p-s)
};

struct TypeLimit {
  LimitKind kind = LimitKind::kVarchar;
  int length = 0;      // characters or bits
  int precision = 0;   // numeric
  int scale = 0;       // numeric; may be negative (PostgreSQL 15)
  bool array = false;  // applies to every element of an array

  // The declared type, as format_type() writes it: "character varying(12)[]".
  std::string Describe() const;
};

// A format_type() string without its length or precision modifiers, array
// brackets kept: "character varying(10)[]" -> "character varying[]". Types
// equal without modifiers share binary COPY data.
std::string TypeWithoutModifiers(std::string_view type);

// The limit a format_type() string declares: "character varying(12)",
// "character(3)[]", "bit(8)", "bit varying(5)", "numeric(10,2)". None for
// types without one (text, an unbounded varchar, timestamps, whose precision
// only rounds) and for arrays of more than the base type's brackets.
std::optional<TypeLimit> ParseTypeLimit(std::string_view type);

// The target's limit when some value of `source_type` might not fit
// `target_type`, none when every value does (no limit on the target, or one
// at least as wide as the source's of the same kind).
std::optional<TypeLimit> NarrowingLimit(std::string_view source_type, std::string_view target_type);

// Why `value` does not fit `limit`, e.g. "has 37 characters" or "needs
// numeric(8,2)" (never the value itself: it may be personal data), or none when it fits or cannot
// be judged. `value` is one field of a COPY row (not NULL; text fields de-escaped) of the source's
// type: in binary, the same base type as the limit's (an array of it when limit.array); in text,
// any type's output (arrays are not judged in text).
std::optional<std::string> Misfit(const TypeLimit& limit, StreamFormat format,
                                  std::string_view value);

// A SQL condition true for the values of `value_sql` (an expression of type
// `source_type`) that do not fit `limit`, for checking a live source; none
// when it cannot be written for that source type.
std::optional<std::string> MisfitCondition(const TypeLimit& limit, std::string_view source_type,
                                           const std::string& value_sql);

}  // namespace freshet
