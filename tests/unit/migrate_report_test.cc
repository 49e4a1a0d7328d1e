#include "sync/cli/migrate_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace freshet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

json Finding(const std::string& file, int line, const std::string& rule,
             const std::string& severity, const std::string& message) {
  return {{"file", file}, {"line", line},         {"column", 1},
          {"rule", rule}, {"severity", severity}, {"message", message}};
}

MigrationReportInputs PullRequest() {
  MigrationReportInputs inputs;
  inputs.changed = std::vector<std::string>{"supabase/migrations/20261201000000_add_priority.sql"};
  inputs.lint =
      json::array({Finding("20261201000000_add_priority.sql", 2, "create-index-not-concurrently",
                           "warning", "use | CONCURRENTLY"),
                   Finding("20250101000000_init.sql", 9, "add-column-volatile-default", "warning",
                           "old file")});
  inputs.shadow = json{{"applied", {"20250101000000_init.sql", "20261201000000_add_priority.sql"}},
                       {"base_applied", {"20250101000000_init.sql"}},
                       {"on_merge", {"20261201000000_add_priority.sql"}},
                       {"drift", json::array()}};
  return inputs;
}

TEST(MigrationReport, APassingPullRequestListsFilesWarningsByRuleAndWhatMergeApplies) {
  MigrationReport report = RenderMigrationReport(PullRequest());
  EXPECT_TRUE(report.passed);
  const std::string& md = report.markdown;
  EXPECT_THAT(md, HasSubstr("## ✅ freshet: migrations\n"));
  EXPECT_THAT(md, HasSubstr("**Files in this pull request** (1)\n- "
                            "`supabase/migrations/20261201000000_add_priority.sql`\n"));
  EXPECT_THAT(md, HasSubstr("**Will be applied to production on merge** (1, in this order)\n1. "
                            "`20261201000000_add_priority.sql`\n"));
  EXPECT_THAT(md, HasSubstr("**`create-index-not-concurrently`** (1)\n- ⚠️ "
                            "`20261201000000_add_priority.sql:2`: use \\| CONCURRENTLY\n"));
  // A warning in a file the pull request does not touch is counted, not listed.
  EXPECT_THAT(md, Not(HasSubstr("old file")));
  EXPECT_THAT(md, HasSubstr("1 warning in files this pull request does not change"));
  EXPECT_THAT(md, HasSubstr("both give the same schema"));
  EXPECT_THAT(md, HasSubstr("**Result: passed.**"));
}

TEST(MigrationReport, ALintErrorAnywhereFailsAndIsListed) {
  MigrationReportInputs inputs = PullRequest();
  inputs.lint->push_back(
      Finding("20250101000000_init.sql", 4, "naming", "error", "bad name in an old file"));
  MigrationReport report = RenderMigrationReport(inputs);
  EXPECT_FALSE(report.passed);
  EXPECT_THAT(report.markdown, HasSubstr("## ❌ freshet: migrations"));
  EXPECT_THAT(report.markdown, HasSubstr("### ❌ Lint: 1 error, 2 warnings"));
  EXPECT_THAT(report.markdown, HasSubstr("❌ `20250101000000_init.sql:4`: bad name in an old file"));
  EXPECT_THAT(report.markdown, HasSubstr("**Result: failed.**"));
}

TEST(MigrationReport, DriftAndAFailedShadowFail) {
  MigrationReportInputs inputs = PullRequest();
  (*inputs.shadow)["drift"] = json::array({{{"kind", "column"},
                                            {"object", "public.deals.priority"},
                                            {"change", "only in shadow"},
                                            {"detail", "integer"}}});
  MigrationReport drift = RenderMigrationReport(inputs);
  EXPECT_FALSE(drift.passed);
  EXPECT_THAT(drift.markdown, HasSubstr("the schemas differ in 1 place"));
  EXPECT_THAT(drift.markdown,
              HasSubstr("| column `public.deals.priority` | only in shadow | integer |"));

  inputs.shadow = json{{"error",
                        {{"kind", "runtime"},
                         {"message", "relation \"deals\" does not exist"},
                         {"file", "20261201000000_add_priority.sql"},
                         {"line", 1}}}};
  MigrationReport failed = RenderMigrationReport(inputs);
  EXPECT_FALSE(failed.passed);
  EXPECT_THAT(failed.markdown, HasSubstr("on merge**: unknown, the shadow check failed"));
  EXPECT_THAT(failed.markdown, HasSubstr("`20261201000000_add_priority.sql:1`: relation \"deals\" "
                                         "does not exist"));

  inputs.shadow = json();  // the command printed nothing parseable
  EXPECT_THAT(RenderMigrationReport(inputs).markdown, HasSubstr("it reported nothing"));
}

TEST(MigrationReport, DeploySummaryListsWhatEachEnvironmentAppliedWithDurations) {
  MigrationReportInputs inputs;
  inputs.title = "freshet: deploy";
  inputs.ups = {{"staging",
                 {{"applied", {"20261201000000_add_priority.sql", "20261202000000_b.sql"}},
                  {"seconds", {0.25, 1.5}},
                  {"database", "deploy@staging.internal:5432/app"}}},
                {"production", {{"applied", json::array()}, {"seconds", json::array()}}}};
  MigrationReport report = RenderMigrationReport(inputs);
  EXPECT_TRUE(report.passed);
  EXPECT_THAT(report.markdown, HasSubstr("### ✅ staging: 2 migrations applied in 1.8 s"));
  EXPECT_THAT(report.markdown, Not(HasSubstr("staging.internal")));
  EXPECT_THAT(report.markdown, HasSubstr("| `20261202000000_b.sql` | 1.50 |"));
  EXPECT_THAT(report.markdown, HasSubstr("### ✅ production: up to date, nothing applied"));

  inputs.ups.push_back({"preview",
                        {{"error", {{"message", "lock timeout"}}},
                         {"applied", {"20261201000000_add_priority.sql"}},
                         {"seconds", {0.5}}}});
  MigrationReport failed = RenderMigrationReport(inputs);
  EXPECT_FALSE(failed.passed);
  EXPECT_THAT(failed.markdown, HasSubstr("### ❌ preview: migrate up failed\n\nlock timeout"));
  EXPECT_THAT(failed.markdown, HasSubstr("Applied and committed before the failure (1 "
                                         "migration):\n\n| Migration | Seconds |\n| --- | ---: "
                                         "|\n| `20261201000000_add_priority.sql` | 0.50 |"));
}

}  // namespace
}  // namespace freshet
