#include "sync/engine/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "copy/error.h"
#include "sync/cli/terminal_progress.h"

namespace freshet {
namespace {

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
  Progress progress(Items({1000, 1000}));
  Advance(progress, 0, 1000);
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "50% 1.0k/2.0k rows")) << line;
}

TEST(Progress, StatusLineShowsHundredPercentWhenAllItemsAreDone) {
  Progress progress(Items({1000, 1000}));
  Advance(progress, 0, 10);  // estimates far too high
  progress.MarkDone(0);
  progress.MarkDone(1);
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "100% ")) << line;
  EXPECT_NE(line.find("ETA 0:00"), std::string::npos) << line;
}

TEST(Progress, StatusLineStaysBelowHundredUntilEveryItemIsDone) {
  Progress progress(Items({100, 100}));
  Advance(progress, 0, 5000);  // estimates far too low
  Advance(progress, 1, 5000);
  progress.MarkDone(0);
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "99% ")) << line;
}

TEST(Progress, StatusLineFallsBackToItemsDoneWithoutEstimates) {
  Progress progress(Items({0, 0, 0, 0}));
  Advance(progress, 0, 10);
  progress.MarkDone(0);
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "25% 10 rows ")) << line;
}

TEST(Progress, StatusLineShowsEtaOnceRowsMove) {
  auto now = Progress::Clock::time_point{} + std::chrono::hours(1);
  Progress progress(Items({1000}), DefaultLog(), seconds(1), [&] { return now; });
  Advance(progress, 0, 500);
  now += seconds(10);  // rates need a quarter second: half done in 10 s
  std::string line = progress.StatusLine();
  EXPECT_TRUE(std::regex_search(line, std::regex(R"(ETA \d+:\d\d)"))) << line;
  EXPECT_NE(line.find("ETA 0:10"), std::string::npos) << line;
}

TEST(Progress, StatusLineEtaIsUnknownBeforeAnyRow) {
  Progress progress(Items({1000}));
  progress.MarkStarted(0);
  std::string line = progress.StatusLine();
  EXPECT_NE(line.find("ETA --"), std::string::npos) << line;
}

TEST(Progress, StatusLineShowsMegabytesAndHumanRowCounts) {
  Progress progress(Items({2'900'000}));
  Advance(progress, 0, 1'200'000, 250);  // 300 MB
  std::string line = progress.StatusLine();
  EXPECT_TRUE(StartsWith(line, "41% 1.2M/2.9M rows 300 MB ")) << line;
  EXPECT_NE(line.find(" MB/s "), std::string::npos) << line;
}

TEST(Progress, StatusLineNamesAtMostThreeRunningItemsWithTheirPercentages) {
  Progress progress(Items({100, 100, 100, 100, 100, 0}));
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
  Progress progress(Items({0}));
  Advance(progress, 0, 12'345);
  std::string line = progress.StatusLine();
  EXPECT_NE(line.find("copying public.t0 12.3k rows"), std::string::npos) << line;
}

TEST(Progress, CountersOutOfRangeThrow) {
  Progress progress(Items({1}));
  EXPECT_THROW(progress.Counters(1), Error);
}

TEST(Progress, CountersKeepTheirAddress) {
  Progress progress(Items({1, 2, 3}));
  StreamCounters* first = &progress.Counters(0);
  progress.MarkStarted(2);
  (void)progress.StatusLine();
  EXPECT_EQ(first, &progress.Counters(0));
  EXPECT_NE(first, &progress.Counters(1));
}

// Records the progress events a run's observer gets; a test waits for them.
class ProgressEvents final : public RunObserver {
 public:
  void Log(LogLevel, std::string_view message) override {
    std::lock_guard lock(mutex_);
    logs.emplace_back(message);
  }
  void Progressed(const ProgressStatus& status) override {
    std::lock_guard lock(mutex_);
    statuses.push_back(status);
    changed_.notify_all();
  }
  void ProgressEnded() override {
    std::lock_guard lock(mutex_);
    ++ended;
  }
  void WaitForStatus() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !statuses.empty(); });
  }
  std::vector<ProgressStatus> statuses;
  std::vector<std::string> logs;
  int ended = 0;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

TEST(Progress, StartTellsTheObserverWhereTheLoadStandsAndStopEndsIt) {
  ProgressEvents events;
  RunLog log(events);
  Progress progress(Items({100, 40}), log, std::chrono::hours(1));
  Advance(progress, 0, 50);
  progress.Start();
  events.WaitForStatus();  // the first status comes at once, the next in an hour
  progress.Stop();         // so Stop must wake the thread for this to return
  progress.Stop();         // idempotent
  ASSERT_EQ(events.statuses.size(), 1u);
  const ProgressStatus& status = events.statuses.front();
  EXPECT_EQ(status.rows, 50u);
  EXPECT_EQ(status.bytes, 5000u);
  EXPECT_EQ(status.estimated_rows, 140);
  ASSERT_EQ(status.tables.size(), 2u);
  EXPECT_EQ(status.tables[0].name, "public.t0");
  EXPECT_TRUE(status.tables[0].started);
  EXPECT_FALSE(status.tables[1].started);
  EXPECT_TRUE(StartsWith(status.line, "36% 50/140 rows")) << status.line;
  EXPECT_EQ(events.ended, 1);
}

TEST(Progress, StatusCarriesTheEtaOnceMeasurable) {
  Progress progress(Items({100}));
  Advance(progress, 0, 100);
  progress.MarkDone(0);
  ProgressStatus status = progress.Status();
  EXPECT_DOUBLE_EQ(status.fraction, 1.0);
  ASSERT_TRUE(status.eta_seconds.has_value());
  EXPECT_DOUBLE_EQ(*status.eta_seconds, 0);
}

ProgressStatus StatusWithLine(std::string line) {
  ProgressStatus status;
  status.line = std::move(line);
  return status;
}

TEST(TerminalProgress, LogsALineEachIntervalAfterAFullOneWhenNotATerminal) {
  ProgressEvents log;
  auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  auto now = t0;
  TerminalProgress terminal(false, log, seconds(10), stderr, [&] { return now; });
  terminal.Progressed(StatusWithLine("10% a"));  // the load starts
  now = t0 + seconds(9);
  terminal.Progressed(StatusWithLine("20% b"));
  EXPECT_TRUE(log.logs.empty());
  now = t0 + seconds(10);
  terminal.Progressed(StatusWithLine("30% c"));
  now = t0 + seconds(15);
  terminal.Progressed(StatusWithLine("40% d"));
  now = t0 + seconds(20);
  terminal.Progressed(StatusWithLine("50% e"));
  EXPECT_EQ(log.logs, (std::vector<std::string>{"progress: 30% c", "progress: 50% e"}));
  terminal.ProgressEnded();  // the next load waits a full interval again
  now = t0 + seconds(40);
  terminal.Progressed(StatusWithLine("1% f"));
  EXPECT_EQ(log.logs.size(), 2u);
}

TEST(TerminalProgress, OnATerminalRedrawsOneLineAndClearsItAtTheEnd) {
  ProgressEvents log;
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    TerminalProgress terminal(true, log, seconds(10), file);
    terminal.Progressed(StatusWithLine("50% 50/100 rows"));
    terminal.Progressed(StatusWithLine("60% 60/100 rows"));
    terminal.ProgressEnded();
    terminal.ProgressEnded();  // nothing drawn since: nothing to clear
  }
  std::rewind(file);
  std::string output;
  for (int c; (c = std::fgetc(file)) != EOF;) output += static_cast<char>(c);
  std::fclose(file);
  EXPECT_EQ(output, "\r50% 50/100 rows\x1b[K\r60% 60/100 rows\x1b[K\r\x1b[K");
  EXPECT_TRUE(log.logs.empty());
}

TEST(TerminalProgress, FitCutsToColumnsWithoutSplittingACharacter) {
  EXPECT_EQ(FitToColumns("héllo wörld", 7), "héllo w");
  EXPECT_EQ(FitToColumns("héllo", 0), "héllo");
  EXPECT_EQ(FitToColumns("abc", 10), "abc");
}

}  // namespace
}  // namespace freshet
