// The renderings of `freshet migrate lint` findings: text lines with a
// summary, a JSON array, and a pull-request comment in Markdown.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "apply/lint.h"
#include "copy/markdown.h"

namespace freshet {
namespace {

size_t FilesChecked(const MigrationSet& set) {
  std::set<std::string> names;
  for (const auto& file : set.files) names.insert(file.filename);
  for (const auto& file : set.rejected) names.insert(file.filename);
  for (const auto& problem : set.problems) names.insert(problem.file);
  return names.size();
}

std::string Count(size_t n, const char* noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

}  // namespace

bool HasErrors(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& finding) { return finding.severity == Severity::kError; });
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
