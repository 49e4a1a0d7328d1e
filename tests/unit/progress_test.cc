#include "sync/engine/progress.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "copy/error.h"

namespace freshet {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<Progress::Item> Items(std::vector<int64_t> estimates) {
  std::vector<Progress::Item> items;
  for (size_t i = 0; i < estimates.size(); ++i)
    items.push_back({"public.t" + std::to_string(i), estimates[i], 0});
  return items;
}

// Starts item `index` and records `rows` rows of `bytes_per_row` bytes.
void Advance(Progress& progress, size_t index, uint64_t rows, uint64_t bytes_per_row = 100) {
  progress.MarkStarted(index);
  progress.Counters(index).messages += rows;
  progress.Counters(index).bytes += rows * bytes_per_row;
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

TEST(Progress, StatusLineShowsHalfWhenHalfTheEstimatedRowsAreDone) {
  Progress progress(Items({1000, 1000}), false);
  Advance(progress, 0, 1000);
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "50% 1.0k/2.0k rows")) << line;
}

TEST(Progress, StatusLineShowsHundredPercentWhenAllItemsAreDone) {
  Progress progress(Items({1000, 1000}), false);
  Advance(progress, 0, 10);  // estimates far too high
  progress.MarkDone(0);
  progress.MarkDone(1);
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "100% ")) << line;
  EXPECT_NE(line.find("ETA 0:00"), std::string::npos) << line;
}

TEST(Progress, StatusLineStaysBelowHundredUntilEveryItemIsDone) {
  Progress progress(Items({100, 100}), false);
  Advance(progress, 0, 5000);  // estimates far too low
  Advance(progress, 1, 5000);
  progress.MarkDone(0);
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "99% ")) << line;
}

TEST(Progress, StatusLineFallsBackToItemsDoneWithoutEstimates) {
  Progress progress(Items({0, 0, 0, 0}), false);
  Advance(progress, 0, 10);
  progress.MarkDone(0);
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "25% 10 rows ")) << line;
}

TEST(Progress, StatusLineShowsEtaOnceRowsMove) {
  Progress progress(Items({1000}), false);
  Advance(progress, 0, 500);
  std::this_thread::sleep_for(milliseconds(300));  // rates need a quarter second
  std::string line = progress.StatusLine();
  EXPECT_TRUE(std::regex_search(line, std::regex(R"(ETA \d+:\d\d)"))) << line;
}

TEST(Progress, StatusLineEtaIsUnknownBeforeAnyRow) {
  Progress progress(Items({1000}), false);
  progress.MarkStarted(0);
  std::string line = progress.StatusLine();
  EXPECT_NE(line.find("ETA --"), std::string::npos) << line;
}

TEST(Progress, StatusLineShowsMegabytesAndHumanRowCounts) {
  Progress progress(Items({2'900'000}), false);
  Advance(progress, 0, 1'200'000, 250);  // 300 MB
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "41% 1.2M/2.9M rows 300 MB ")) << line;
  EXPECT_NE(line.find(" MB/s "), std::string::npos) << line;
}

TEST(Progress, StatusLineNamesAtMostThreeRunningItemsWithTheirPercentages) {
  Progress progress(Items({100, 100, 100, 100, 100, 0}), false);
  progress.MarkDone(0);
  Advance(progress, 1, 61);
  Advance(progress, 2, 10);
  Advance(progress, 3, 0);
  Advance(progress, 4, 0);
  std::string line = progress.StatusLine();
  EXPECT_NE(line.find("| copying public.t1 61%, public.t2 10%, public.t3 0%, +1 more"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find("public.t0"), std::string::npos) << line;
  EXPECT_EQ(line.find("public.t5"), std::string::npos) << line;
}

TEST(Progress, RunningItemWithoutEstimateShowsRowCount) {
  Progress progress(Items({0}), false);
  Advance(progress, 0, 12'345);
  std::string line = progress.StatusLine();
  EXPECT_NE(line.find("copying public.t0 12.3k rows"), std::string::npos) << line;
}

TEST(Progress, CountersOutOfRangeThrow) {
  Progress progress(Items({1}), false);
  EXPECT_THROW(progress.Counters(1), Error);
}

TEST(Progress, CountersKeepTheirAddress) {
  Progress progress(Items({1, 2, 3}), false);
  StreamCounters* first = &progress.Counters(0);
  progress.MarkStarted(2);
  (void)progress.StatusLine();
  EXPECT_EQ(first, &progress.Counters(0));
  EXPECT_NE(first, &progress.Counters(1));
}

TEST(Progress, StopWakesTheReportingThreadImmediately) {
  Progress progress(Items({1}), false, seconds(3600));
  progress.Start();
  auto begin = std::chrono::steady_clock::now();
  progress.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, milliseconds(500));
  progress.Stop();  // idempotent
}

TEST(Progress, NonInteractiveModeLogsProgressLines) {
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>(
      "progress_test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_pattern("%v");
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  {
    Progress progress(Items({100}), false, seconds(1));
    Advance(progress, 0, 50);
    progress.Start();
    std::this_thread::sleep_for(milliseconds(1300));
  }  // the destructor stops the thread
  spdlog::set_default_logger(previous);
  EXPECT_TRUE(StartsWith(log.str(), "progress: 50% 50/100 rows")) << log.str();
}

TEST(Progress, InteractiveModeRedrawsOneLineAndClearsItOnStop) {
  testing::internal::CaptureStderr();
  {
    Progress progress(Items({100}), true);
    Advance(progress, 0, 50);
    progress.Start();
    std::this_thread::sleep_for(milliseconds(100));
    progress.Stop();
  }
  std::string output = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(StartsWith(output, "\r50% 50/100 rows")) << output;
  EXPECT_NE(output.find("\x1b[K"), std::string::npos) << output;
  EXPECT_EQ(output.substr(output.size() - 4), "\r\x1b[K") << output;
  EXPECT_EQ(output.find('\n'), std::string::npos) << output;
}

}  // namespace
}  // namespace freshet
