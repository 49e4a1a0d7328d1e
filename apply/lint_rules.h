// Internal to the linter (lint.cc drives, the lint_rules*.cc files check):
// the rules that look at the parse trees of one migration file, and the
// events they record for the rules judged after the last file
// (lint_end_state.h).
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

// What a statement does to a relation, as far as the end-state rules care:
// row level security, grants and views' security_invoker.
struct RelationEvent {
  enum class Kind {
    kCreateTable,     // key: the new table
    kDefineView,      // CREATE [OR REPLACE] VIEW or ALTER VIEW SET/RESET; security_invoker
    kDrop,            // DROP TABLE/VIEW/MATERIALIZED VIEW
    kDropSchema,      // key: the schema
    kMove,            // RENAME or SET SCHEMA: key -> new_key
    kEnableRls,       // ALTER TABLE ... ENABLE ROW LEVEL SECURITY
    kDisableRls,      // ALTER TABLE ... DISABLE ROW LEVEL SECURITY
    kGrant,           // GRANT ... ON TABLE key TO roles
    kRevoke,          // REVOKE ALL ... ON TABLE key FROM roles
    kGrantInSchema,   // GRANT ... ON ALL TABLES IN SCHEMA key TO roles
    kRevokeInSchema,  // REVOKE ALL ... ON ALL TABLES IN SCHEMA key FROM roles
    kDefaultGrant,    // ALTER DEFAULT PRIVILEGES [IN SCHEMA key] GRANT ... ON TABLES
    kDefaultRevoke,   // ALTER DEFAULT PRIVILEGES [IN SCHEMA key] REVOKE ALL ... ON TABLES
  };
  Kind kind = Kind::kCreateTable;
  size_t statement = 0;
  std::string key;      // "schema.name"; a bare schema for kDropSchema, k*InSchema, kDefault*
                        // (empty for default privileges in every schema)
  std::string new_key;  // kMove
  std::string display;  // the relation as written, for messages
  std::vector<std::string> roles;  // grantees; "PUBLIC" for PUBLIC
  bool security_invoker = false;   // kDefineView
};

struct FileCheck {
  std::vector<StatementFinding> findings;
  std::vector<RelationEvent> events;  // in statement order
};

// Runs the statement rules over one file that parsed. `trees[i]` is the
// statement node of `statements[i]` (e.g. {"DropStmt": {...}}) from
// libpg_query's JSON, or null when that statement could not be parsed alone.
FileCheck CheckFile(const MigrationFile& file, const std::vector<Statement>& statements,
                    const std::vector<nlohmann::json>& trees, const LintOptions& options);

}  // namespace freshet::lint_internal
