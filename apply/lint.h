// `freshet migrate lint`: checks a directory of Supabase-style migrations
// (`YYYYMMDDHHMMSS_description.sql`) before they are merged: file names,
// syntax (PostgreSQL 15's own parser, via libpg_query), statements that lose
// data, break deployed code or lock busy tables, and the state the whole
// directory leaves behind (a table's row level security and grants are judged
// after the last file). Pure: the only input is the MigrationSet already read
// from disk.
//
// A comment `-- freshet:ignore RULE_ID[, RULE_ID...]` directly above a
// statement silences those rules for that statement only. Per-rule severities
// come from freshet.toml ([lint.rules]); `off` drops the rule's findings.
// Profiles ([lint] profiles) turn on families of opt-in rules.
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

// An opt-in family of rules: naming it in [lint] profiles sets `rule` to
// `severity` unless [lint.rules] sets that rule itself.
struct LintProfile {
  std::string name;  // "idempotent", "additive-only"
  std::string rule;  // the rule id it turns on
  Severity severity;
  std::string summary;
};

const std::vector<LintProfile>& LintProfiles();

struct LintOptions {
  // Per-rule override (from freshet.toml); `kOff` removes the rule's findings.
  // Overrides of `syntax-error` are ignored: a file that does not parse is
  // always an error.
  std::map<std::string, Severity> severity;
  // Schemas exposed through the Data API (PostgREST), for `rls-not-enabled`,
  // `missing-grants`, `security-definer-view` and `drop-view`. Unqualified
  // names count as `public`.
  std::vector<std::string> api_schemas{"public"};
  // Profile names (LintProfiles()); Lint throws Error(kUsage) for an unknown one.
  std::vector<std::string> profiles{};
  // Roles every new API table must be granted to (`missing-grants`, which
  // is a warning when this is set and does nothing when it is empty).
  std::vector<std::string> grant_roles{};
};

// The severity `rule` gets under `options`: its default, raised by a profile
// or by grant_roles, then the explicit [lint.rules] override.
Severity EffectiveSeverity(const std::string& rule, const LintOptions& options);

// All problems of every file, sorted by file, line, column. A file with a
// syntax error gets one `syntax-error` finding; the other files are still
// checked. Throws Error(kUsage) for an unknown profile.
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
