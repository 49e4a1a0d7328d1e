// Two `freshet serve` replicas on one PostgreSQL store: each run is claimed
// once, one replica (the leader) schedules and starts runs, the other
// answers the API from the store, and takes over when the leader dies.
// Time is a file both replicas read (FRESHET_TEST_CLOCK_FILE); mid-run
// actions wait for named pause points; waits on a replica's role are
// readiness probes with a deadline that only turns a hang into a failure.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>

#include "copy/connection.h"
#include "sync/service/postgres_run_store.h"
#include "tests/integration/serve_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kNightlyJob[] = R"toml(
[jobs.nightly]
kind = "sync"
from = "prod"
to = "dev"
jobs = 1
verify = true
schedule = "0 2 * * *"
tz = "UTC"
)toml";

// The databases, a store database on the dev cluster, and a clock file.
struct Replicas : ServeDatabases {
  Replicas() : store_db(dev.CreateUniqueDatabase("store")) {}

  std::string StoreUrl() const { return dev.Url(store_db); }
  void SetClock(const std::string& iso) const {
    std::ofstream((clock.path() / "now").string()) << iso;
  }
  Environment Env(Environment extra = {}) const {
    extra["FRESHET_TEST_CLOCK_FILE"] = (clock.path() / "now").string();
    return extra;
  }
  int64_t StoredRuns(const std::string& where = "true") const {
    return std::stoll(
        dev.Psql(store_db, "SELECT count(*) FROM freshet_service.runs WHERE " + where));
  }

  const std::string store_db;
  ScratchDir clock;
};

// Waits until `ready()` holds (the deadline only turns a hang into a failure).
template <typename Predicate>
bool WaitFor(Predicate ready) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Waits until the replica's /healthz says `role` (the probe's deadline only
// turns a replica that never gets there into a failure).
bool WaitForRole(const ServeProcess& serve, const std::string& role) {
  return WaitFor([&] {
    HttpResult health = HttpCall(serve.address(), "GET", "/healthz");
    return health.status == 200 && health.Json()["role"] == role;
  });
}

// Waits until `count` runs of `job` are listed by `serve`; returns them.
nlohmann::json WaitForRuns(const ServeProcess& serve, const std::string& job, size_t count) {
  nlohmann::json runs;
  WaitFor([&] {
    runs = serve.Get("/v1/runs?job=" + job).Json()["runs"];
    return runs.size() >= count;
  });
  return runs;
}

// Waits until the replica's log has `text`.
bool WaitForLog(const ServeProcess& serve, const std::string& text) {
  return WaitFor([&] { return serve.Stderr().find(text) != std::string::npos; });
}

// Two replicas, a run triggered through the follower, and the leader paused
// in it after its copy (constraints set aside).
struct PausedRun {
  explicit PausedRun(const Replicas& db)
      : constraints(db.DevConstraints()),
        pause("done copy"),
        leader(db.Config(kRefreshJob), db.Env(pause.Env()), {}, db.StoreUrl()) {
    if (!WaitForRole(leader, "leader")) throw std::runtime_error("no leader: " + leader.Stderr());
    follower.emplace(db.Config(kRefreshJob), db.Env(), std::string(), db.StoreUrl());
    id = follower->Trigger("refresh");
    if (!pause.WaitUntilPaused(leader.process()))
      throw std::runtime_error("the run never paused: " + leader.Stderr());
  }

  const std::string constraints;  // dev's before the run
  PausePoint pause;
  ServeProcess leader;
  std::optional<ServeProcess> follower;
  int64_t id = 0;
};

TEST(ServeReplicas, OneScheduledRunNotTwoAndTheFollowerTakesOverWhenTheLeaderDies) {
  Replicas db;
  db.SetClock("2026-12-06T01:59:00.000Z");
  std::string config = db.Config(kNightlyJob);
  ServeProcess first(config, db.Env(), {}, db.StoreUrl());
  ASSERT_TRUE(WaitForRole(first, "leader")) << first.Stderr();
  ServeProcess second(config, db.Env(), {}, db.StoreUrl());
  EXPECT_EQ(HttpCall(second.address(), "GET", "/healthz").Json()["role"], "follower");

  db.SetClock("2026-12-06T02:00:30.000Z");  // both replicas see 02:00 pass
  nlohmann::json runs = WaitForRuns(second, "nightly", 1);
  ASSERT_EQ(runs.size(), 1u) << first.Stderr() << second.Stderr();
  int64_t id = runs[0]["id"];
  nlohmann::json end = second.WaitForEnd(id);  // the follower's stream, fed by the leader
  EXPECT_EQ(end["state"], "succeeded") << end.dump(2) << first.Stderr();
  EXPECT_EQ(end["trigger"], "schedule");
  EXPECT_EQ(end["rows"], 32000);
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
  EXPECT_EQ(db.StoredRuns(), 1);
  EXPECT_EQ(db.StoredRuns("claimed_by LIKE '%:' || " + std::to_string(first.process().pid())), 1)
      << "the leader did not run it";

  // The leader dies. The follower takes the lock, finds 02:00 due, and the
  // store refuses a second run for it.
  EXPECT_EQ(first.Stop(SIGKILL).signal, SIGKILL);
  ASSERT_TRUE(WaitForRole(second, "leader")) << second.Stderr();
  ASSERT_TRUE(WaitForLog(second, "already has a run for 2026-12-06T02:00:00.000Z"))
      << second.Stderr();
  EXPECT_EQ(db.StoredRuns(), 1);

  // The next night fires on the new leader.
  db.SetClock("2026-12-07T02:00:10.000Z");
  runs = WaitForRuns(second, "nightly", 2);
  ASSERT_EQ(runs.size(), 2u) << second.Stderr();
  EXPECT_EQ(second.WaitForEnd(runs[0]["id"])["state"], "succeeded");
  EXPECT_EQ(db.StoredRuns("scheduled_for = '2026-12-07T02:00:00.000Z'"), 1);
  EXPECT_THAT(second.Stderr(), ::testing::Not(HasSubstr(ServeDatabases::kProdPassword)));
}

TEST(ServeReplicas, ARunTriggeredAndCancelledOnTheFollowerRunsOnTheLeaderAndIsRestored) {
  Replicas db;
  PausedRun paused(db);
  nlohmann::json running = paused.follower->Get(fmt::format("/v1/runs/{}", paused.id)).Json();
  EXPECT_EQ(running["state"], "running") << running.dump(2);
  EXPECT_TRUE(WaitFor([&] {  // the leader publishes what it does through the store
    return paused.follower->Get(fmt::format("/v1/runs/{}", paused.id))
        .Json()["last_step"]
        .is_string();
  })) << "the leader's progress never reached the follower";

  // A run queued behind it, cancelled on the follower, never starts.
  int64_t queued = paused.follower->Trigger("refresh");
  EXPECT_EQ(paused.follower->Get(fmt::format("/v1/runs/{}", queued)).Json()["state"], "queued");
  EXPECT_EQ(paused.follower->Post(fmt::format("/v1/runs/{}/cancel", queued)).status, 202);

  HttpResult cancel = paused.follower->Post(fmt::format("/v1/runs/{}/cancel", paused.id));
  EXPECT_EQ(cancel.status, 202) << cancel.body;
  nlohmann::json end = paused.follower->WaitForEnd(paused.id);
  EXPECT_EQ(end["state"], "cancelled") << end.dump(2) << paused.leader.Stderr();
  EXPECT_EQ(db.DevConstraints(), paused.constraints) << "constraints or indexes not restored";
  EXPECT_THAT(paused.follower->Get(fmt::format("/v1/runs/{}/log", paused.id)).body,
              HasSubstr("cancel requested"));
  EXPECT_EQ(paused.follower->Post(fmt::format("/v1/runs/{}/cancel", paused.id)).status, 409);
  nlohmann::json never = paused.leader.Get(fmt::format("/v1/runs/{}", queued)).Json();
  EXPECT_EQ(never["state"], "cancelled") << never.dump(2);
  EXPECT_TRUE(never["started_at"].is_null()) << never.dump(2);

  EXPECT_EQ(paused.follower->WaitForEnd(paused.follower->Trigger("refresh"))["state"], "succeeded");
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
  EXPECT_EQ(db.StoredRuns("state IN ('queued', 'running')"), 0);
}

TEST(ServeReplicas, LeaderKilledMidRunTheFollowerRepairsTheTargetAndMarksTheRunFailed) {
  Replicas db;
  PausedRun paused(db);
  EXPECT_EQ(paused.leader.Stop(SIGKILL).signal, SIGKILL);
  EXPECT_NE(db.DevConstraints(), paused.constraints)
      << "the pause should come with constraints set aside";

  ASSERT_TRUE(WaitForRole(*paused.follower, "leader")) << paused.follower->Stderr();
  nlohmann::json end = paused.follower->WaitForEnd(paused.id);
  EXPECT_EQ(end["state"], "failed") << end.dump(2) << paused.follower->Stderr();
  EXPECT_THAT(end["error"].get<std::string>(), HasSubstr("service stopped during the run"));
  EXPECT_EQ(db.DevConstraints(), paused.constraints);
  EXPECT_THAT(paused.follower->Get(fmt::format("/v1/runs/{}/log", paused.id)).body,
              HasSubstr("repair: "));

  EXPECT_EQ(paused.follower->WaitForEnd(paused.follower->Trigger("refresh"))["state"], "succeeded");
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
}

// Ends the session holding the leader lock (a network cut, a restarted
// pooler): the only advisory lock granted in the store database. Returns how
// many sessions it ended.
std::string EndLeaderLockSession(const Replicas& db) {
  return db.dev.Psql(db.store_db,
                     "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = "
                     "'advisory' AND granted AND database = (SELECT oid FROM pg_database "
                     "WHERE datname = current_database())");
}

TEST(ServeReplicas, ALeaderThatLosesItsStoreSessionExitsAndTheFollowerTakesOver) {
  Replicas db;
  std::string config = db.Config(kRefreshJob);
  ServeProcess leader(config, db.Env(), {}, db.StoreUrl());
  ASSERT_TRUE(WaitForRole(leader, "leader")) << leader.Stderr();
  ServeProcess follower(config, db.Env(), {}, db.StoreUrl());
  EXPECT_EQ(EndLeaderLockSession(db), "1");
  RunResult ended = leader.process().Wait();
  EXPECT_EQ(ended.exit_code, 1) << ended.err;
  EXPECT_THAT(ended.err, HasSubstr("lost the leader lock"));
  ASSERT_TRUE(WaitForRole(follower, "leader")) << follower.Stderr();
  EXPECT_EQ(follower.WaitForEnd(follower.Trigger("refresh"))["state"], "succeeded");
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
}

// The leader loses the lead while its run is paused mid-copy: the lost
// lead stops the run, whose cancel puts the target back while the follower
// takes over (the new leader's repair waits for the target's lock if the
// cancel still holds it). Whichever records the end first, the run ends
// once, and the target is whole for the next run.
TEST(ServeReplicas, ARunOfALeaderThatLostTheLeadEndsOnceAndLeavesTheTargetWhole) {
  Replicas db;
  PausedRun paused(db);
  EXPECT_EQ(EndLeaderLockSession(db), "1");
  ASSERT_TRUE(WaitForRole(*paused.follower, "leader")) << paused.follower->Stderr();
  RunResult old_leader = paused.leader.process().Wait();
  EXPECT_EQ(old_leader.exit_code, 1) << old_leader.err;

  nlohmann::json end = paused.follower->WaitForEnd(paused.id);
  std::string log = paused.follower->Get(fmt::format("/v1/runs/{}/log", paused.id)).body;
  if (end["state"] == "failed") {  // the new leader took it over, and repaired after the cancel
    EXPECT_THAT(end["error"].get<std::string>(),
                HasSubstr("the service stopped during the run; its targets were restored"));
    EXPECT_THAT(log, HasSubstr("repair: "));
    EXPECT_EQ(log.find("repair failed"), std::string::npos) << log;
  } else {  // the old leader recorded its cancel before the new one looked
    EXPECT_EQ(end["state"], "cancelled") << end.dump(2);
  }
  EXPECT_EQ(db.StoredRuns("state IN ('queued', 'running')"), 0);
  EXPECT_EQ(db.DevConstraints(), paused.constraints) << log;
  EXPECT_EQ(paused.follower->WaitForEnd(paused.follower->Trigger("refresh"))["state"], "succeeded");
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
}

TEST(ServeReplicas, AStoreThatHangsHoldsUpNeitherTheProbesNorTheIoThread) {
  Replicas db;
  ServeProcess serve(db.Config(kRefreshJob), db.Env(), {}, db.StoreUrl());
  ASSERT_TRUE(WaitForRole(serve, "leader")) << serve.Stderr();
  std::future<HttpResult> get;  // before the lock's session, which ends first
  Connection locker = Connection::Open(db.StoreUrl(), "test");
  locker.Exec("BEGIN; LOCK TABLE freshet_service.runs IN ACCESS EXCLUSIVE MODE");
  get = std::async(std::launch::async, [&] { return serve.Get("/v1/runs/424242"); });
  // The service's query for that run waits on the lock...
  ASSERT_TRUE(WaitFor([&] {
    return db.dev.Psql(db.store_db,
                       "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND query LIKE '%FROM freshet_service.runs WHERE id = $1%'") != "0";
  }));
  // ... while the probes, on the I/O thread, answer.
  EXPECT_EQ(HttpCall(serve.address(), "GET", "/healthz").status, 200);
  EXPECT_EQ(HttpCall(serve.address(), "GET", "/readyz").status, 200);
  locker.Exec("COMMIT");
  HttpResult answered = get.get();
  EXPECT_EQ(answered.status, 404) << answered.body;  // once the store answers: no such run
}

// The store itself, from two replicas' connections at once.
TEST(PostgresRunStore, EachRunIsClaimedOnceAndEachScheduledTimeQueuedOnce) {
  PgCluster& cluster = SharedClusters::Target();
  std::string url = cluster.Url(cluster.CreateUniqueDatabase("store"));
  std::unique_ptr<RunStore> a = OpenPostgresRunStore(url, "a:1");
  std::unique_ptr<RunStore> b = OpenPostgresRunStore(url, "b:2");
  RunRecord run;
  run.job = "nightly";
  run.kind = "sync";
  run.trigger = "schedule";
  run.created_at = "2026-12-06T02:00:00.100Z";
  run.scheduled_for = "2026-12-06T02:00:00.000Z";
  run.id = a->Insert(run);
  ASSERT_GT(run.id, 0);
  EXPECT_EQ(b->Insert(run), 0) << "a second run for the same job and time";
  EXPECT_TRUE(b->Claim(run.id, "2026-12-06T02:00:01.000Z"));
  EXPECT_FALSE(a->Claim(run.id, "2026-12-06T02:00:01.000Z"));
  RunRecord cancelled = run;
  cancelled.state = RunState::kCancelled;
  EXPECT_FALSE(a->EndQueued(cancelled)) << "a running run ended as if it never started";
  a->RequestCancel(run.id);
  EXPECT_THAT(b->CancelRequested(), ::testing::ElementsAre(run.id));
  b->PublishLive(run.id, {{"rows", 5}, {"bytes", 10}, {"progress", nullptr}, {"last_step", "x"}});
  EXPECT_EQ(a->Get(run.id)->live["rows"], 5);

  RunRecord other = run;
  other.scheduled_for.clear();
  other.trigger = "api";
  other.id = b->Insert(other);
  other.state = RunState::kCancelled;
  other.finished_at = "2026-12-06T02:00:02.000Z";
  EXPECT_TRUE(a->EndQueued(other));
  EXPECT_FALSE(b->Claim(other.id, "2026-12-06T02:00:03.000Z")) << "a cancelled run claimed";
  EXPECT_EQ(a->Unfinished().size(), 1u);
  EXPECT_EQ(a->Describe().find("@"), a->Describe().rfind("@"));  // one endpoint, no password

  // b, which claimed the run, lost the lead; a takes the run over: b's end
  // is refused from then on, a's is recorded once.
  EXPECT_TRUE(a->TakeOver(run.id));
  RunRecord ended = run;
  ended.state = RunState::kCancelled;
  ended.finished_at = "2026-12-06T02:00:04.000Z";
  EXPECT_FALSE(b->Finish(ended)) << "the replica that lost the run ended it";
  ended.state = RunState::kFailed;
  EXPECT_TRUE(a->Finish(ended));
  EXPECT_FALSE(a->Finish(ended)) << "a finished run ended again";
  EXPECT_FALSE(b->TakeOver(run.id)) << "a finished run taken over";
  EXPECT_EQ(b->Get(run.id)->state, RunState::kFailed);
  EXPECT_TRUE(a->Unfinished().empty());
}

}  // namespace
}  // namespace freshet::testing
