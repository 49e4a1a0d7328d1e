// The two migration history tables and the applier's lock.
//
// supabase_migrations.schema_migrations is the Supabase CLI's table, created
// and filled exactly as the CLI does (version, name, statements), so
// `supabase migration list` and `supabase db push` keep working on a database
// that freshet migrates; columns that newer CLIs add (created_by,
// idempotency_key, ...) are tolerated and never written.
// _freshet.migration_log is freshet's own record of each file it applied or
// repaired: sha256 of the content, when, how long and by whom.
//
// schema_migrations is the source of truth for "applied"; a migration_log row
// without a schema_migrations row (left by `supabase migration repair`) is
// stale and ignored. Not thread-safe: one thread per Connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "apply/migration_set.h"
#include "apply/sql_statements.h"
#include "copy/connection.h"

namespace freshet {

// One row of schema_migrations, with freshet's log row when there is one.
struct AppliedVersion {
  std::string version;
  std::string name;
  // From _freshet.migration_log; nullopt when only the Supabase CLI applied
  // the version (no checksum to compare: "applied, unverified").
  std::optional<std::string> sha256;
  std::optional<std::string> applied_at;  // ISO 8601 UTC, from the log
};

// Takes the session advisory lock that serializes appliers on this database
// (pg_advisory_lock on a fixed key). If another session holds it, writes
// "waiting for another applier ..." to `log` and blocks until it is released.
// The lock lasts until ReleaseApplierLock or the end of the session.
void AcquireApplierLock(Connection& connection, std::ostream& log);
void ReleaseApplierLock(Connection& connection);

// Creates the schemas, tables and the CLI's statements/name columns that are
// missing; creates nothing that exists (so no CREATE privilege is needed on a
// database that already has them). Call while holding the applier lock.
void EnsureHistoryTables(Connection& connection);

// Every version in schema_migrations, by version; empty when the table does
// not exist. Creates nothing.
std::map<std::string, AppliedVersion> ReadHistory(Connection& connection);

// The `statements` array the Supabase CLI records for a file: the CLI splits
// the file on top-level semicolons and keeps each piece with its leading
// comments, minus the trailing ';' and surrounding whitespace. One element per
// statement of `statements` (SplitStatements of `content`).
std::vector<std::string> HistoryStatements(const std::string& content,
                                           const std::vector<Statement>& statements);

// Writes the history rows of `file` (replacing rows of its version in both
// tables): schema_migrations (version, name, statements) and migration_log
// (version, name, sha256, duration_ms; applied_at and applied_by default).
// Runs in the caller's transaction, if any.
void RecordApplied(Connection& connection, const MigrationFile& file,
                   const std::vector<std::string>& statements, std::optional<int64_t> duration_ms);

// Deletes the rows of `versions` from both tables; absent versions are ignored.
void DeleteHistory(Connection& connection, const std::vector<std::string>& versions);

// `{"a","b"}`: a text[] literal for a $n parameter.
std::string TextArrayLiteral(const std::vector<std::string>& elements);

}  // namespace freshet
