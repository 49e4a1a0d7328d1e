#include "apply/history.h"

#include <fmt/format.h>

#include "apply/prisma_history.h"
#include "copy/identifiers.h"

namespace freshet {
namespace {

// pg_advisory_lock key of the applier: the bytes of "freshetm" as a bigint.
constexpr const char* kLockKey = "7382074285560788077";

// The Supabase CLI's DDL (pkg/migration/history.go), verbatim.
constexpr const char* kCreateSupabaseSchema = "CREATE SCHEMA IF NOT EXISTS supabase_migrations";
constexpr const char* kCreateSupabaseTable =
    "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations "
    "(version text NOT NULL PRIMARY KEY, statements text[], name text)";

constexpr const char* kCreateFreshetSchema = "CREATE SCHEMA IF NOT EXISTS _freshet";
constexpr const char* kCreateLogTable =
    "CREATE TABLE IF NOT EXISTS _freshet.migration_log ("
    "version text PRIMARY KEY, name text, sha256 text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint, "
    "applied_by text NOT NULL DEFAULT current_user)";

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string TrimSpace(std::string_view text) {
  size_t begin = 0, end = text.size();
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  return std::string(text.substr(begin, end - begin));
}

// Offset just past the last ';' of `gap` that is outside comments (`gap` is
// whitespace, semicolons and comments only: what lies between two
// statements); 0 when there is none.
size_t AfterLastSemicolon(std::string_view gap) {
  size_t after = 0;
  size_t i = 0;
  while (i < gap.size()) {
    if (gap[i] == ';') {
      after = ++i;
    } else if (gap.substr(i, 2) == "--") {
      size_t end = gap.find('\n', i);
      i = end == std::string_view::npos ? gap.size() : end + 1;
    } else if (gap.substr(i, 2) == "/*") {
      int depth = 0;  // block comments nest
      while (i < gap.size()) {
        if (gap.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (gap.substr(i, 2) == "*/") {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
    } else {
      ++i;
    }
  }
  return after;
}

bool Exists(Connection& connection, const std::string& sql) {
  return connection.Exec(sql).GetBool(0, 0);
}

bool HasColumn(Connection& connection, const char* table, const char* column) {
  return connection
      .Exec(
          "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass "
          "AND attname = $2 AND attnum > 0 AND NOT attisdropped)",
          {std::string(table), std::string(column)})
      .GetBool(0, 0);
}

}  // namespace

void AcquireApplierLock(Connection& connection, std::ostream& log) {
  if (connection.Exec(fmt::format("SELECT pg_try_advisory_lock({})", kLockKey)).GetBool(0, 0))
    return;
  log << fmt::format("waiting for another applier (session advisory lock {} on {}) to finish...",
                     kLockKey, connection.Describe())
      << std::endl;
  connection.Exec(fmt::format("SELECT pg_advisory_lock({})", kLockKey));
}

void ReleaseApplierLock(Connection& connection) {
  connection.Exec(fmt::format("SELECT pg_advisory_unlock({})", kLockKey));
}

void EnsureHistoryTables(Connection& connection, Layout layout) {
  // Check before creating: CREATE ... IF NOT EXISTS checks privileges first.
  if (!Exists(connection, "SELECT to_regnamespace('_freshet') IS NOT NULL"))
    connection.Exec(kCreateFreshetSchema);
  if (!Exists(connection, "SELECT to_regclass('_freshet.migration_log') IS NOT NULL"))
    connection.Exec(kCreateLogTable);
  if (layout == Layout::kPrisma) return prisma_history::EnsureTable(connection);
  if (!Exists(connection, "SELECT to_regnamespace('supabase_migrations') IS NOT NULL"))
    connection.Exec(kCreateSupabaseSchema);
  if (!Exists(connection,
              "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL")) {
    connection.Exec(kCreateSupabaseTable);
  } else {
    // Tables made by old CLIs lack these columns; the CLI adds them the same way.
    for (const char* column : {"statements", "name"}) {
      if (!HasColumn(connection, "supabase_migrations.schema_migrations", column))
        connection.Exec(fmt::format(
            "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS {} {}",
            column, std::string_view(column) == "name" ? "text" : "text[]"));
    }
  }
}

bool ContentMatches(const AppliedVersion& applied, const MigrationFile& file, Layout layout) {
  if (!applied.sha256) return true;
  if (layout == Layout::kPrisma)
    return prisma_history::ChecksumMatches(*applied.sha256, file.content);
  return *applied.sha256 == file.sha256;
}

std::map<std::string, AppliedVersion> ReadHistory(Connection& connection, Layout layout) {
  if (layout == Layout::kPrisma) return prisma_history::Read(connection);
  std::map<std::string, AppliedVersion> out;
  Result tables = connection.Exec(
      "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL, "
      "to_regclass('_freshet.migration_log') IS NOT NULL");
  if (!tables.GetBool(0, 0)) return out;
  bool has_log = tables.GetBool(0, 1);
  std::string name = HasColumn(connection, "supabase_migrations.schema_migrations", "name")
                         ? "coalesce(s.name, '')"
                         : "''";
  std::string sql =
      has_log ? fmt::format(
                    "SELECT s.version, {}, l.sha256, to_char(l.applied_at AT TIME ZONE 'UTC', "
                    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
                    "FROM supabase_migrations.schema_migrations s "
                    "LEFT JOIN _freshet.migration_log l ON l.version = s.version",
                    name)
              : fmt::format(
                    "SELECT s.version, {}, NULL::text, NULL::text "
                    "FROM supabase_migrations.schema_migrations s",
                    name);
  Result rows = connection.Exec(sql);
  for (int row = 0; row < rows.Rows(); ++row) {
    AppliedVersion applied;
    applied.version = rows.Get(row, 0);
    applied.name = rows.Get(row, 1);
    applied.sha256 = rows.GetOptional(row, 2);
    applied.applied_at = rows.GetOptional(row, 3);
    out[applied.version] = std::move(applied);
  }
  return out;
}

// What the Supabase CLI records (pkg/parser/token.go, SplitAndTrim): its
// tokenizer cuts the file after every top-level ';' and keeps each piece as
// is -- leading comments and blank lines included -- then applies
// strings.TrimRight(piece, ";") and strings.TrimSpace, and drops empty pieces.
// So a statement's element starts right after the previous statement's ';'
// (its comments kept), ends before its own ';', and is trimmed. The one
// difference we accept: comments after the last statement form an extra
// element in the CLI's array; here the array has exactly one element per
// statement that the server runs.
std::vector<std::string> HistoryStatements(const std::string& content,
                                           const std::vector<Statement>& statements) {
  std::vector<std::string> out;
  out.reserve(statements.size());
  for (const Statement& statement : statements) {
    size_t gap_start = statement.offset - statement.leading_comments.size();
    size_t start = gap_start + AfterLastSemicolon(statement.leading_comments);
    size_t end = statement.offset + statement.text.size();
    out.push_back(TrimSpace(std::string_view(content).substr(start, end - start)));
  }
  return out;
}

std::optional<std::vector<std::string>> RecordedStatements(Connection& connection,
                                                           const std::string& version) {
  if (!Exists(connection,
              "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL") ||
      !HasColumn(connection, "supabase_migrations.schema_migrations", "statements"))
    return std::nullopt;
  Result rows = connection.Exec(
      "SELECT s FROM supabase_migrations.schema_migrations m, "
      "LATERAL unnest(m.statements) WITH ORDINALITY AS u(s, n) "
      "WHERE m.version = $1 AND m.statements IS NOT NULL ORDER BY n",
      {version});
  if (rows.Rows() == 0) return std::nullopt;
  std::vector<std::string> out;
  for (int row = 0; row < rows.Rows(); ++row) out.push_back(rows.Get(row, 0));
  return out;
}

void RecordApplied(Connection& connection, const MigrationFile& file,
                   const std::vector<std::string>& statements, std::optional<int64_t> duration_ms,
                   Layout layout) {
  if (layout == Layout::kPrisma) {
    prisma_history::Record(connection, file, duration_ms.has_value());
  } else {
    // Delete-then-insert rather than ON CONFLICT: schema_migrations tables
    // made by old CLIs may lack the primary key.
    connection.Exec("DELETE FROM supabase_migrations.schema_migrations WHERE version = $1",
                    {file.version});
    connection.Exec(
        "INSERT INTO supabase_migrations.schema_migrations (version, name, statements) "
        "VALUES ($1, $2, $3::text[])",
        {file.version, file.name, TextArrayLiteral(statements)});
  }
  connection.Exec("DELETE FROM _freshet.migration_log WHERE version = $1", {file.version});
  std::optional<std::string> duration;
  if (duration_ms) duration = std::to_string(*duration_ms);
  connection.Exec(
      "INSERT INTO _freshet.migration_log (version, name, sha256, duration_ms) "
      "VALUES ($1, $2, $3, $4::bigint)",
      {file.version, file.name, file.sha256, duration});
}

void DeleteHistory(Connection& connection, const std::vector<std::string>& versions,
                   Layout layout) {
  std::string array = TextArrayLiteral(versions);
  if (layout == Layout::kPrisma)
    prisma_history::RollBack(connection, versions);
  else
    connection.Exec(
        "DELETE FROM supabase_migrations.schema_migrations WHERE version = ANY($1::text[])",
        {array});
  connection.Exec("DELETE FROM _freshet.migration_log WHERE version = ANY($1::text[])", {array});
}

}  // namespace freshet
