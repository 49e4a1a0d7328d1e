// Quoting of SQL identifiers and literals. Every identifier freshet puts into
// SQL goes through QuoteIdent, so mixed case, spaces, dots, quotes, reserved
// words and non-ASCII names all round-trip. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace freshet {

// "name" with embedded double quotes doubled. Always quotes: never wrong.
std::string QuoteIdent(std::string_view name);

// 'text' with embedded single quotes doubled (standard_conforming_strings=on,
// which freshet pins on every connection).
std::string QuoteLiteral(std::string_view text);

// `{"a","b"}`: a text[] (or any array's) literal, every element quoted, for
// a $n parameter or inside QuoteLiteral.
std::string TextArrayLiteral(const std::vector<std::string>& elements);

// A schema-qualified relation name.
struct QualifiedName {
  std::string schema;
  std::string name;

  std::string Quoted() const { return QuoteIdent(schema) + "." + QuoteIdent(name); }
  // schema.name unquoted, for messages, reports and pattern matching.
  std::string Display() const { return schema + "." + name; }
  auto operator<=>(const QualifiedName&) const = default;
};

// "a", "b", "c" — a quoted column list without parentheses.
std::string QuoteIdentList(const std::vector<std::string>& names);

// The parts of a dotted name as the config writes it: `public.deals.owner_id`
// gives {"public", "deals", "owner_id"}; a part in double quotes may hold
// dots, and "" for a quote (`"my.schema"."Deals"` gives {"my.schema",
// "Deals"}). Unquoted parts are taken as written (no case folding). Empty
// when a part is empty (quoted or not) or a quote is not closed.
std::vector<std::string> SplitDottedName(std::string_view text);

}  // namespace freshet
