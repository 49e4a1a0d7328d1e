// Applies migrations to a database the way CI does on merge, keeping history
// compatible with the Supabase CLI (supabase_migrations.schema_migrations:
// version, statements, name) plus freshet's own record of each applied file
// (sha256, applied at, duration, applied by) in _freshet.migration_log.
// Two appliers never interleave: `up` holds a session advisory lock.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <stop_token>
#include <string>
#include <vector>

#include "apply/migration_set.h"

namespace freshet {

struct MigrateOptions {
  std::string db_url;
  std::string dir = "supabase/migrations";
  MigrationLayout layout;  // which files are migrations, and where history lives
  bool dry_run = false;
  bool include_all = false;  // apply pending files older than the newest applied one
  // Defaults set with SET LOCAL before each file; a file may override them
  // with its own SET statements.
  std::string lock_timeout = "5s";
  std::string statement_timeout = "15min";
  // A stop cancels what runs (the statement under way, the wait for another
  // applier); the file under way is rolled back and later files are not run.
  std::stop_token stop;
  // Called after each file is committed (its name, the seconds it took), so
  // a caller knows what was applied even when a later file fails.
  std::function<void(const std::string& file, double seconds)> on_applied;
};

struct UpResult {
  std::vector<std::string> applied;  // filenames applied (or that would be, with dry_run)
  std::string dry_run_text;          // with dry_run: what would run, statement by statement
  std::vector<double> seconds;       // per file applied, in order (none with dry_run)
  std::string database;              // user@host:port/dbname, never a password
};

// Applies pending migrations in version order, each file and its history rows
// in one transaction (`-- freshet:no-transaction` files: their one statement
// outside a transaction, history after it). Stops at the first failure and
// throws Error naming file, statement number, line and the server's error
// with its position; nothing of the failed file remains. Refuses (Error with
// the way out) when the database has versions missing from the directory, a
// pending file is older than the newest applied one (unless include_all), an
// applied file's content changed (saying whether only comments or whitespace
// did, and naming `repair`), or Prisma's history holds a failed run.
// Progress lines and notes on skipped files go to `log`.
UpResult MigrateUp(const MigrateOptions& options, std::ostream& log);

// kFailed: Prisma's history has a run of it that started and never finished
// (freshet never leaves one: its history row commits with the file).
enum class MigrationState { kApplied, kPending, kModified, kMissingLocally, kFailed };

struct VersionStatus {
  std::string version;
  std::string name;
  MigrationState state = MigrationState::kPending;
  std::optional<std::string> applied_at;  // ISO 8601, when freshet's log knows it
};

// Every version in the directory or the database, by version.
std::vector<VersionStatus> MigrationStatus(const MigrateOptions& options);

// Marks versions applied (history rows written from the local files, nothing
// executed) or reverted (history rows deleted), as `supabase migration repair`.
void MigrateRepair(const MigrateOptions& options, const std::vector<std::string>& versions,
                   bool applied);

const char* StateName(MigrationState state);

// Checks, with no database, that `up` could run every file of `dir` from
// scratch: names (LoadMigrations' problems), syntax, and transaction control
// (no COMMIT in the middle, one statement in a `-- freshet:no-transaction`
// file). Throws the Error `up` would (a MigrationError naming the file and
// line where there is one); returns the set when all is well.
MigrationSet CheckMigrationsRunnable(const std::string& dir, const MigrationLayout& layout);

}  // namespace freshet
