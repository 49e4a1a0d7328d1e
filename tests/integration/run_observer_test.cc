// Runs watched through RunObserver, in process: two syncs at once, each with
// its own observer, each see exactly their own run (its plan, every table
// started and done with the rows the report counts, their own log lines, one
// end), and a run that fails still ends with a report that says why.
#include "sync/engine/run_observer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sync/engine/plan.h"
#include "sync/engine/report.h"
#include "sync/engine/sync_run.h"
#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class RecordingObserver final : public RunObserver {
 public:
  void Log(LogLevel, std::string_view message) override {
    std::lock_guard lock(mutex_);
    log.emplace_back(message);
  }
  void PlanReady(const Plan& plan) override {
    std::lock_guard lock(mutex_);
    plans.push_back(plan.tables.size());
  }
  void TableStarted(std::string_view table) override {
    std::lock_guard lock(mutex_);
    started.insert(std::string(table));
  }
  void TableDone(std::string_view table, uint64_t rows, uint64_t) override {
    std::lock_guard lock(mutex_);
    done[std::string(table)] = rows;
  }
  void RunEnded(const RunReport& report) override {
    std::lock_guard lock(mutex_);
    ends.push_back(report.ok ? "ok" : "failed: " + report.error);
  }

  std::vector<std::string> log;
  std::vector<size_t> plans;
  std::set<std::string> started;
  std::map<std::string, uint64_t> done;
  std::vector<std::string> ends;

 private:
  std::mutex mutex_;
};

class RunObserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    prod_.Psql(prod_db_, std::string(kCommonSchema) + kCommonData);
    for (std::string* db : {&dev_a_, &dev_b_}) {
      *db = dev_.CreateUniqueDatabase("dev");
      dev_.Psql(*db, kCommonSchema);
    }
  }
  SyncOptions Options(const std::string& dev_db, RunObserver& observer) const {
    SyncOptions options;
    options.source_url = prod_.Url(prod_db_);
    options.target_url = dev_.Url(dev_db);
    options.jobs = 2;
    options.observer = &observer;
    return options;
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_a_, dev_b_;
};

TEST_F(RunObserverTest, TwoRunsAtOnceEachSeeOnlyTheirOwnEvents) {
  RecordingObserver a, b;
  RunReport report_a, report_b;
  std::thread run_a([&] { RunSync(Options(dev_a_, a), report_a, {}); });
  std::thread run_b([&] { RunSync(Options(dev_b_, b), report_b, {}); });
  run_a.join();
  run_b.join();
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_a_, {"public", "My Schema"}), IsEmpty());
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_b_, {"public", "My Schema"}), IsEmpty());

  for (auto [observer, report, own, other] :
       {std::tuple{&a, &report_a, dev_a_, dev_b_}, std::tuple{&b, &report_b, dev_b_, dev_a_}}) {
    ASSERT_TRUE(report->ok) << report->error;
    EXPECT_EQ(observer->plans, std::vector<size_t>{report->tables.size()});
    EXPECT_EQ(observer->ends, std::vector<std::string>{"ok"});
    ASSERT_FALSE(report->tables.empty());
    std::set<std::string> names;
    for (const TableReport& table : report->tables) {
      names.insert(table.table);
      EXPECT_EQ(observer->done[table.table], table.rows) << table.table;
    }
    EXPECT_EQ(observer->started, names);
    EXPECT_EQ(observer->done.size(), names.size());
    std::string log;
    for (const std::string& line : observer->log) log += line + "\n";
    EXPECT_THAT(log, HasSubstr("strategy"));
    EXPECT_THAT(log, Not(HasSubstr(other))) << "a run's log holds the other run's lines";
  }
}

TEST_F(RunObserverTest, AFailedRunEndsWithItsError) {
  dev_.Psql(dev_a_, "ALTER TABLE public.vehicles ADD COLUMN must_have int NOT NULL");
  RecordingObserver observer;
  RunReport report;
  EXPECT_THROW(RunSync(Options(dev_a_, observer), report, {}), Error);
  ASSERT_EQ(observer.ends.size(), 1u);
  EXPECT_THAT(observer.ends[0], HasSubstr("failed: "));
  EXPECT_THAT(observer.ends[0], HasSubstr("must_have"));
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(observer.plans.size(), 1u);      // the plan (with its error) was shown
  EXPECT_THAT(observer.started, IsEmpty());  // nothing was loaded
}

}  // namespace
}  // namespace freshet::testing
