// What no plan can foresee costs less than the whole run: a COPY stream whose
// connections are lost (backends terminated mid-run) is retried from the same
// snapshot on new connections, the report counts the retry, and the copy is
// exact; with retries off, the run fails and the target gets its constraints
// back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kSchema = R"sql(
  CREATE TABLE public.owners (id int PRIMARY KEY, name text);
  CREATE TABLE public.items (id int PRIMARY KEY, owner_id int REFERENCES public.owners,
    label text);
)sql";

class StreamRetry : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    prod_.Psql(prod_db_, std::string(kSchema) +
                             "INSERT INTO public.owners SELECT g, 'o' || g FROM "
                             "generate_series(1, 2000) g; INSERT INTO public.items SELECT g, "
                             "1 + g % 2000, repeat('l', g % 90) FROM generate_series(1, 30000) g");
    dev_.Psql(dev_db_, std::string(kSchema) + "INSERT INTO public.owners VALUES (1, 'stale')");
  }

  // Runs a sync with one job, stopped before its second stream (the worker's
  // connections are open by then); terminates the worker's backends on both
  // servers, then lets it go on.
  RunResult SyncWithConnectionsCut(std::vector<std::string> extra) {
    PausePoint pause("start copy#2");
    Environment env = pause.Env();
    env["FRESHET_RETRY_BACKOFF_MS"] = "10";
    std::vector<std::string> args = {
        FreshetBinary(),   "sync",   "--from", prod_.Url(prod_db_), "--to",
        dev_.Url(dev_db_), "--jobs", "1",      "--report",          report_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    BackgroundProcess sync = StartCommand(args, env);
    std::optional<RunResult> ended;
    EXPECT_TRUE(pause.WaitUntilPaused(sync, &ended)) << (ended ? ended->err : "");
    const char* cut =
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
        "'freshet worker'";
    EXPECT_EQ(prod_.Psql(prod_db_, cut), "1");
    EXPECT_EQ(dev_.Psql(dev_db_, cut), "1");
    pause.Release();
    return sync.Wait();
  }
  nlohmann::json Report() {
    std::ifstream in(report_);
    return nlohmann::json::parse(in);
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
  ScratchDir scratch_;
  std::filesystem::path report_ = scratch_.path() / "report.json";
};

TEST_F(StreamRetry, AStreamWhoseConnectionsWereLostIsRetriedFromTheSameSnapshot) {
  RunResult sync = SyncWithConnectionsCut({"--verify"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("retrying this stream from the same snapshot"));
  EXPECT_THAT(sync.err, HasSubstr("streams retried after a dropped connection: 1"));
  EXPECT_EQ(Report()["totals"]["retries"], 1);
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_, {"public"}), IsEmpty());
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(ForeignKeys(dev_, dev_db_),
            std::vector<std::string>{"public.items.items_owner_id_fkey"});
}

TEST_F(StreamRetry, WithoutRetriesTheRunFailsAndTheTargetGetsItsConstraintsBack) {
  RunResult sync = SyncWithConnectionsCut({"--retries", "0"});
  EXPECT_EQ(sync.exit_code, 1) << sync.err;
  // The server's own reason when libpq read it before the socket closed,
  // libpq's otherwise.
  EXPECT_THAT(sync.err, AnyOf(HasSubstr("server closed the connection unexpectedly"),
                              HasSubstr("terminating connection due to administrator command")));
  EXPECT_EQ(Report()["totals"]["retries"], 0);
  // Every constraint is back; the foreign key over the partial data is back
  // NOT VALID, journaled for the next run to validate.
  EXPECT_EQ(ForeignKeys(dev_, dev_db_),
            std::vector<std::string>{"public.items.items_owner_id_fkey"});
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT string_agg(kind, ',') FROM _freshet.journal"), "validate");
  RunResult rerun = Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT count(*) FROM _freshet.journal"), "0");
}

}  // namespace
}  // namespace freshet::testing
