// Table selection: include/exclude patterns of the form `schema.table` with `*`
// wildcards, and the platform schemas (Supabase, PostgreSQL internals) that are
// left out unless named. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "copy/identifiers.h"

namespace freshet {

// One pattern. Parts may be double-quoted to hold dots or stars literally:
// `"my.schema".*`. A pattern without a dot matches the table in any schema.
class TablePattern {
 public:
  // Throws Error naming the pattern when it is malformed (empty part,
  // unterminated quote, more than one unquoted dot).
  static TablePattern Parse(std::string_view text);

  bool Matches(const QualifiedName& table) const;
  // True when the schema part is a literal (no wildcard), e.g. `auth.users` or `auth.*`.
  bool NamesSchemaLiterally() const { return schema_literal_; }
  const std::string& schema_glob() const { return schema_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string schema_;  // glob for display; a quoted '*' also shows as '*'
  std::string table_;
  bool schema_literal_ = false;
  // What matching uses: the literal runs between wildcards, so a quoted '*'
  // stays literal. {"a", "b"} is `a*b`; {""} matches only the empty string.
  std::vector<std::string> schema_segments_;
  std::vector<std::string> table_segments_;
};

// Glob match where '*' matches any run of characters (including none) and
// every other character matches itself. Exposed for tests.
bool GlobMatch(std::string_view glob, std::string_view text);

// Supabase and PostgreSQL schemas left out unless included by name: auth,
// storage, realtime, vault, graphql, graphql_public, supabase_*, extensions,
// pgsodium, net, cron, pg_*, information_schema — plus freshet's own `_freshet`.
bool IsPlatformSchema(std::string_view schema);

// Which tables a run covers.
//  - A table in a platform schema is selected only by an include pattern that
//    names its schema literally (e.g. `auth.users`, `auth.*`).
//  - Include patterns on other schemas form a whitelist; when there are none,
//    every table outside the platform schemas is selected.
//  - Exclude patterns then remove tables.
// So `--include auth.users` alone means "everything, plus auth.users".
class TableSelection {
 public:
  TableSelection(const std::vector<std::string>& includes,
                 const std::vector<std::string>& excludes);
  bool Selected(const QualifiedName& table) const;

 private:
  std::vector<TablePattern> platform_includes_;
  std::vector<TablePattern> user_includes_;
  std::vector<TablePattern> excludes_;
};

}  // namespace freshet
