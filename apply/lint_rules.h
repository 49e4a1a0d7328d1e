// Internal to the linter (lint.cc drives, lint_rules.cc checks): the rules
// that look at the parse trees of one migration file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apply/lint.h"
#include "apply/migration_set.h"
#include "apply/sql_statements.h"

namespace freshet::lint_internal {

// A problem of one statement (an index into the file's statements); the
// driver adds the position, applies ignore directives and severities.
struct StatementFinding {
  size_t statement = 0;
  std::string rule;
  std::string message;
};

// Runs the statement rules over one file that parsed. `trees[i]` is the
// statement node of `statements[i]` (e.g. {"DropStmt": {...}}) from
// libpg_query's JSON, or null when that statement could not be parsed alone.
std::vector<StatementFinding> CheckFile(const MigrationFile& file,
                                        const std::vector<Statement>& statements,
                                        const std::vector<nlohmann::json>& trees,
                                        const LintOptions& options);

}  // namespace freshet::lint_internal
