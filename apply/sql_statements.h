// Splits a migration file into statements with the real PostgreSQL parser
// (libpg_query), so dollar-quoted bodies, comments, BEGIN ATOMIC function
// bodies and semicolons inside strings are handled exactly as the server
// would. Pure; thread-safe (libpg_query keeps per-thread parser state).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace freshet {

struct Statement {
  std::string text;   // the statement without its terminating semicolon, trimmed
  size_t offset = 0;  // byte offset of the statement's first character in the file
  int line = 1;       // 1-based line of that character
  int column = 1;     // 1-based column (in bytes) of that character
  // Comments between the previous statement and this one (where
  // `-- freshet:ignore RULE` directives live), verbatim.
  std::string leading_comments;
};

struct SqlSyntaxError {
  std::string message;  // the parser's message, e.g. `syntax error at or near "TABLEE"`
  size_t offset = 0;    // byte offset of the error in the file
  int line = 1;         // 1-based
  int column = 1;       // 1-based
};

struct SplitResult {
  std::vector<Statement> statements;    // empty when there is a syntax error
  std::optional<SqlSyntaxError> error;  // the first syntax error, if any
};

SplitResult SplitStatements(const std::string& sql);

// The parse tree of one statement as libpg_query's JSON ({"version":...,
// "stmts":[{"stmt":{"CreateStmt":{...}}, ...}]}); throws Error on a syntax error.
std::string ParseToJson(const std::string& statement);

// True when `statement` is one PostgreSQL refuses inside a transaction block
// (CREATE/DROP INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY, VACUUM,
// CREATE/DROP DATABASE, ALTER SYSTEM, CREATE/DROP TABLESPACE). A migration
// file holding only such a statement runs outside a transaction, as Prisma
// and the Supabase CLI run it.
bool MustRunOutsideTransaction(const std::string& statement);

// 1-based line and column of byte `offset` in `text`.
void LineAndColumn(const std::string& text, size_t offset, int* line, int* column);

}  // namespace freshet
