// How an incremental run is shown: the report's text, JSON and Markdown
// (mode, why, what the merge did, bytes moved and compared), and the
// incremental part of `freshet plan`. Full runs keep their own rendering.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "sync/engine/incremental_describe.h"
#include "sync/engine/plan.h"
#include "sync/engine/report.h"

namespace freshet {
namespace {

TableReport Merged(const std::string& name, const std::string& mode, const std::string& reason,
                   uint64_t inserted, uint64_t updated, uint64_t deleted, uint64_t unchanged) {
  TableReport table;
  table.table = name;
  table.mode = mode;
  table.mode_reason = reason;
  table.inserted = inserted;
  table.updated = updated;
  table.deleted = deleted;
  table.unchanged = unchanged;
  table.format = "binary";
  table.route = "direct";
  return table;
}

// public.deals by watermark, public.activities by diff.
RunReport IncrementalReport() {
  RunReport report;
  report.command = "sync";
  report.source = "app@prod:5432/app";
  report.target = "dev@localhost/app";
  report.seconds = 2.5;
  report.incremental = true;
  report.tables.push_back(
      Merged("public.deals", "watermark", "watermark updated_at (configured)", 12, 1'500, 3, 0));
  report.tables.back().rows = 1'512;
  report.tables.back().bytes = 300'000;
  report.tables.back().compared_bytes = 60'000;
  report.tables.back().seconds = 0.4;
  report.tables.push_back(
      Merged("public.activities", "diff", "no watermark column", 0, 20, 7, 2'999'973));
  report.tables.back().rows = 20;
  report.tables.back().bytes = 4'000;
  report.tables.back().compared_bytes = 72'000'000;
  report.tables.back().seconds = 1.9;
  return report;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(IncrementalReportText, ShowsModeMergeCountsBytesAndWhyPerTable) {
  std::vector<std::string> lines = Lines(RenderText(IncrementalReport()));
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "freshet sync (incremental): app@prod:5432/app -> dev@localhost/app");
  EXPECT_EQ(lines[1],
            "table              mode       inserted  updated  deleted  unchanged   MB  compared MB"
            "  seconds  why");
  EXPECT_EQ(lines[2],
            "public.deals       watermark        12    1,500        3          0  0.3          0.1"
            "      0.4  watermark updated_at (configured)");
  EXPECT_EQ(lines[3],
            "public.activities  diff              0       20        7  2,999,973  0.0         72.0"
            "      1.9  no watermark column");
  EXPECT_EQ(lines[4],
            "total: 12 inserted, 1,520 updated, 10 deleted, 2,999,973 unchanged; 1,532 rows, "
            "0.3 MB moved, 72.1 MB compared in 2.5 s");
  EXPECT_EQ(lines.back(), "OK: sync finished in 2.5 s");
}

TEST(IncrementalReportText, AddsVerifyColumnBeforeWhyWhenVerified) {
  RunReport report = IncrementalReport();
  report.verified = true;
  report.tables[0].verification = TableVerification{{1, "5"}, {1, "5"}};
  std::vector<std::string> lines = Lines(RenderText(report));
  EXPECT_NE(lines[1].find("seconds  verify  why"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("0.4  equal   watermark updated_at"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("1.9  -       no watermark column"), std::string::npos) << lines[3];
}

TEST(IncrementalReportJson, CarriesModeWhyMergeCountsAndTotals) {
  nlohmann::json json = RenderJson(IncrementalReport());
  EXPECT_EQ(json["incremental"], true);
  const nlohmann::json& deals = json["tables"][0];
  EXPECT_EQ(deals["mode"], "watermark");
  EXPECT_EQ(deals["mode_reason"], "watermark updated_at (configured)");
  EXPECT_EQ(deals["inserted"], 12);
  EXPECT_EQ(deals["updated"], 1500);
  EXPECT_EQ(deals["deleted"], 3);
  EXPECT_EQ(deals["unchanged"], 0);
  EXPECT_EQ(deals["compared_bytes"], 60'000);
  EXPECT_EQ(deals["bytes"], 300'000);
  EXPECT_EQ(json["tables"][1]["mode"], "diff");
  EXPECT_EQ(json["totals"]["inserted"], 12);
  EXPECT_EQ(json["totals"]["updated"], 1520);
  EXPECT_EQ(json["totals"]["deleted"], 10);
  EXPECT_EQ(json["totals"]["unchanged"], 2'999'973);
  EXPECT_EQ(json["totals"]["compared_bytes"], 72'060'000);
  EXPECT_EQ(json["totals"]["bytes"], 304'000);
}

TEST(IncrementalReportJson, FullRunHasNoIncrementalKeys) {
  RunReport report = IncrementalReport();
  report.incremental = false;
  nlohmann::json json = RenderJson(report);
  EXPECT_FALSE(json.contains("incremental"));
  EXPECT_FALSE(json["tables"][0].contains("mode"));
  EXPECT_FALSE(json["tables"][0].contains("compared_bytes"));
  EXPECT_FALSE(json["totals"].contains("inserted"));
  std::string text = RenderText(report);
  EXPECT_EQ(Lines(text)[0], "freshet sync: app@prod:5432/app -> dev@localhost/app");
  EXPECT_EQ(text.find("watermark"), std::string::npos) << text;
}

TEST(IncrementalReportMarkdown, HasTheIncrementalTableAndTotals) {
  std::string markdown = RenderMarkdown(IncrementalReport());
  std::vector<std::string> lines = Lines(markdown);
  EXPECT_EQ(lines[0], "## freshet sync (incremental)");
  EXPECT_NE(markdown.find("**Total:** 12 inserted, 1,520 updated, 10 deleted, 2,999,973 "
                          "unchanged; 1,532 rows, 0.3 MB moved, 72.1 MB compared in 2.5 s\n"),
            std::string::npos)
      << markdown;
  EXPECT_NE(markdown.find("| table | mode | inserted | updated | deleted | unchanged | MB | "
                          "compared MB | seconds | why |\n"
                          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
                          "| public.deals | watermark | 12 | 1,500 | 3 | 0 | 0.3 | 0.1 | 0.4 | "
                          "watermark updated_at (configured) |\n"),
            std::string::npos)
      << markdown;
}

PlannedTable Planned(const std::string& name, std::optional<TableMode> mode) {
  PlannedTable table;
  table.name = {"public", name};
  table.incremental = std::move(mode);
  return table;
}

TableMode Mode(SyncMode mode, const std::string& reason, const std::string& watermark = "",
               DeletePolicy deletes = DeletePolicy::kPropagate) {
  TableMode chosen;
  chosen.mode = mode;
  chosen.reason = reason;
  chosen.watermark = watermark;
  chosen.deletes = deletes;
  return chosen;
}

TEST(DescribeIncremental, OneAlignedLinePerTableWithModeWatermarkDeletesAndWhy) {
  Plan plan;
  plan.tables.push_back(
      Planned("deals",
              Mode(SyncMode::kWatermark, "configured in [tables.\"public.deals\"]", "updated_at")));
  plan.tables.push_back(Planned(
      "activities", Mode(SyncMode::kDiff, "no watermark column", "", DeletePolicy::kIgnore)));
  plan.tables.push_back(Planned("logs", Mode(SyncMode::kFull, "no primary key")));
  EXPECT_EQ(
      DescribeIncremental(plan),
      "Incremental (3 tables: mode, watermark, deletes, why):\n"
      "  public.deals       watermark  on updated_at  deletes propagate  configured in "
      "[tables.\"public.deals\"]\n"
      "  public.activities  diff                      deletes ignored    no watermark column\n"
      "  public.logs        full                      deletes propagate  no primary key\n");
}

TEST(DescribeIncremental, DropsTheWatermarkColumnWhenNoTableHasOne) {
  Plan plan;
  plan.tables.push_back(
      Planned("logs", Mode(SyncMode::kFull, "first run: no state on the target")));
  plan.tables.push_back(Planned("users", std::nullopt));
  EXPECT_EQ(DescribeIncremental(plan),
            "Incremental (2 tables: mode, watermark, deletes, why):\n"
            "  public.logs   full  deletes propagate  first run: no state on the target\n"
            "  public.users  -                        no mode chosen\n");
}

TEST(DescribeIncremental, IsEmptyAndAbsentFromThePlanForAFullSync) {
  Plan plan;
  plan.tables.push_back(Planned("users", std::nullopt));
  EXPECT_EQ(DescribeIncremental(plan), "");
  EXPECT_EQ(DescribePlan(plan).find("Incremental"), std::string::npos);
}

TEST(DescribeIncremental, AppearsInThePlanAfterTheLoadOrder) {
  Plan plan;
  plan.tables.push_back(Planned("logs", Mode(SyncMode::kFull, "asked for (--full public.logs)")));
  std::string text = DescribePlan(plan);
  size_t order = text.find("Load order (1 tables):");
  size_t incremental = text.find(
      "Incremental (1 tables: mode, watermark, deletes, why):\n"
      "  public.logs  full  deletes propagate  asked for (--full public.logs)\n");
  ASSERT_NE(order, std::string::npos) << text;
  ASSERT_NE(incremental, std::string::npos) << text;
  EXPECT_LT(order, incremental);
}

}  // namespace
}  // namespace freshet
