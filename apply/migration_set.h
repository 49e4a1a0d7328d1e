// The migration files of a directory: `YYYYMMDDHHMMSS_description.sql`, read,
// checksummed and ordered by version, with every naming problem collected
// (not just the first). Reading files is the only I/O here.
#pragma once

#include <string>
#include <vector>

namespace freshet {

struct MigrationFile {
  std::string path;             // as found in the directory
  std::string filename;         // 20250101000000_init.sql
  std::string version;          // 20250101000000
  std::string name;             // init (the Supabase CLI's "name")
  std::string content;          // the whole file
  std::string sha256;           // hex digest of content
  bool no_transaction = false;  // first line is `-- freshet:no-transaction`
};

struct NamingProblem {
  std::string file;     // filename
  std::string rule;     // "migration-name" or "duplicate-version"
  std::string message;  // a full sentence with the way out
};

struct MigrationSet {
  std::string dir;
  std::vector<MigrationFile> files;     // well-named .sql files, by version
  std::vector<NamingProblem> problems;  // badly named .sql files, duplicate versions
};

// Reads every *.sql file of `dir` (not recursive). Files with bad names are
// reported in `problems` and left out of `files`; of several files with one
// version, all are reported and none is kept. Throws Error(kUsage) when `dir`
// does not exist or a file cannot be read.
MigrationSet LoadMigrations(const std::string& dir);

// True for `YYYYMMDDHHMMSS_description.sql` (14 digits that form a valid UTC
// date and time, `_`, lowercase a-z0-9_ description, `.sql`).
bool IsValidMigrationName(const std::string& filename);

// Hex SHA-256 of `data` (OpenSSL).
std::string Sha256Hex(const std::string& data);

}  // namespace freshet
