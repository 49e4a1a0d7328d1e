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
// stale and ignored.
//
// The Prisma layout keeps its history in public._prisma_migrations exactly as
// Prisma Migrate writes it (apply/prisma_history.h) instead of
// schema_migrations; migration_log is kept for both. Not thread-safe: one
// thread per Connection.
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
  // Prisma: a row that started and never finished (finished_at and
  // rolled_back_at NULL): Prisma's "failed" migration.
  bool failed = false;
};

// The applied file's recorded checksum matches `file` (Prisma's checksum also
// when only the line endings changed, as Prisma accepts). True when nothing
// was recorded (applied by the Supabase CLI: unverified).
bool ContentMatches(const AppliedVersion& applied, const MigrationFile& file, Layout layout);

// Takes the session advisory lock that serializes appliers on this database
// (pg_advisory_lock on a fixed key). If another session holds it, writes
// "waiting for another applier ..." to `log` and blocks until it is released.
// The lock lasts until ReleaseApplierLock or the end of the session.
void AcquireApplierLock(Connection& connection, std::ostream& log);
void ReleaseApplierLock(Connection& connection);

// Creates the schemas, tables and the CLI's statements/name columns that are
// missing; creates nothing that exists (so no CREATE privilege is needed on a
// database that already has them). Call while holding the applier lock.
void EnsureHistoryTables(Connection& connection, Layout layout);

// Every version in schema_migrations, by version; empty when the table does
// not exist. Creates nothing.
std::map<std::string, AppliedVersion> ReadHistory(Connection& connection, Layout layout);

// The `statements` recorded for `version` in schema_migrations; nullopt when
// there is no row or the column is NULL.
std::optional<std::vector<std::string>> RecordedStatements(Connection& connection,
                                                           const std::string& version);

// The `statements` array the Supabase CLI records for a file: the CLI splits
// the file on top-level semicolons and keeps each piece with its leading
// comments, minus the trailing ';' and surrounding whitespace. One element per
// statement of `statements` (SplitStatements of `content`).
std::vector<std::string> HistoryStatements(const std::string& content,
                                           const std::vector<Statement>& statements);

// Writes the history rows of `file` (replacing rows of its version in both
// tables): schema_migrations (version, name, statements) or, for Prisma, a
// _prisma_migrations row; and migration_log (version, name, sha256,
// duration_ms; applied_at and applied_by default). `duration_ms` is nullopt
// for `repair` (recorded, not run). Runs in the caller's transaction, if any.
void RecordApplied(Connection& connection, const MigrationFile& file,
                   const std::vector<std::string>& statements, std::optional<int64_t> duration_ms,
                   Layout layout);

// Forgets `versions`: deletes their rows from both tables (Prisma: marks them
// rolled back, as `prisma migrate resolve --rolled-back` does); absent
// versions are ignored.
void DeleteHistory(Connection& connection, const std::vector<std::string>& versions, Layout layout);

}  // namespace freshet
