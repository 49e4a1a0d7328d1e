// `identifier-too-long`. The parser truncates identifiers to NAMEDATALEN-1
// (63) bytes as it reads them, so the parse tree never shows a long name:
// this rule scans the statement's text instead, skipping string constants,
// dollar-quoted bodies and comments.
#include <fmt/format.h>

#include <cctype>
#include <set>
#include <string_view>

#include "apply/lint_context.h"

namespace freshet::lint_internal {
namespace {

constexpr size_t kMaxIdentifierBytes = 63;

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsIdentifierChar(char c) {
  return IsIdentifierStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}

// Index just past a '...' constant starting at `at`; `backslash` for E'...'.
size_t SkipString(std::string_view sql, size_t at, bool backslash) {
  for (size_t i = at + 1; i < sql.size(); ++i) {
    if (backslash && sql[i] == '\\') {
      ++i;
    } else if (sql[i] == '\'') {
      if (i + 1 < sql.size() && sql[i + 1] == '\'') {
        ++i;
        continue;
      }
      return i + 1;
    }
  }
  return sql.size();
}

// Index just past a $tag$...$tag$ body starting at `at`, or `at + 1` when the
// `$` does not open one (a parameter such as $1).
size_t SkipDollarQuote(std::string_view sql, size_t at) {
  size_t end = at + 1;
  while (end < sql.size() && sql[end] != '$' && IsIdentifierChar(sql[end])) ++end;
  bool parameter = end > at + 1 && std::isdigit(static_cast<unsigned char>(sql[at + 1]));
  if (end >= sql.size() || sql[end] != '$' || parameter) return at + 1;
  std::string_view tag = sql.substr(at, end - at + 1);
  size_t close = sql.find(tag, end + 1);
  return close == std::string_view::npos ? sql.size() : close + tag.size();
}

size_t SkipComment(std::string_view sql, size_t at) {
  if (sql[at] == '-') {
    size_t end = sql.find('\n', at);
    return end == std::string_view::npos ? sql.size() : end + 1;
  }
  int depth = 0;
  for (size_t i = at; i + 1 < sql.size(); ++i) {
    if (sql[i] == '/' && sql[i + 1] == '*') {
      ++depth;
      ++i;
    } else if (sql[i] == '*' && sql[i + 1] == '/') {
      ++i;
      if (--depth == 0) return i + 1;
    }
  }
  return sql.size();
}

// Every identifier of `sql` longer than 63 bytes, in order, each once.
std::vector<std::string> LongIdentifiers(std::string_view sql) {
  std::vector<std::string> found;
  std::set<std::string> seen;
  auto note = [&](std::string name) {
    if (name.size() > kMaxIdentifierBytes && seen.insert(name).second)
      found.push_back(std::move(name));
  };
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    if ((c == '-' && next == '-') || (c == '/' && next == '*')) {
      i = SkipComment(sql, i);
    } else if (c == '\'') {
      i = SkipString(sql, i, false);
    } else if (c == '$') {
      i = SkipDollarQuote(sql, i);
    } else if (c == '"') {
      std::string name;
      for (++i; i < sql.size(); ++i) {
        if (sql[i] != '"') {
          name += sql[i];
        } else if (i + 1 < sql.size() && sql[i + 1] == '"') {
          name += '"';
          ++i;
        } else {
          ++i;
          break;
        }
      }
      note(std::move(name));
    } else if (IsIdentifierStart(c)) {
      size_t start = i;
      while (i < sql.size() && IsIdentifierChar(sql[i])) ++i;
      std::string_view word = sql.substr(start, i - start);
      if (word.size() == 1 && i < sql.size() && sql[i] == '\'') {  // E'..', B'..', X'..', N'..'
        i = SkipString(sql, i, word == "e" || word == "E");
        continue;
      }
      std::string name(word);
      for (char& ch : name)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      note(std::move(name));
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < sql.size() && (IsIdentifierChar(sql[i]) || sql[i] == '.')) ++i;
    } else {
      ++i;
    }
  }
  return found;
}

// The first 63 bytes of `name`, not splitting a UTF-8 character (as the server cuts).
std::string Truncated(const std::string& name) {
  size_t length = kMaxIdentifierBytes;
  while (length > 0 && (static_cast<unsigned char>(name[length]) & 0xC0) == 0x80) --length;
  return name.substr(0, length);
}

bool DefinesOrChangesObjects(const std::string& type) {
  static const std::set<std::string> kOthers = {"RenameStmt", "IndexStmt",         "ViewStmt",
                                                "DefineStmt", "CompositeTypeStmt", "CommentStmt"};
  return type.rfind("Create", 0) == 0 || type.rfind("Alter", 0) == 0 || kOthers.count(type);
}

}  // namespace

void CheckIdentifiers(FileContext& context, const std::string& type) {
  if (!DefinesOrChangesObjects(type)) return;
  std::vector<std::string> names = LongIdentifiers(context.statements[context.current].text);
  if (names.empty()) return;
  std::vector<std::string> described;
  for (const auto& name : names)
    described.push_back(
        fmt::format("\"{}\" ({} bytes) becomes \"{}\"", name, name.size(), Truncated(name)));
  context.Add("identifier-too-long",
              fmt::format("PostgreSQL silently truncates names to 63 bytes: {}; the object then "
                          "has another name than the one written, which clients and the Data "
                          "API looking for the full name do not find (and two long names that "
                          "share their first 63 bytes collide); use a shorter name",
                          fmt::join(described, ", ")));
}

}  // namespace freshet::lint_internal
