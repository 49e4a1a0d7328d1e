// Which values masking can decode, named as the catalog names their types.
#include "copy/mask_value.h"

#include <charconv>

namespace freshet {
namespace {

// A type name with its modifiers ("(50)", "(3)") and surrounding spaces
// dropped and inner runs of spaces made one: "timestamp(3) with time zone"
// -> "timestamp with time zone". Array brackets stay, so arrays match no kind.
std::string WithoutModifiers(std::string_view type) {
  std::string name;
  int depth = 0;
  for (char c : type) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth > 0) --depth;
    } else if (depth == 0) {
      if (c == ' ' && (name.empty() || name.back() == ' ')) continue;
      name.push_back(c);
    }
  }
  while (!name.empty() && name.back() == ' ') name.pop_back();
  return name;
}

// numeric(p, s)'s s (0 for numeric(p)); nullopt without modifiers.
std::optional<int> NumericScale(std::string_view type) {
  size_t open = type.find('(');
  if (open == std::string_view::npos) return std::nullopt;
  size_t comma = type.find(',', open);
  if (comma == std::string_view::npos) return 0;
  size_t begin = type.find_first_not_of(' ', comma + 1);
  if (begin == std::string_view::npos) return std::nullopt;
  int value = 0;
  auto [stop, error] = std::from_chars(type.data() + begin, type.data() + type.size(), value);
  if (error != std::errc()) return std::nullopt;
  return value;
}

// The first number inside the modifier of `type` ("character varying(50)"
// -> 50), or nullopt when it has none.
std::optional<size_t> FirstModifier(std::string_view type) {
  size_t open = type.find('(');
  if (open == std::string_view::npos) return std::nullopt;
  const char* begin = type.data() + open + 1;
  const char* end = type.data() + type.size();
  size_t value = 0;
  auto [stop, error] = std::from_chars(begin, end, value);
  if (error != std::errc() || stop == begin) return std::nullopt;
  return value;
}

}  // namespace

const char* ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kText:
      return "text";
    case ValueKind::kInteger:
      return "integer";
    case ValueKind::kNumeric:
      return "numeric";
    case ValueKind::kUuid:
      return "uuid";
    case ValueKind::kDate:
      return "date";
    case ValueKind::kTimestamp:
      return "timestamp";
    case ValueKind::kJson:
      return "json";
    case ValueKind::kInet:
      return "inet";
    case ValueKind::kBoolean:
      return "boolean";
  }
  return "unknown";
}

std::optional<ValueKind> KindOfType(std::string_view type_name) {
  struct Entry {
    std::string_view name;
    ValueKind kind;
  };
  // format_type's spellings first, then the catalog's own names, which a
  // hand-written configuration or a domain's base may use.
  static constexpr Entry kTypes[] = {
      {"text", ValueKind::kText},
      {"character varying", ValueKind::kText},
      {"character", ValueKind::kText},
      {"name", ValueKind::kText},
      {"citext", ValueKind::kText},
      {"smallint", ValueKind::kInteger},
      {"integer", ValueKind::kInteger},
      {"bigint", ValueKind::kInteger},
      {"numeric", ValueKind::kNumeric},
      {"uuid", ValueKind::kUuid},
      {"date", ValueKind::kDate},
      {"timestamp without time zone", ValueKind::kTimestamp},
      {"timestamp with time zone", ValueKind::kTimestamp},
      {"json", ValueKind::kJson},
      {"jsonb", ValueKind::kJson},
      {"inet", ValueKind::kInet},
      {"cidr", ValueKind::kInet},
      {"boolean", ValueKind::kBoolean},
      {"varchar", ValueKind::kText},
      {"bpchar", ValueKind::kText},
      {"int2", ValueKind::kInteger},
      {"int4", ValueKind::kInteger},
      {"int8", ValueKind::kInteger},
      {"timestamp", ValueKind::kTimestamp},
      {"timestamptz", ValueKind::kTimestamp},
      {"bool", ValueKind::kBoolean},
  };
  std::string name = WithoutModifiers(type_name);
  // citext is an extension's type: format_type qualifies it ("public.citext")
  // when its schema is not on the search path.
  if (size_t dot = name.rfind('.'); dot != std::string::npos && name.substr(dot + 1) == "citext")
    return ValueKind::kText;
  for (const Entry& entry : kTypes)
    if (entry.name == name) return entry.kind;
  return std::nullopt;
}

ValueLimits LimitsOfType(std::string_view type) {
  ValueLimits limits;
  std::string name = WithoutModifiers(type);
  std::optional<size_t> modifier = FirstModifier(type);
  if (name == "character varying" || name == "varchar") {
    limits.max_chars = modifier.value_or(0);
  } else if (name == "character") {
    // SQL's CHARACTER without a length is CHARACTER(1). A bpchar column
    // without a modifier is unbounded, and format_type spells that "bpchar".
    limits.max_chars = modifier.value_or(1);
    limits.pad_chars = true;
  } else if (name == "bpchar") {
    limits.max_chars = modifier.value_or(0);
    limits.pad_chars = modifier.has_value();
  } else if (name == "smallint" || name == "int2") {
    limits.integer_bytes = 2;
  } else if (name == "integer" || name == "int4") {
    limits.integer_bytes = 4;
  } else if (name == "bigint" || name == "int8") {
    limits.integer_bytes = 8;
  } else if (name == "numeric" || name == "decimal") {
    limits.numeric_scale = NumericScale(type);
  } else if (name == "cidr") {
    limits.cidr = true;
  } else if (name == "jsonb") {
    limits.jsonb = true;
  }
  return limits;
}

}  // namespace freshet
