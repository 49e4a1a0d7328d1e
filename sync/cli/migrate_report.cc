#include "sync/cli/migrate_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "copy/markdown.h"

namespace freshet {
namespace {

std::string Plural(size_t n, const char* noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

std::string Text(const nlohmann::json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "file:line: message" of an {"error": {...}} object, or a note that the
// command reported nothing.
std::string ErrorLine(const nlohmann::json& output) {
  if (!output.is_object() || !output.contains("error"))
    return "it reported nothing (see the job log)";
  const nlohmann::json& error = output["error"];
  std::string where = Text(error, "file");
  if (!where.empty() && error.contains("line")) where += fmt::format(":{}", error["line"].dump());
  std::string message = MarkdownCell(Text(error, "message"));
  return where.empty() ? message : fmt::format("{}: {}", MarkdownCode(where), message);
}

bool IsError(const nlohmann::json& output) {
  return !output.is_array() && !(output.is_object() && !output.contains("error"));
}

void ChangedFiles(const std::vector<std::string>& changed, std::string& out) {
  out += fmt::format("**Files in this pull request** ({})\n", changed.size());
  if (changed.empty()) out += "\nNo migration files changed.\n";
  for (const auto& file : changed) out += fmt::format("- {}\n", MarkdownCode(file));
  out += "\n";
}

bool Lint(const nlohmann::json& lint, const std::optional<std::vector<std::string>>& changed,
          std::string& out) {
  if (IsError(lint)) {
    out += "### ❌ Lint did not run\n\n" + ErrorLine(lint) + "\n\n";
    return false;
  }
  std::set<std::string> in_pr;
  if (changed)
    for (const auto& file : *changed) in_pr.insert(Basename(file));
  std::map<std::string, std::vector<const nlohmann::json*>> by_rule;
  size_t errors = 0, elsewhere = 0;
  for (const auto& finding : lint) {
    bool error = Text(finding, "severity") == "error";
    errors += error ? 1 : 0;
    if (changed && !error && !in_pr.count(Basename(Text(finding, "file")))) {
      ++elsewhere;  // errors are shown wherever they are: they fail the check
      continue;
    }
    by_rule[Text(finding, "rule")].push_back(&finding);
  }
  out += fmt::format("### {} Lint: {}, {}\n\n", errors ? "❌" : "✅", Plural(errors, "error"),
                     Plural(lint.size() - errors, "warning"));
  for (const auto& [rule, findings] : by_rule) {
    out += fmt::format("**{}** ({})\n", MarkdownCode(rule), findings.size());
    for (const nlohmann::json* finding : findings)
      out += fmt::format(
          "- {} {}: {}\n", Text(*finding, "severity") == "error" ? "❌" : "⚠️",
          MarkdownCode(fmt::format("{}:{}", Text(*finding, "file"), finding->value("line", 0))),
          MarkdownCell(Text(*finding, "message")));
    out += "\n";
  }
  if (elsewhere)
    out += fmt::format(
        "{} in files this pull request does not change (`freshet migrate lint` "
        "lists them).\n\n",
        Plural(elsewhere, "warning"));
  return errors == 0;
}

bool Shadow(const nlohmann::json& shadow, const std::string& merge_target, std::string& out) {
  out += fmt::format("**Will be applied to {} on merge**", merge_target);
  if (IsError(shadow) || !shadow.is_object()) {
    out += ": unknown, the shadow check failed.\n\n### ❌ Shadow\n\n" + ErrorLine(shadow) + "\n\n";
    return false;
  }
  const nlohmann::json& on_merge = shadow.value("on_merge", nlohmann::json::array());
  out += fmt::format(" ({}, in this order)\n", on_merge.size());
  if (on_merge.empty()) out += "\nNothing: no new migrations.\n";
  for (size_t i = 0; i < on_merge.size(); ++i)
    out += fmt::format("{}. {}\n", i + 1, MarkdownCode(on_merge[i].get<std::string>()));
  const nlohmann::json& drift = shadow.value("drift", nlohmann::json::array());
  size_t applied = shadow.value("applied", nlohmann::json::array()).size();
  out += fmt::format("\n### {} Shadow\n\n", drift.empty() ? "✅" : "❌");
  out += fmt::format(
      "{} applied to an empty database; the new ones applied on top of what the base branch "
      "builds; ",
      Plural(applied, "migration"));
  if (drift.empty()) {
    out += "both give the same schema.\n\n";
    return true;
  }
  out += fmt::format("the schemas differ in {}:\n\n", Plural(drift.size(), "place"));
  out += "| Object | Change | Detail |\n| --- | --- | --- |\n";
  for (const auto& item : drift)
    out += fmt::format("| {} {} | {} | {} |\n", MarkdownCell(Text(item, "kind")),
                       MarkdownCode(Text(item, "object")), MarkdownCell(Text(item, "change")),
                       MarkdownCell(Text(item, "detail")));
  out += "\n";
  return false;
}

// What `up` applied, one row per file with its seconds.
void AppliedTable(const nlohmann::json& applied, const nlohmann::json& seconds, std::string& out) {
  out += "| Migration | Seconds |\n| --- | ---: |\n";
  for (size_t i = 0; i < applied.size(); ++i)
    out += fmt::format(
        "| {} | {} |\n", MarkdownCode(applied[i].get<std::string>()),
        i < seconds.size() ? fmt::format("{:.2f}", seconds[i].get<double>()) : std::string("-"));
  out += "\n";
}

bool Up(const std::string& name, const nlohmann::json& up, std::string& out) {
  const nlohmann::json none = nlohmann::json::array();
  const nlohmann::json& applied = up.is_object() ? up.value("applied", none) : none;
  const nlohmann::json& seconds = up.is_object() ? up.value("seconds", none) : none;
  if (IsError(up) || !up.is_object()) {
    out += fmt::format("### ❌ {}: migrate up failed\n\n{}\n\n", MarkdownCell(name), ErrorLine(up));
    if (applied.empty()) return false;
    out += fmt::format("Applied and committed before the failure ({}):\n\n",
                       Plural(applied.size(), "migration"));
    AppliedTable(applied, seconds, out);
    return false;
  }
  double total = 0;
  for (const auto& s : seconds) total += s.get<double>();
  // The environment's name, not the database's host: job summaries of public
  // repositories are public.
  out += fmt::format("### ✅ {}: {}", MarkdownCell(name),
                     applied.empty() ? "up to date, nothing applied\n\n"
                                     : fmt::format("{} applied in {:.1f} s\n\n",
                                                   Plural(applied.size(), "migration"), total));
  if (!applied.empty()) AppliedTable(applied, seconds, out);
  return true;
}

}  // namespace

MigrationReport RenderMigrationReport(const MigrationReportInputs& inputs) {
  MigrationReport report;
  std::string body;
  if (inputs.changed) ChangedFiles(*inputs.changed, body);
  if (inputs.shadow) report.passed &= Shadow(*inputs.shadow, inputs.merge_target, body);
  if (inputs.lint) report.passed &= Lint(*inputs.lint, inputs.changed, body);
  for (const auto& [name, up] : inputs.ups) report.passed &= Up(name, up, body);
  report.markdown =
      fmt::format("## {} {}\n\n", report.passed ? "✅" : "❌", MarkdownCell(inputs.title)) + body +
      (report.passed ? "**Result: passed.**\n" : "**Result: failed.**\n");
  return report;
}

}  // namespace freshet
