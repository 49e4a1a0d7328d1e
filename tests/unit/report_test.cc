#include "sync/engine/report.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "copy/error.h"

namespace freshet {
namespace {

TableReport Table(const std::string& name, uint64_t rows, uint64_t bytes, double seconds) {
  TableReport table;
  table.table = name;
  table.rows = rows;
  table.bytes = bytes;
  table.seconds = seconds;
  table.format = "binary";
  table.route = "direct";
  return table;
}

TableVerification Verification(uint64_t source_rows, uint64_t target_rows) {
  return TableVerification{{source_rows, "12345"}, {target_rows, "12345"}};
}

// Two tables copied and verified: public.users equal, public.deals differs.
RunReport VerifiedReport() {
  RunReport report;
  report.command = "sync";
  report.source = "app@prod:5432/app";
  report.target = "dev@localhost/app";
  report.started_at = "2026-01-02T03:04:05Z";
  report.seconds = 4;
  report.verified = true;
  report.tables.push_back(Table("public.users", 1000, 2'000'000, 1));
  report.tables.back().verification = Verification(1000, 1000);
  report.tables.push_back(Table("public.deals", 234, 6'000'000, 3));
  report.tables.back().verification = Verification(234, 233);
  report.tables.back().deferred_constraints = {"deals_owner_fkey"};
  report.deferred_constraints = {"public.deals.deals_owner_fkey (cycle)"};
  return report;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string FindLine(const std::string& text, const std::string& needle) {
  for (const std::string& line : Lines(text))
    if (line.find(needle) != std::string::npos) return line;
  return {};
}

TEST(RunReport, TotalsSumOverTables) {
  RunReport report = VerifiedReport();
  EXPECT_EQ(report.TotalRows(), 1234u);
  EXPECT_EQ(report.TotalBytes(), 8'000'000u);
}

TEST(RunReport, MismatchedListsOnlyTablesWhoseVerificationDiffers) {
  RunReport report = VerifiedReport();
  report.tables.push_back(Table("public.unverified", 1, 1, 1));
  EXPECT_EQ(report.Mismatched(), std::vector<std::string>{"public.deals"});
}

TEST(RenderJson, HasTotalsAndMismatchedTables) {
  nlohmann::json json = RenderJson(VerifiedReport());
  EXPECT_EQ(json["totals"]["rows"], 1234);
  EXPECT_EQ(json["totals"]["bytes"], 8'000'000);
  EXPECT_DOUBLE_EQ(json["totals"]["seconds"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(json["totals"]["megabytes_per_second"].get<double>(), 2.0);
  EXPECT_EQ(json["mismatched"], nlohmann::json::array({"public.deals"}));
  EXPECT_EQ(json["verified"], true);
  EXPECT_EQ(json["command"], "sync");
  EXPECT_EQ(json["started_at"], "2026-01-02T03:04:05Z");
}

TEST(RenderJson, TableEntriesCarryVerificationDetails) {
  nlohmann::json json = RenderJson(VerifiedReport());
  ASSERT_EQ(json["tables"].size(), 2u);
  const nlohmann::json& deals = json["tables"][1];
  EXPECT_EQ(deals["table"], "public.deals");
  EXPECT_EQ(deals["route"], "direct");
  EXPECT_DOUBLE_EQ(deals["megabytes_per_second"].get<double>(), 2.0);
  EXPECT_EQ(deals["deferred_constraints"], nlohmann::json::array({"deals_owner_fkey"}));
  EXPECT_EQ(deals["verification"]["equal"], false);
  EXPECT_EQ(deals["verification"]["source"]["rows"], 234);
  EXPECT_EQ(deals["verification"]["target"]["rows"], 233);
  EXPECT_EQ(deals["verification"]["target"]["sum"], "12345");
}

TEST(RenderJson, ErrorAndVerificationAreNullWhenAbsent) {
  RunReport report;
  report.command = "sync";
  report.tables.push_back(Table("public.users", 1, 10, 1));
  nlohmann::json json = RenderJson(report);
  EXPECT_TRUE(json["error"].is_null());
  EXPECT_TRUE(json["tables"][0]["verification"].is_null());
  EXPECT_EQ(json["ok"], true);
}

TEST(RenderJson, FailedRunCarriesErrorText) {
  RunReport report;
  report.ok = false;
  report.error = "table public.users: connection lost";
  nlohmann::json json = RenderJson(report);
  EXPECT_EQ(json["ok"], false);
  EXPECT_EQ(json["error"], "table public.users: connection lost");
}

TEST(RenderText, MarksMismatchedTableDiffersAndFailsVerification) {
  std::string text = RenderText(VerifiedReport());
  EXPECT_NE(FindLine(text, "public.deals").find("DIFFERS"), std::string::npos) << text;
  EXPECT_NE(FindLine(text, "public.users").find("equal"), std::string::npos) << text;
  EXPECT_EQ(Lines(text).back(), "verification FAILED: public.deals");
}

TEST(RenderText, AlignsNumericColumnsOnTheRight) {
  std::string text = RenderText(VerifiedReport());
  std::string header = FindLine(text, "table");
  std::string users = FindLine(text, "public.users");
  std::string deals = FindLine(text, "public.deals");
  size_t rows_end = header.find("rows") + 4;
  EXPECT_EQ(users.find("1,000") + 5, rows_end) << text;
  EXPECT_EQ(deals.find("234") + 3, rows_end) << text;
  size_t format_column = header.find("format");
  EXPECT_EQ(users.find("binary"), format_column) << text;
  EXPECT_EQ(deals.find("binary"), format_column) << text;
}

TEST(RenderText, ShowsTotalsAndDeferredConstraints) {
  std::string text = RenderText(VerifiedReport());
  EXPECT_NE(text.find("1,234 rows, 8.0 MB in 4.0 s (2.0 MB/s)"), std::string::npos) << text;
  EXPECT_NE(text.find("public.deals.deals_owner_fkey (cycle)"), std::string::npos) << text;
}

TEST(RenderText, OmitsVerifyColumnWhenVerificationDidNotRun) {
  RunReport report;
  report.command = "sync";
  report.tables.push_back(Table("public.users", 1, 10, 1));
  std::string text = RenderText(report);
  EXPECT_EQ(text.find("verify"), std::string::npos) << text;
  EXPECT_EQ(text.find("equal"), std::string::npos) << text;
}

TEST(RenderText, FailedRunEndsWithError) {
  RunReport report;
  report.command = "sync";
  report.ok = false;
  report.error = "lock timeout on public.users";
  EXPECT_EQ(Lines(RenderText(report)).back(), "FAILED: lock timeout on public.users");
}

TEST(RenderText, SuccessfulRunEndsWithOk) {
  RunReport report;
  report.command = "sync";
  report.seconds = 2;
  report.warnings = {"sequence public.s skipped"};
  std::string text = RenderText(report);
  EXPECT_EQ(Lines(text).back().rfind("OK: sync finished", 0), 0u) << text;
  EXPECT_NE(text.find("sequence public.s skipped"), std::string::npos) << text;
}

TEST(RenderMarkdown, EscapesPipesInTableCells) {
  RunReport report;
  report.command = "sync";
  report.tables.push_back(Table("public.\"a|b\"", 1, 10, 1));
  std::string markdown = RenderMarkdown(report);
  EXPECT_NE(markdown.find("| public.\"a\\|b\" |"), std::string::npos) << markdown;
  EXPECT_EQ(markdown.find("a|b"), std::string::npos) << markdown;
}

TEST(RenderMarkdown, HasHeadingStatusTableAndWarnings) {
  RunReport report = VerifiedReport();
  report.warnings = {"target has extra table public.tmp"};
  std::string markdown = RenderMarkdown(report);
  EXPECT_EQ(markdown.rfind("## freshet sync\n", 0), 0u) << markdown;
  EXPECT_NE(markdown.find("**FAILED**"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("`app@prod:5432/app` → `dev@localhost/app`"), std::string::npos);
  EXPECT_NE(markdown.find("| table | rows | MB | seconds | MB/s | format | verify |"),
            std::string::npos)
      << markdown;
  EXPECT_NE(markdown.find("DIFFERS"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("- target has extra table public.tmp"), std::string::npos) << markdown;
}

TEST(RenderMarkdown, SuccessfulRunSaysOk) {
  RunReport report;
  report.command = "verify";
  std::string markdown = RenderMarkdown(report);
  EXPECT_EQ(markdown.rfind("## freshet verify\n", 0), 0u) << markdown;
  EXPECT_NE(markdown.find("**OK**"), std::string::npos) << markdown;
}

class WriteFileAtomicallyTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("freshet_report_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(WriteFileAtomicallyTest, ReplacesContentAndLeavesNoTemporaryFile) {
  std::string path = (dir_ / "report.json").string();
  WriteFileAtomically(path, "old");
  WriteFileAtomically(path, "{\"ok\": true}\n");
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "{\"ok\": true}\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(WriteFileAtomicallyTest, ThrowsNamingPathWhenDirectoryIsMissing) {
  std::string path = (dir_ / "missing" / "report.json").string();
  try {
    WriteFileAtomically(path, "x");
    FAIL() << "expected Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("No such file or directory"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace freshet

namespace freshet {
namespace {

TEST(WriteFileAtomicallySpecialFiles, WritesIntoDevicesInPlaceInsteadOfReplacingThem) {
  WriteFileAtomically("/dev/null", "report text\n");
  struct stat after;
  ASSERT_EQ(::stat("/dev/null", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode));
}

}  // namespace
}  // namespace freshet
