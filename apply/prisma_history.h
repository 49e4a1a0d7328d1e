// Prisma Migrate's history table, public._prisma_migrations, created and
// filled as Prisma does (schema-engine's postgres flavour): one row per
// attempt, `checksum` the lowercase hex SHA-256 of migration.sql's bytes,
// `finished_at` set once the script ran, `rolled_back_at` set by
// `migrate resolve --rolled-back`, `applied_steps_count` 1 after a run (0 for
// a row written by resolve). So `prisma migrate status`/`deploy` and freshet
// agree on what is applied. Internal to history.cc.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "apply/history.h"
#include "copy/connection.h"

namespace freshet::prisma_history {

void EnsureTable(Connection& connection);

// The latest row of each migration_name that was not rolled back; empty when
// the table does not exist.
std::map<std::string, AppliedVersion> Read(Connection& connection);

// The checksum matches `content` as written, with CRLF turned to LF, or LF to
// CRLF (Prisma's script_matches_checksum).
bool ChecksumMatches(const std::string& checksum, const std::string& content);

// `migrate up` (ran = true): a row as Prisma writes after a successful run,
// started at the transaction's start. `repair --status applied` (ran =
// false): failed rows are marked rolled back; an applied row gets the file's
// checksum, otherwise a row is inserted as `prisma migrate resolve --applied`
// does.
void Record(Connection& connection, const MigrationFile& file, bool ran);

// Marks the rows of `names` rolled back (rolled_back_at = now()).
void RollBack(Connection& connection, const std::vector<std::string>& names);

}  // namespace freshet::prisma_history
