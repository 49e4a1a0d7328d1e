// The driver of `freshet migrate lint`: naming problems, syntax, the
// statement rules of each file (lint_rules.cc), the end-state rules over all
// files (lint_end_state.cc), ignore directives and severities. The catalogue
// of rules is in lint_catalog.cc, the renderings in lint_render.cc.
#include "apply/lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "apply/lint_end_state.h"
#include "apply/lint_rules.h"
#include "apply/sql_statements.h"
#include "copy/error.h"

namespace freshet {

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
  explicit FindingSink(const LintOptions& options) {
    for (const auto& rule : LintRules()) severities_[rule.id] = EffectiveSeverity(rule.id, options);
  }

  void Add(const std::string& file, int line, int column, const std::string& rule,
           std::string message) {
    auto found = severities_.find(rule);
    Severity severity = found == severities_.end() ? Severity::kError : found->second;
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
  std::map<std::string, Severity> severities_;
  std::vector<Finding> findings_;
};

std::string PathOf(const MigrationSet& set, const std::string& filename) {
  if (set.dir.empty()) return filename;
  return (std::filesystem::path(set.dir) / filename).string();
}

// One file as the statement rules saw it, kept for the end-state rules.
struct LintedFile {
  const MigrationFile* file = nullptr;
  std::vector<Statement> statements;
  std::vector<std::set<std::string>> ignored;  // per statement
  std::vector<lint_internal::RelationEvent> events;
};

void Report(const LintedFile& linted, size_t statement, const std::string& rule,
            std::string message, FindingSink& sink) {
  if (linted.ignored[statement].count(rule)) return;
  const Statement& at = linted.statements[statement];
  sink.Add(linted.file->path, at.line, at.column, rule, std::move(message));
}

LintedFile LintFile(const MigrationFile& file, const LintOptions& options, FindingSink& sink) {
  LintedFile linted{&file, {}, {}, {}};
  SplitResult split = SplitStatements(file.content);
  if (split.error) {
    sink.Add(file.path, split.error->line, split.error->column, "syntax-error",
             fmt::format("{}; PostgreSQL rejects the whole file, so none of it can be applied "
                         "until the SQL is fixed",
                         split.error->message));
    return linted;
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
    linted.ignored.push_back(IgnoredRules(statement.leading_comments));
  }
  lint_internal::FileCheck check = lint_internal::CheckFile(file, split.statements, trees, options);
  linted.statements = std::move(split.statements);
  linted.events = std::move(check.events);
  for (auto& finding : check.findings)
    Report(linted, finding.statement, finding.rule, std::move(finding.message), sink);
  return linted;
}

void CheckProfileNames(const LintOptions& options) {
  for (const auto& name : options.profiles) {
    const auto& known = LintProfiles();
    if (std::any_of(known.begin(), known.end(),
                    [&](const LintProfile& profile) { return profile.name == name; }))
      continue;
    std::vector<std::string> names;
    for (const auto& profile : known) names.push_back(profile.name);
    throw Error(ErrorKind::kUsage, fmt::format("unknown lint profile '{}' in [lint] profiles: "
                                               "use {}",
                                               name, fmt::join(names, " or ")));
  }
}

}  // namespace

std::vector<Finding> Lint(const MigrationSet& set, const LintOptions& options) {
  CheckProfileNames(options);
  FindingSink sink(options);
  for (const auto& problem : set.problems)
    sink.Add(PathOf(set, problem.file), 1, 1, problem.rule, problem.message);
  std::vector<LintedFile> linted;
  for (const auto& file : set.files) linted.push_back(LintFile(file, options, sink));
  // Badly named files are never applied, but what they hold is checked all
  // the same; they do not count towards the end state.
  for (const auto& file : set.rejected) LintFile(file, options, sink);
  std::vector<std::vector<lint_internal::RelationEvent>> events;
  for (const auto& each : linted) events.push_back(each.events);
  for (auto& finding : lint_internal::CheckEndState(events, options))
    Report(linted[finding.file], finding.statement, finding.rule, std::move(finding.message), sink);
  return sink.Take();
}

}  // namespace freshet
