// `freshet migrate new NAME`: the next correctly named migration for the
// directory's layout and naming profile, created empty.
#pragma once

#include <chrono>
#include <string>

#include "apply/migration_naming.h"

namespace freshet {

// The path (under `dir`) the next migration described by `description` gets:
// timestamps are `now` in UTC, or one second past the newest existing version
// when that is not earlier (so the new file always sorts last); sequential
// numbers are the highest plus one at the directory's width (4 when empty).
// Throws Error(kUsage) when `description` has no letter or digit, or a
// sequential number outgrows its width.
std::string NextMigrationPath(const std::string& dir, const MigrationLayout& layout,
                              const std::string& description,
                              std::chrono::system_clock::time_point now);

// Creates `dir` when missing and the file NextMigrationPath names (empty;
// Prisma: a directory with migration.sql); returns its path. Refuses
// (kUsage) to overwrite anything.
std::string CreateMigration(const std::string& dir, const MigrationLayout& layout,
                            const std::string& description,
                            std::chrono::system_clock::time_point now);

}  // namespace freshet
