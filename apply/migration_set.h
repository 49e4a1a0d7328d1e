// The migrations of a directory, read, checksummed and ordered by version,
// with every naming problem collected (not just the first). The layout and
// naming profile (apply/migration_naming.h) say which files are migrations.
// Reading files is the only I/O here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply/migration_naming.h"

namespace freshet {

struct MigrationFile {
  std::string path;      // as found in the directory
  std::string filename;  // 20250101000000_init.sql; Prisma: 20250101000000_init/migration.sql
  std::string version;   // 20250101000000; Prisma: the directory name, 20250101000000_init
  std::string name;      // init (the Supabase CLI's "name")
  std::string content;   // the whole file
  std::string sha256;    // hex digest of content
  bool no_transaction = false;  // first line is `-- freshet:no-transaction`
};

struct NamingProblem {
  std::string file;     // filename
  std::string rule;     // "migration-name", "duplicate-version" or "skipped-file"
  std::string message;  // a full sentence with the way out
  // True when the problem stops `up` and `shadow` (a file that should be a
  // migration but cannot be ordered); false for a .sql file that is simply
  // not applied, as the Supabase CLI skips it.
  bool blocks = true;
};

// A file in the directory that is not a migration and is not a problem
// (seed.sql), told to the user as a note.
struct SkippedFile {
  std::string file;
  std::string reason;
};

struct MigrationSet {
  std::string dir;
  MigrationLayout layout;
  std::vector<MigrationFile> files;     // the migrations, by version
  std::vector<MigrationFile> rejected;  // badly named or duplicate: linted, never applied
  std::vector<NamingProblem> problems;  // by file
  std::vector<SkippedFile> skipped;     // by file
};

// Reads the migrations of `dir` under `layout`. Files the profile refuses are
// reported in `problems`, kept in `rejected` (so their content is still
// linted) and left out of `files`; of several files with one version, all are
// reported and none is kept. Throws Error(kUsage) when `dir` does not exist or
// a file cannot be read.
MigrationSet LoadMigrations(const std::string& dir, const MigrationLayout& layout = {});

// The problems that stop `up` and `shadow`, as one Error(kUsage) listing them
// ("nothing was applied"); does nothing when there are none.
void ThrowIfBlocked(const MigrationSet& set);

// "note: skipping seed.sql: ..." lines for `skipped` and the non-blocking
// problems, for the commands that apply migrations.
std::string SkippedNotes(const MigrationSet& set);

// The layout of `dir` when none is configured: Prisma when it holds
// migration_lock.toml or a subdirectory with migration.sql and no .sql files.
Layout DetectLayout(const std::string& dir);

// Hex SHA-256 of `data` (OpenSSL).
std::string Sha256Hex(const std::string& data);

}  // namespace freshet
