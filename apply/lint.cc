// The driver of `freshet migrate lint`: naming problems, syntax, the
// statement rules of lint_rules.cc, ignore directives and severities; and the
// text, JSON and Markdown renderings of the findings.
#include "apply/lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "apply/lint_rules.h"
#include "apply/sql_statements.h"
#include "copy/error.h"

namespace freshet {

const std::vector<LintRule>& LintRules() {
  static const std::vector<LintRule> kRules = {
      {"migration-name", Severity::kError,
       "A .sql file not named YYYYMMDDHHMMSS_description.sql (valid UTC timestamp, lowercase "
       "a-z0-9_ description) is skipped by the applier; rename it."},
      {"duplicate-version", Severity::kError,
       "Several files share one version, so their order is undefined and only one can be "
       "recorded; give each migration its own timestamp."},
      {"syntax-error", Severity::kError,
       "The file does not parse with PostgreSQL 15's parser, so it cannot be applied; fix the "
       "SQL. Always an error (severity overrides are ignored)."},
      {"drop-table", Severity::kError,
       "DROP TABLE deletes the table and its data irreversibly and breaks code still using it; "
       "stop using the table in code first, then drop it in a later migration."},
      {"drop-schema", Severity::kError,
       "DROP SCHEMA deletes a schema (with CASCADE, everything in it); drop its objects "
       "explicitly once nothing uses them."},
      {"drop-database", Severity::kError,
       "DROP DATABASE deletes a whole database and cannot run in a migration's transaction; do "
       "it by hand."},
      {"cascade", Severity::kError,
       "CASCADE (DROP, TRUNCATE, ALTER TABLE DROP COLUMN/CONSTRAINT) silently drops or empties "
       "dependent objects; name them explicitly instead."},
      {"truncate", Severity::kError,
       "TRUNCATE deletes every row at once; delete only the rows that must go, or back up "
       "first."},
      {"delete-without-where", Severity::kError,
       "DELETE without WHERE deletes every row of an existing table; add a WHERE clause."},
      {"update-without-where", Severity::kError,
       "UPDATE without WHERE rewrites and locks every row of an existing table; add a WHERE "
       "clause and backfill large tables in batches."},
      {"drop-column", Severity::kError,
       "DROP COLUMN removes data and breaks code still reading the column; deploy code that "
       "stops using it first, then drop it in a later migration."},
      {"alter-column-type", Severity::kWarning,
       "ALTER COLUMN ... TYPE usually rewrites the table under an ACCESS EXCLUSIVE lock and can "
       "break clients; add a new column, backfill, switch over."},
      {"set-not-null", Severity::kWarning,
       "SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock; add a CHECK (col IS NOT "
       "NULL) NOT VALID constraint, validate it later, then SET NOT NULL."},
      {"add-column-not-null-without-default", Severity::kError,
       "ADD COLUMN ... NOT NULL without DEFAULT fails on a table with rows and breaks inserts "
       "of deployed code; add a DEFAULT or backfill a nullable column first. Tables created "
       "earlier in the same file are exempt."},
      {"constraint-not-valid", Severity::kWarning,
       "Adding a FOREIGN KEY or CHECK constraint to an existing table validates every row "
       "under a write-blocking lock; add it NOT VALID and VALIDATE CONSTRAINT in a later "
       "migration."},
      {"create-index-not-concurrently", Severity::kWarning,
       "CREATE INDEX without CONCURRENTLY on an existing table blocks writes for the whole "
       "build; use CREATE INDEX CONCURRENTLY in a `-- freshet:no-transaction` file."},
      {"concurrently-in-transaction", Severity::kError,
       "CREATE/DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY fail inside the transaction "
       "freshet wraps each file in; start the file with `-- freshet:no-transaction`."},
      {"no-transaction-single-statement", Severity::kError,
       "A `-- freshet:no-transaction` file with several statements can be left half applied; "
       "keep one statement per no-transaction file."},
      {"rename", Severity::kWarning,
       "Renaming a table or column breaks deployed code and API clients at once; add the new "
       "name alongside, migrate code, then remove the old name later."},
      {"transaction-control", Severity::kError,
       "BEGIN/COMMIT/ROLLBACK/SAVEPOINT inside a file break the transaction freshet wraps each "
       "file in; remove them."},
      {"missing-lock-timeout", Severity::kWarning,
       "A statement that takes a strong lock on an existing table (ALTER TABLE, CREATE INDEX, "
       "DROP TABLE, TRUNCATE, VACUUM FULL, CLUSTER, REINDEX, CREATE TRIGGER) without an "
       "earlier `SET lock_timeout` in the file can queue all traffic behind it; set one."},
      {"rls-not-enabled", Severity::kWarning,
       "A table created in an API schema (default: public) without ENABLE ROW LEVEL SECURITY "
       "later in the same file is readable and writable through the Data API with the anon "
       "key; enable RLS and add policies."},
  };
  return kRules;
}

Severity ParseSeverity(const std::string& text) {
  if (text == "error") return Severity::kError;
  if (text == "warning") return Severity::kWarning;
  if (text == "off") return Severity::kOff;
  throw Error(ErrorKind::kUsage,
              fmt::format("unknown lint severity '{}': use error, warning or off", text));
}

std::string SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kOff:
      return "off";
  }
  return "off";
}

bool HasErrors(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& finding) { return finding.severity == Severity::kError; });
}

namespace {

bool IsRuleChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// Rule ids named by `freshet:ignore` directives in `comments`: ids separated
// by spaces or commas, up to the end of the line or the first other word.
std::set<std::string> IgnoredRules(const std::string& comments) {
  static constexpr std::string_view kDirective = "freshet:ignore";
  std::set<std::string> rules;
  size_t at = 0;
  while ((at = comments.find(kDirective, at)) != std::string::npos) {
    at += kDirective.size();
    if (at < comments.size() && comments[at] != ' ' && comments[at] != '\t') continue;
    while (at < comments.size() && comments[at] != '\n') {
      char c = comments[at];
      if (c == ' ' || c == '\t' || c == ',' || c == '\r') {
        ++at;
        continue;
      }
      size_t end = at;
      while (end < comments.size() && IsRuleChar(comments[end])) ++end;
      bool word_ends = end == comments.size() ||
                       std::string_view(" \t,\r\n").find(comments[end]) != std::string_view::npos;
      if (end == at || !word_ends || !(c >= 'a' && c <= 'z')) break;  // not a rule id
      rules.insert(comments.substr(at, end - at));
      at = end;
    }
  }
  return rules;
}

class FindingSink {
 public:
  explicit FindingSink(const LintOptions& options) : options_(options) {
    for (const auto& rule : LintRules()) defaults_[rule.id] = rule.default_severity;
  }

  void Add(const std::string& file, int line, int column, const std::string& rule,
           std::string message) {
    Severity severity = Severity::kError;
    auto found = defaults_.find(rule);
    if (found != defaults_.end()) severity = found->second;
    auto configured = options_.severity.find(rule);
    if (configured != options_.severity.end() && rule != "syntax-error")
      severity = configured->second;
    if (severity == Severity::kOff) return;
    findings_.push_back({file, line, column, rule, severity, std::move(message)});
  }

  std::vector<Finding> Take() {
    std::stable_sort(findings_.begin(), findings_.end(), [](const Finding& a, const Finding& b) {
      return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
    });
    return std::move(findings_);
  }

 private:
  const LintOptions& options_;
  std::map<std::string, Severity> defaults_;
  std::vector<Finding> findings_;
};

std::string PathOf(const MigrationSet& set, const std::string& filename) {
  if (set.dir.empty()) return filename;
  return (std::filesystem::path(set.dir) / filename).string();
}

void LintFile(const MigrationFile& file, const LintOptions& options, FindingSink& sink) {
  SplitResult split = SplitStatements(file.content);
  if (split.error) {
    sink.Add(file.path, split.error->line, split.error->column, "syntax-error",
             fmt::format("{}; PostgreSQL rejects the whole file, so none of it can be applied "
                         "until the SQL is fixed",
                         split.error->message));
    return;
  }
  std::vector<nlohmann::json> trees;
  for (const auto& statement : split.statements) {
    nlohmann::json tree;
    try {
      nlohmann::json parsed = nlohmann::json::parse(ParseToJson(statement.text));
      if (parsed.contains("stmts") && !parsed["stmts"].empty())
        tree = parsed["stmts"][0].value("stmt", nlohmann::json());
    } catch (const std::exception& error) {
      sink.Add(file.path, statement.line, statement.column, "syntax-error",
               fmt::format("{}; this statement does not parse on its own", error.what()));
    }
    trees.push_back(std::move(tree));
  }
  std::vector<std::set<std::string>> ignored;
  for (const auto& statement : split.statements)
    ignored.push_back(IgnoredRules(statement.leading_comments));
  for (auto& finding : lint_internal::CheckFile(file, split.statements, trees, options)) {
    if (ignored[finding.statement].count(finding.rule)) continue;
    const Statement& statement = split.statements[finding.statement];
    sink.Add(file.path, statement.line, statement.column, finding.rule, std::move(finding.message));
  }
}

size_t FilesChecked(const MigrationSet& set) {
  std::set<std::string> names;
  for (const auto& file : set.files) names.insert(file.filename);
  for (const auto& problem : set.problems) names.insert(problem.file);
  return names.size();
}

std::string Count(size_t n, const char* noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

std::string MarkdownCell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

}  // namespace

std::vector<Finding> Lint(const MigrationSet& set, const LintOptions& options) {
  FindingSink sink(options);
  for (const auto& problem : set.problems)
    sink.Add(PathOf(set, problem.file), 1, 1, problem.rule, problem.message);
  for (const auto& file : set.files) LintFile(file, options, sink);
  return sink.Take();
}

std::string RenderLintText(const std::vector<Finding>& findings, const MigrationSet& set) {
  std::string out;
  size_t errors = 0;
  for (const auto& finding : findings) {
    if (finding.severity == Severity::kError) ++errors;
    out += fmt::format("{}:{}:{}: {}[{}]: {}\n", finding.file, finding.line, finding.column,
                       SeverityName(finding.severity), finding.rule, finding.message);
  }
  std::string checked = Count(FilesChecked(set), "migration file") + " checked";
  if (findings.empty())
    out += checked + ": no problems found\n";
  else
    out += fmt::format("{}: {}, {}\n", checked, Count(errors, "error"),
                       Count(findings.size() - errors, "warning"));
  return out;
}

std::string RenderLintJson(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& finding : findings)
    out.push_back({{"file", finding.file},
                   {"line", finding.line},
                   {"column", finding.column},
                   {"rule", finding.rule},
                   {"severity", SeverityName(finding.severity)},
                   {"message", finding.message}});
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RenderLintMarkdown(const std::vector<Finding>& findings, const MigrationSet& set) {
  size_t errors = 0;
  for (const auto& finding : findings) errors += finding.severity == Severity::kError ? 1 : 0;
  std::string out = "## freshet migrate lint\n\n";
  out += fmt::format("Checked {} in `{}`", Count(FilesChecked(set), "migration file"),
                     MarkdownCell(set.dir));
  if (findings.empty()) return out + ".\n\n✅ No problems found.\n";
  out += fmt::format(": **{}**, **{}**.\n\n", Count(errors, "error"),
                     Count(findings.size() - errors, "warning"));
  out += "| Severity | Location | Rule | Message |\n| --- | --- | --- | --- |\n";
  for (const auto& finding : findings)
    out += fmt::format("| {} | `{}:{}:{}` | `{}` | {} |\n",
                       finding.severity == Severity::kError ? "❌ error" : "⚠️ warning",
                       MarkdownCell(finding.file), finding.line, finding.column,
                       MarkdownCell(finding.rule), MarkdownCell(finding.message));
  if (errors > 0)
    out +=
        "\nErrors block the merge; a deliberate exception can be marked with a "
        "`-- freshet:ignore RULE` comment above the statement.\n";
  return out;
}

}  // namespace freshet
