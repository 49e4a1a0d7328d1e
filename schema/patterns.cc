#include "schema/patterns.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "copy/error.h"

namespace freshet {
namespace {

// A glob as the literal runs between its wildcards: `a*b` is {"a", "b"},
// `*` is {"", ""}, `abc` is {"abc"}.
using Segments = std::vector<std::string>;

bool MatchSegments(const Segments& segments, std::string_view text) {
  if (segments.size() == 1) return text == segments.front();
  const std::string& first = segments.front();
  const std::string& last = segments.back();
  if (first.size() + last.size() > text.size()) return false;
  if (!text.starts_with(first) || !text.ends_with(last)) return false;
  // Leftmost placement of each middle run is optimal when '*' is the only
  // wildcard: it leaves the most room for the runs after it.
  std::string_view middle = text.substr(first.size(), text.size() - first.size() - last.size());
  for (size_t i = 1; i + 1 < segments.size(); ++i) {
    size_t at = middle.find(segments[i]);
    if (at == std::string_view::npos) return false;
    middle.remove_prefix(at + segments[i].size());
  }
  return true;
}

std::string JoinSegments(const Segments& segments) {
  std::string out;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i) out.push_back('*');
    out += segments[i];
  }
  return out;
}

bool IsEmpty(const Segments& segments) { return segments.size() == 1 && segments.front().empty(); }

[[noreturn]] void Malformed(std::string_view text, const std::string& why) {
  throw Error("table pattern '" + std::string(text) + "': " + why);
}

}  // namespace

bool GlobMatch(std::string_view glob, std::string_view text) {
  Segments segments(1);
  for (char c : glob) {
    if (c == '*') {
      segments.emplace_back();
    } else {
      segments.back().push_back(c);
    }
  }
  return MatchSegments(segments, text);
}

TablePattern TablePattern::Parse(std::string_view text) {
  if (text.empty()) Malformed(text, "empty pattern");
  std::array<Segments, 2> parts{Segments(1), Segments(1)};
  int part = 0;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c != '"') {
        parts[part].back().push_back(c);
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        parts[part].back().push_back('"');
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '.') {
      if (part == 1) Malformed(text, "more than one unquoted dot (quote names that hold dots)");
      part = 1;
    } else if (c == '*') {
      parts[part].emplace_back();
    } else {
      parts[part].back().push_back(c);
    }
  }
  if (quoted) Malformed(text, "unterminated double quote");
  if (IsEmpty(parts[0])) Malformed(text, part == 1 ? "empty schema part" : "empty table part");
  if (part == 1 && IsEmpty(parts[1])) Malformed(text, "empty table part");

  TablePattern pattern;
  pattern.text_ = std::string(text);
  if (part == 1) {
    pattern.schema_segments_ = std::move(parts[0]);
    pattern.table_segments_ = std::move(parts[1]);
  } else {
    pattern.schema_segments_ = Segments(2);  // `*`: any schema
    pattern.table_segments_ = std::move(parts[0]);
  }
  pattern.schema_literal_ = pattern.schema_segments_.size() == 1;
  pattern.schema_ = JoinSegments(pattern.schema_segments_);
  pattern.table_ = JoinSegments(pattern.table_segments_);
  return pattern;
}

bool TablePattern::Matches(const QualifiedName& table) const {
  return MatchSegments(schema_segments_, table.schema) &&
         MatchSegments(table_segments_, table.name);
}

bool IsPlatformSchema(std::string_view schema) {
  static constexpr std::string_view kExact[] = {
      "auth",       "storage",   "realtime",       "vault",      "graphql", "graphql_public",
      "extensions", "pgsodium",  "pgsodium_masks", "net",        "cron",    "information_schema",
      "_freshet",   "pgbouncer", "_realtime",      "_analytics",
  };
  static constexpr std::string_view kPrefixes[] = {"pg_", "supabase_"};
  if (std::find(std::begin(kExact), std::end(kExact), schema) != std::end(kExact)) return true;
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                     [&](std::string_view prefix) { return schema.starts_with(prefix); });
}

TableSelection::TableSelection(const std::vector<std::string>& includes,
                               const std::vector<std::string>& excludes) {
  for (const std::string& text : includes) {
    TablePattern pattern = TablePattern::Parse(text);
    // A literal platform schema opts that schema in; anything else (a wildcard
    // schema, or a literal ordinary one) is a whitelist entry, and a wildcard
    // never reaches into platform schemas.
    if (pattern.NamesSchemaLiterally() && IsPlatformSchema(pattern.schema_glob())) {
      platform_includes_.push_back(std::move(pattern));
    } else {
      user_includes_.push_back(std::move(pattern));
    }
  }
  for (const std::string& text : excludes) excludes_.push_back(TablePattern::Parse(text));
}

bool TableSelection::Selected(const QualifiedName& table) const {
  auto matches = [&](const TablePattern& pattern) { return pattern.Matches(table); };
  if (std::any_of(excludes_.begin(), excludes_.end(), matches)) return false;
  if (IsPlatformSchema(table.schema)) {
    return std::any_of(platform_includes_.begin(), platform_includes_.end(), matches);
  }
  if (user_includes_.empty()) return true;
  return std::any_of(user_includes_.begin(), user_includes_.end(), matches);
}

}  // namespace freshet
