// The extensions migrations create, and the check that a shadow server has
// them all, made before the first migration runs: a migration set that needs
// an extension the server lacks fails in one error listing every such
// extension with its file and line, instead of on the first one after
// minutes of applying.
#pragma once

#include <string>
#include <vector>

#include "apply/migration_set.h"

namespace freshet {

class Connection;

struct ExtensionUse {
  std::string name;   // as created: "uuid-ossp", "vector"
  std::string file;   // the migration's filename
  int statement = 0;  // 1-based
  int line = 0;       // 1-based line of the CREATE EXTENSION statement
};

// Every `CREATE EXTENSION [IF NOT EXISTS] name ...` statement of the set's
// files, in file and statement order, found with the PostgreSQL parser.
// Statements inside function bodies or DO blocks are not seen. Files that do
// not parse are skipped (CheckMigrationsRunnable reports them). Pure.
std::vector<ExtensionUse> CreatedExtensions(const MigrationSet& set);

// Throws MigrationError (kRefused) listing each use whose extension is not in
// the pg_available_extensions of `shadow`'s server (`server` names it in the
// message: "the local PostgreSQL server in /usr/lib/postgresql/15/bin"), with
// the way out; nothing else.
void RefuseMissingExtensions(Connection& shadow, const std::string& server,
                             const std::vector<ExtensionUse>& uses);

}  // namespace freshet
