// `freshet migrate lint`: checks a directory of Supabase-style migrations
// (`YYYYMMDDHHMMSS_description.sql`) before they are merged: file names,
// syntax (PostgreSQL 15's own parser, via libpg_query) and statements that
// lose data, break deployed code or lock busy tables. Pure: the only input is
// the MigrationSet already read from disk.
//
// A comment `-- freshet:ignore RULE_ID[, RULE_ID...]` directly above a
// statement silences those rules for that statement only. Per-rule severities
// come from freshet.toml ([lint.rules]); `off` drops the rule's findings.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "apply/migration_set.h"

namespace freshet {

enum class Severity { kError, kWarning, kOff };

struct Finding {
  std::string file;  // path of the migration file (the directory joined with its name)
  int line = 1;      // 1-based, of the statement's first character
  int column = 1;    // 1-based, in bytes
  std::string rule;  // a LintRule id, e.g. "drop-column"
  Severity severity = Severity::kError;
  std::string message;  // a full sentence: the risk and the safer way
};

struct LintRule {
  std::string id;
  Severity default_severity;
  std::string summary;  // what the rule catches, the risk and the safer way
};

// Every rule, in a stable documented order.
const std::vector<LintRule>& LintRules();

struct LintOptions {
  // Per-rule override (from freshet.toml); `kOff` removes the rule's findings.
  // Overrides of `syntax-error` are ignored: a file that does not parse is
  // always an error.
  std::map<std::string, Severity> severity;
  // Schemas exposed through the Data API (PostgREST), for `rls-not-enabled`.
  // Unqualified table names count as `public`.
  std::vector<std::string> api_schemas{"public"};
};

// All problems of every file, sorted by file, line, column. A file with a
// syntax error gets one `syntax-error` finding; the other files are still
// checked.
std::vector<Finding> Lint(const MigrationSet& set, const LintOptions& options);

// True when any finding has severity kError.
bool HasErrors(const std::vector<Finding>& findings);

// `file:line:col: error[rule]: message` lines and a summary line.
std::string RenderLintText(const std::vector<Finding>& findings, const MigrationSet& set);

// A JSON array of {file, line, column, rule, severity, message}.
std::string RenderLintJson(const std::vector<Finding>& findings);

// A pull-request comment: heading, files checked, counts by severity and a
// table of findings ("No problems found" when there are none).
std::string RenderLintMarkdown(const std::vector<Finding>& findings, const MigrationSet& set);

// "error", "warning" or "off"; throws Error(kUsage) for anything else.
Severity ParseSeverity(const std::string& text);

// "error", "warning" or "off".
std::string SeverityName(Severity severity);

}  // namespace freshet
