// `freshet migrate report`: one Markdown text from the JSON that `migrate
// lint`, `migrate shadow --base-dir` and `migrate up` print with --format
// json, in the shape a pull-request comment or a CI job summary takes: the
// files of the pull request, lint findings by rule with file and line, what
// will be applied on merge, the shadow result, what each deploy applied with
// durations, and one pass/fail line. Pure: takes parsed inputs, returns text.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace freshet {

struct MigrationReportInputs {
  std::string title = "freshet: migrations";
  // Each: the command's --format json output; null when the command printed
  // nothing parseable (it failed before reporting), unset when not asked for.
  std::optional<nlohmann::json> lint;
  std::optional<nlohmann::json> shadow;
  std::vector<std::pair<std::string, nlohmann::json>> ups;  // environment -> up's output
  std::optional<std::vector<std::string>> changed;          // files in the pull request
  std::string merge_target = "production";                  // "will be applied to ... on merge"
};

struct MigrationReport {
  std::string markdown;
  bool passed = true;  // no lint error, shadow ran clean, every up succeeded
};

MigrationReport RenderMigrationReport(const MigrationReportInputs& inputs);

}  // namespace freshet
