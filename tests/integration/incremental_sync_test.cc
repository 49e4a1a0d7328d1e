// `freshet sync --incremental` against real clusters: the first run without
// state, late commits, deletes and FK actions, ties and NULLs on the
// watermark, FK cycles, a kill at each point of the merge, migrations between
// runs, tables without a key, dev-only triggers, a source written during the
// run and `--diff` repairing dev's drift. Every test compares the two sides
// by psql digests (sync_helpers.h), independently of freshet's verifier.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "copy/connection.h"
#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using json = nlohmann::json;

// A small table with an indexed updated_at: the watermark is found by name.
constexpr const char* kItems = R"sql(
CREATE TABLE public.items (
  id int PRIMARY KEY,
  v text,
  updated_at timestamptz DEFAULT now()
);
CREATE INDEX items_updated_at ON public.items (updated_at);
)sql";

class IncrementalSync : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
  }
  std::string Prod() const { return prod_.Url(prod_db_); }
  std::string Dev() const { return dev_.Url(dev_db_); }
  std::string ProdSql(const std::string& sql) const { return prod_.Psql(prod_db_, sql); }
  std::string DevSql(const std::string& sql) const { return dev_.Psql(dev_db_, sql); }
  void BothSql(const std::string& sql) const {
    ProdSql(sql);
    DevSql(sql);
  }

  std::vector<std::string> SyncArgs(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {"sync", "--incremental", "--from",   Prod(),
                                     "--to", Dev(),           "--report", report_path_};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // A sync --incremental in the background, stopping at `pause`.
  BackgroundProcess StartSync(const std::vector<std::string>& extra, const PausePoint& pause) {
    std::vector<std::string> argv = SyncArgs(extra);
    argv.insert(argv.begin(), FreshetBinary());
    return StartCommand(argv, pause.Env());
  }

  // Runs an incremental sync that must succeed and returns its JSON report.
  json Sync(const std::vector<std::string>& extra = {}, const Environment& env = {}) {
    std::filesystem::remove(report_path_);  // a failed run must not leave an old report
    RunResult run = Freshet(SyncArgs(extra), env);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return ReadReport();
  }

  json ReadReport() const { return ReadJsonReport(report_path_); }

  static json Entry(const json& report, const std::string& table) {
    return ReportEntry(report, table);
  }

  static uint64_t Moved(const json& entry) {
    return entry.value("inserted", uint64_t{0}) + entry.value("updated", uint64_t{0}) +
           entry.value("deleted", uint64_t{0});
  }

  std::vector<std::string> Differing() const {
    return DifferingTables(prod_, prod_db_, dev_, dev_db_, {"public"});
  }

  // Digest of every shared table on dev, in one string.
  std::string DevDigest() const {
    std::string digest;
    for (const auto& table : UserTables(dev_, dev_db_, {"public"}))
      digest +=
          table + "=" +
          TableDigest(dev_, dev_db_, table, SharedColumns(prod_, prod_db_, dev_, dev_db_, table)) +
          "\n";
    return digest;
  }

  std::string DisabledUserTriggers() const {
    return DevSql("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'");
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
  ScratchDir scratch_;
  std::string report_path_ = scratch_ / "report.json";
};

TEST_F(IncrementalSync, FirstRunIsFullAndASecondRunWithoutChangesMovesNothing) {
  BothSql(kItems);
  BothSql("CREATE TABLE public.tags (id int PRIMARY KEY, name text)");
  ProdSql(
      "INSERT INTO public.items (id, v) SELECT g, 'v' || g FROM generate_series(1, 200) g;"
      "INSERT INTO public.tags SELECT g, 't' || g FROM generate_series(1, 50) g");

  json first = Sync();
  EXPECT_EQ(Entry(first, "public.items").value("mode", ""), "full");
  EXPECT_EQ(Entry(first, "public.tags").value("mode", ""), "full");
  EXPECT_EQ(Entry(first, "public.items").value("inserted", 0), 200);
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.sync_state"), "2");

  json second = Sync();
  EXPECT_EQ(Entry(second, "public.items").value("mode", ""), "watermark");
  EXPECT_EQ(Entry(second, "public.tags").value("mode", ""), "diff");
  EXPECT_EQ(Moved(Entry(second, "public.items")), 0u);
  EXPECT_EQ(Moved(Entry(second, "public.tags")), 0u);
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(DevSql("SELECT string_agg(table_name || ':' || mode, ',' ORDER BY table_name) "
                   "FROM _freshet.sync_state"),
            "items:watermark,tags:diff");
}

// Transactions open on the source while a run reads: their rows have an
// updated_at older than what the run saw, yet the next run must have them.
TEST_F(IncrementalSync, LateCommitsAreTakenByTheNextRun) {
  BothSql(kItems);
  ProdSql("INSERT INTO public.items (id, v) SELECT g, 'v' || g FROM generate_series(1, 10) g");
  Sync();

  Connection late = Connection::Open(Prod(), "late");
  late.Exec("BEGIN");
  late.Exec("UPDATE public.items SET v = 'late', updated_at = now() WHERE id = 1");
  Connection sub = Connection::Open(Prod(), "savepoint");
  sub.Exec("BEGIN");
  sub.Exec("SAVEPOINT s");
  sub.Exec("UPDATE public.items SET v = 'in savepoint', updated_at = now() WHERE id = 2");
  sub.Exec("RELEASE SAVEPOINT s");
  Connection early = Connection::Open(Prod(), "early");
  early.Exec("BEGIN");
  early.Exec("SELECT now()");
  // A newer committed row: the run's watermark passes the open ones.
  ProdSql("INSERT INTO public.items (id, v) VALUES (11, 'newer')");

  json during = Sync();
  EXPECT_EQ(DevSql("SELECT v FROM public.items WHERE id = 11"), "newer");
  EXPECT_EQ(DevSql("SELECT v FROM public.items WHERE id = 1"), "v1");

  early.Exec("UPDATE public.items SET v = 'began early', updated_at = now() WHERE id = 3");
  late.Exec("COMMIT");
  sub.Exec("COMMIT");
  early.Exec("COMMIT");
  ASSERT_LT(ProdSql("SELECT max(updated_at) FROM public.items WHERE id IN (1, 2, 3)"),
            ProdSql("SELECT updated_at FROM public.items WHERE id = 11"));

  json after = Sync();
  EXPECT_EQ(Entry(after, "public.items").value("mode", ""), "watermark");
  EXPECT_EQ(DevSql("SELECT string_agg(v, ',' ORDER BY id) FROM public.items WHERE id <= 3"),
            "late,in savepoint,began early");
  EXPECT_EQ(Entry(after, "public.items").value("updated", 0), 3);
  EXPECT_THAT(Differing(), IsEmpty());
}

TEST_F(IncrementalSync, DeletesFkActionsKeyChangesAndPartitionMovesEndEqual) {
  BothSql(R"sql(
CREATE TABLE public.parents (id int PRIMARY KEY, updated_at timestamptz DEFAULT now());
CREATE TABLE public.loose (id int PRIMARY KEY,
  parent_id int REFERENCES public.parents ON DELETE SET NULL,
  updated_at timestamptz DEFAULT now());
CREATE TABLE public.owned (id int PRIMARY KEY,
  parent_id int REFERENCES public.parents ON DELETE CASCADE,
  updated_at timestamptz DEFAULT now());
CREATE TABLE public.events (id int, at date, v text, updated_at timestamptz DEFAULT now(),
  PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE public.events_2025 PARTITION OF public.events
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.events_2026 PARTITION OF public.events
  FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
)sql");
  ProdSql(R"sql(
INSERT INTO public.parents (id) SELECT g FROM generate_series(1, 20) g;
INSERT INTO public.loose (id, parent_id) SELECT g, g FROM generate_series(1, 20) g;
INSERT INTO public.owned (id, parent_id) SELECT g, g FROM generate_series(1, 20) g;
INSERT INTO public.events (id, at, v) SELECT g, date '2025-06-01' + g, 'e' FROM generate_series(1, 40) g;
)sql");
  Sync();
  ASSERT_THAT(Differing(), IsEmpty());
  std::vector<std::string> fks = ForeignKeys(dev_, dev_db_);

  ProdSql(R"sql(
DELETE FROM public.parents WHERE id IN (2, 3);  -- loose 2,3 set NULL, owned 2,3 deleted
DELETE FROM public.loose WHERE id = 10;
UPDATE public.owned SET id = 1000 WHERE id = 5;  -- a primary key change, watermark untouched
UPDATE public.events SET at = date '2026-02-01' WHERE id = 7;  -- moves partition
)sql");
  ASSERT_EQ(ProdSql("SELECT count(*) FROM public.loose WHERE parent_id IS NULL"), "2");

  json report = Sync();
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(DevSql("SELECT string_agg(id::text, ',' ORDER BY id) FROM public.loose "
                   "WHERE parent_id IS NULL"),
            "2,3");
  EXPECT_EQ(DevSql("SELECT tableoid::regclass FROM public.events WHERE id = 7"), "events_2026");
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.events WHERE id = 7"), "1");
  EXPECT_EQ(Entry(report, "public.parents").value("deleted", 0), 2);
  EXPECT_EQ(Entry(report, "public.loose").value("deleted", 0), 1);
  EXPECT_EQ(Entry(report, "public.events").value("inserted", 0), 1);
  EXPECT_EQ(Entry(report, "public.events").value("deleted", 0), 1);
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

TEST_F(IncrementalSync, RowsTiedOnTheWatermarkCommittedAfterARunAreTaken) {
  BothSql(kItems);
  ProdSql(
      "INSERT INTO public.items SELECT g, 'v', timestamptz '2026-01-01 00:00:00+00' "
      "FROM generate_series(1, 5000) g");
  Sync();  // full: the state exists from here
  ProdSql("UPDATE public.items SET v = 'first half' WHERE id <= 2500");
  json first = Sync();
  EXPECT_EQ(Entry(first, "public.items").value("mode", ""), "watermark");
  EXPECT_EQ(Entry(first, "public.items").value("updated", 0), 2500);

  ProdSql(
      "UPDATE public.items SET v = 'second half', "
      "updated_at = timestamptz '2026-01-01 00:00:00+00' WHERE id > 2500");
  json second = Sync();
  EXPECT_EQ(Entry(second, "public.items").value("updated", 0), 2500);
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.items WHERE v = 'second half'"), "2500");
  EXPECT_THAT(Differing(), IsEmpty());
}

TEST_F(IncrementalSync, RowsWithANullWatermarkAreSynced) {
  BothSql(kItems);
  ProdSql("INSERT INTO public.items (id, v) SELECT g, 'v' FROM generate_series(1, 20) g");
  Sync();
  ProdSql(
      "INSERT INTO public.items VALUES (21, 'null stamp', NULL);"
      "UPDATE public.items SET v = 'nulled', updated_at = NULL WHERE id = 5");
  json report = Sync();
  EXPECT_EQ(Entry(report, "public.items").value("inserted", 0), 1);
  EXPECT_EQ(Entry(report, "public.items").value("updated", 0), 1);
  EXPECT_EQ(DevSql("SELECT v FROM public.items WHERE updated_at IS NULL ORDER BY id LIMIT 1"),
            "nulled");
  EXPECT_THAT(Differing(), IsEmpty());

  ProdSql("UPDATE public.items SET v = 'still null' WHERE id = 21");
  Sync();
  EXPECT_EQ(DevSql("SELECT v FROM public.items WHERE id = 21"), "still null");
  EXPECT_THAT(Differing(), IsEmpty());
}

TEST_F(IncrementalSync, ForeignKeyCycleWithChangesOnBothSidesEndsEqualWithValidKeys) {
  BothSql(R"sql(
CREATE TABLE public.tasks (id int PRIMARY KEY, item_id int, updated_at timestamptz DEFAULT now());
CREATE TABLE public.action_items (id int PRIMARY KEY, task_id int REFERENCES public.tasks,
  updated_at timestamptz DEFAULT now());
ALTER TABLE public.tasks ADD FOREIGN KEY (item_id) REFERENCES public.action_items;
)sql");
  ProdSql(R"sql(
INSERT INTO public.tasks (id) VALUES (1), (2);
INSERT INTO public.action_items (id, task_id) VALUES (1, 1), (2, 2);
UPDATE public.tasks SET item_id = id;
)sql");
  Sync();
  ASSERT_THAT(Differing(), IsEmpty());
  std::vector<std::string> fks = ForeignKeys(dev_, dev_db_);

  ProdSql(R"sql(
INSERT INTO public.tasks (id) VALUES (3);
INSERT INTO public.action_items (id, task_id) VALUES (3, 3);
UPDATE public.tasks SET item_id = 3, updated_at = now() WHERE id = 3;
UPDATE public.tasks SET item_id = 2, updated_at = now() WHERE id = 1;
UPDATE public.action_items SET task_id = 2, updated_at = now() WHERE id = 1;
)sql");
  Sync();
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(DevSql("SELECT item_id FROM public.tasks WHERE id = 3"), "3");
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

// A run killed while paused at each point of the merge leaves dev as it was
// (one transaction), no user trigger disabled; the next run ends equal.
TEST_F(IncrementalSync, KillAtEachMergePointLeavesDevUnchangedAndTheNextRunEndsEqual) {
  BothSql(kItems);
  BothSql(R"sql(
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER items_touch BEFORE UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION public.touch();
)sql");
  ProdSql("INSERT INTO public.items (id, v) SELECT g, 'v' FROM generate_series(1, 100) g");
  Sync();
  ASSERT_THAT(Differing(), IsEmpty());

  int round = 0;
  for (const char* point : {"merge upserted", "merge deleted", "merge before commit"}) {
    SCOPED_TRACE(point);
    ++round;
    ProdSql("UPDATE public.items SET v = 'round " + std::to_string(round) +
            "' WHERE id % 7 = 0; DELETE FROM public.items WHERE id = " + std::to_string(round) +
            "; INSERT INTO public.items (id, v) VALUES (" + std::to_string(1000 + round) +
            ", 'new')");
    std::string before = DevDigest();
    PausePoint pause(point);
    BackgroundProcess run = StartSync({}, pause);
    std::optional<RunResult> ended;
    ASSERT_TRUE(pause.WaitUntilPaused(run, &ended)) << (ended ? ended->err : run.Stderr());
    run.Signal(SIGKILL);
    ASSERT_EQ(run.Wait().signal, SIGKILL);
    EXPECT_EQ(DevDigest(), before);
    EXPECT_EQ(DisabledUserTriggers(), "0");
    EXPECT_NE(Differing(), std::vector<std::string>{});
  }
  Sync();
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(DisabledUserTriggers(), "0");
}

TEST_F(IncrementalSync, ColumnAddedOnBothSidesRefreshesTheTableWhole) {
  BothSql(kItems);
  ProdSql("INSERT INTO public.items (id, v) SELECT g, 'v' FROM generate_series(1, 30) g");
  Sync();
  BothSql("ALTER TABLE public.items ADD COLUMN extra int");
  ProdSql("UPDATE public.items SET extra = id");  // updated_at does not move
  json report = Sync();
  json entry = Entry(report, "public.items");
  EXPECT_EQ(entry.value("mode", ""), "full");
  EXPECT_THAT(entry.value("mode_reason", ""), HasSubstr("changed"));
  EXPECT_THAT(Differing(), IsEmpty());
}

TEST_F(IncrementalSync, DevOnlyColumnKeepsItsValuesOnUpdatesAndGetsItsDefaultOnInserts) {
  BothSql(kItems);
  ProdSql("INSERT INTO public.items (id, v) SELECT g, 'v' FROM generate_series(1, 10) g");
  Sync();
  DevSql(
      "ALTER TABLE public.items ADD COLUMN note text DEFAULT 'dev default';"
      "UPDATE public.items SET note = 'kept' WHERE id = 1");
  ProdSql(
      "UPDATE public.items SET v = 'changed', updated_at = now() WHERE id = 1;"
      "INSERT INTO public.items (id, v) VALUES (11, 'new')");
  json report = Sync();
  EXPECT_EQ(Entry(report, "public.items").value("mode", ""), "watermark");
  EXPECT_EQ(DevSql("SELECT v || '/' || note FROM public.items WHERE id = 1"), "changed/kept");
  EXPECT_EQ(DevSql("SELECT v || '/' || note FROM public.items WHERE id = 11"), "new/dev default");
  EXPECT_THAT(Differing(), IsEmpty());
}

TEST_F(IncrementalSync, SourceTypeChangeTheTargetCannotTakeIsAPlanErrorAndDevIsUnchanged) {
  BothSql(
      "CREATE TABLE public.orders (id int PRIMARY KEY, amount int, "
      "updated_at timestamptz DEFAULT now())");
  ProdSql("INSERT INTO public.orders (id, amount) SELECT g, g FROM generate_series(1, 10) g");
  Sync();
  std::string before = DevDigest();
  ProdSql(
      "ALTER TABLE public.orders ALTER COLUMN amount TYPE text;"
      "UPDATE public.orders SET amount = 'twelve', updated_at = now() WHERE id = 2");
  RunResult run = Freshet(SyncArgs({}));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr("public.orders"));
  EXPECT_THAT(run.err, HasSubstr("amount"));
  EXPECT_EQ(DevDigest(), before);
}

TEST_F(IncrementalSync, TableWithoutPrimaryKeyEndsEqualWithDuplicates) {
  BothSql("CREATE TABLE public.log (v text, n int)");
  ProdSql("INSERT INTO public.log SELECT 'row', g % 5 FROM generate_series(1, 100) g");
  Sync();
  ASSERT_THAT(Differing(), IsEmpty());
  ProdSql(R"sql(
INSERT INTO public.log VALUES ('row', 1), ('row', 1), ('fresh', 9);
DELETE FROM public.log WHERE ctid = (SELECT min(ctid) FROM public.log WHERE n = 2);
DELETE FROM public.log WHERE n = 3;
)sql");
  json report = Sync();
  EXPECT_EQ(Entry(report, "public.log").value("mode", ""), "diff");
  EXPECT_THAT(Entry(report, "public.log").value("mode_reason", ""), HasSubstr("primary key"));
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.log WHERE n = 1"),
            ProdSql("SELECT count(*) FROM public.log WHERE n = 1"));
}

TEST_F(IncrementalSync, DevOnlyTriggerDoesNotFireDuringTheMerge) {
  BothSql(kItems);
  ProdSql(
      "INSERT INTO public.items (id, v, updated_at) SELECT g, 'v', "
      "timestamptz '2026-01-01 00:00:00+00' FROM generate_series(1, 10) g");
  Sync();
  DevSql(R"sql(
CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER items_stamp BEFORE UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION public.stamp();
)sql");
  ProdSql(
      "UPDATE public.items SET v = 'changed', "
      "updated_at = timestamptz '2026-01-02 00:00:00+00' WHERE id = 4");
  json report = Sync();
  EXPECT_EQ(Entry(report, "public.items").value("updated", 0), 1);
  EXPECT_EQ(DevSql("SELECT updated_at = timestamptz '2026-01-02 00:00:00+00' FROM public.items "
                   "WHERE id = 4"),
            "t");
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(DevSql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'items_stamp'"), "O");
}

TEST_F(IncrementalSync, SourceWrittenDuringTheRunEndsEqualAfterAFinalRun) {
  BothSql(kItems);
  ProdSql("INSERT INTO public.items (id, v) SELECT g, 'v' FROM generate_series(1, 500) g");
  Sync();

  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::thread writer([&] {
    Connection source = Connection::Open(Prod(), "writer");
    for (int i = 0; !stop; ++i) {
      source.Exec("INSERT INTO public.items (id, v) VALUES (" + std::to_string(10000 + i) +
                  ", 'w')");
      source.Exec("UPDATE public.items SET v = 'u" + std::to_string(i) +
                  "', updated_at = now() WHERE id = " + std::to_string(1 + i % 500));
      source.Exec("DELETE FROM public.items WHERE id = " + std::to_string(10000 + i / 2));
      rounds.fetch_add(1);
    }
  });
  {
    PausePoint pause("start stage public.items");
    BackgroundProcess run = StartSync({}, pause);
    std::optional<RunResult> ended;
    bool paused = pause.WaitUntilPaused(run, &ended).has_value();
    // The writer commits while the run holds its snapshot.
    int seen = rounds.load();
    while (paused && rounds.load() < seen + 20) std::this_thread::yield();
    pause.Release();
    RunResult result = ended ? *ended : run.Wait();
    EXPECT_TRUE(paused) << result.err;
    EXPECT_EQ(result.exit_code, 0) << result.err;
  }
  stop = true;
  writer.join();
  Sync();
  EXPECT_THAT(Differing(), IsEmpty());
}

TEST_F(IncrementalSync, DiffRepairsDevDrift) {
  BothSql(kItems);
  ProdSql("INSERT INTO public.items (id, v) SELECT g, 'v' || g FROM generate_series(1, 1000) g");
  Sync();
  DevSql(R"sql(
UPDATE public.items SET v = 'drifted' WHERE id % 97 = 0;
DELETE FROM public.items WHERE id BETWEEN 300 AND 310;
INSERT INTO public.items (id, v) VALUES (5000, 'dev only'), (5001, 'dev only');
)sql");
  ASSERT_THAT(Differing(), ::testing::ElementsAre("public.items"));
  json report = Sync({"--diff", "*"});
  json entry = Entry(report, "public.items");
  EXPECT_EQ(entry.value("mode", ""), "diff");
  EXPECT_EQ(entry.value("updated", 0), 10);
  EXPECT_EQ(entry.value("inserted", 0), 11);
  EXPECT_EQ(entry.value("deleted", 0), 2);
  EXPECT_THAT(Differing(), IsEmpty());
}

// Keys at the ends of bigint that the source deleted: outside the range its
// buckets are cut from, the target's copies fall in the first and last
// bucket. And a diff of a partitioned table, whose rows are selected by
// partition and location.
TEST_F(IncrementalSync, EdgeKeysAndPartitionedRowsEndEqualInWatermarkAndDiffModes) {
  BothSql(R"sql(
CREATE TABLE public.ledger (id bigint PRIMARY KEY, v text, updated_at timestamptz DEFAULT now());
CREATE TABLE public.events (id int, k int, v text, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
CREATE TABLE public.events_a PARTITION OF public.events FOR VALUES FROM (0) TO (100);
CREATE TABLE public.events_b PARTITION OF public.events FOR VALUES FROM (100) TO (200);
)sql");
  ProdSql(R"sql(
INSERT INTO public.ledger (id, v) SELECT g, 'v' || g FROM generate_series(1, 3000) g;
INSERT INTO public.ledger (id, v) VALUES (-9223372036854775808, 'min'), (-5, 'neg'),
  (9223372036854775807, 'max');
INSERT INTO public.events SELECT g, g % 200, 'e' || g FROM generate_series(1, 3000) g;
)sql");
  Sync();
  ProdSql(R"sql(
DELETE FROM public.ledger WHERE id IN (-9223372036854775808, 9223372036854775807, 1500);
UPDATE public.ledger SET v = 'changed', updated_at = now() WHERE id IN (-5, 2999);
INSERT INTO public.ledger (id, v) VALUES (3001, 'new');
DELETE FROM public.events WHERE id % 500 = 0;
UPDATE public.events SET v = 'moved', k = k + 100 WHERE id % 301 = 0 AND k < 100;
UPDATE public.events SET v = 'changed' WHERE id % 211 = 0;
ANALYZE public.ledger;  -- its size sets the bucket count: about 100 ranges of ids
)sql");
  json report = Sync({"--diff", "public.events"});
  json ledger = Entry(report, "public.ledger");
  EXPECT_EQ(ledger.value("mode", ""), "watermark");
  EXPECT_EQ(ledger.value("deleted", 0), 3);
  EXPECT_EQ(ledger.value("inserted", 0), 1);
  EXPECT_EQ(ledger.value("updated", 0), 2);
  json events = Entry(report, "public.events");
  EXPECT_EQ(events.value("mode", ""), "diff");
  EXPECT_THAT(Differing(), IsEmpty());
  // Only the changed rows moved: not whole buckets of neighbours.
  uint64_t changed =
      std::stoull(ProdSql("SELECT count(*) FROM public.events WHERE v IN ('moved', 'changed')"));
  EXPECT_EQ(events.value("inserted", uint64_t{0}) + events.value("updated", uint64_t{0}), changed);
}

// A diff-mode table with more rows than a row diff holds in memory (the
// limit lowered for the test) is compared by buckets instead, and ends equal.
TEST_F(IncrementalSync, DiffOverTheRowLimitFallsBackToBucketsAndEndsEqual) {
  BothSql(kItems);
  BothSql("CREATE TABLE public.plain (a int, b text)");  // no key
  ProdSql(
      "INSERT INTO public.items (id, v) SELECT g, 'v' || g FROM generate_series(1, 2000) g;"
      "INSERT INTO public.plain SELECT g % 50, 'p' FROM generate_series(1, 500) g");
  Sync();
  ProdSql(
      "UPDATE public.items SET v = 'changed' WHERE id % 100 = 0;"
      "DELETE FROM public.items WHERE id % 333 = 0;"
      "INSERT INTO public.plain VALUES (7, 'p'), (1000, 'new');"
      "DELETE FROM public.plain WHERE a = 3");
  std::filesystem::remove(report_path_);
  RunResult run = Freshet(SyncArgs({"--diff", "*"}), {{"FRESHET_TEST_ROW_DIFF_LIMIT", "100"}});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("public.items: more rows than a row-by-row diff holds"));
  EXPECT_THAT(run.err, HasSubstr("public.plain: more rows than a row-by-row diff holds"));
  EXPECT_THAT(Differing(), IsEmpty());
}

// Rows are selected by location between the diff and the merge: a target
// row rewritten in between (something else writing dev) is refused before
// anything changes, never deleted by a stale location or left behind.
TEST_F(IncrementalSync, TargetRowsRewrittenBetweenDiffAndMergeAreRefusedAndDevIsUnchanged) {
  BothSql("CREATE TABLE public.plain (a int, b text)");  // no key: replaced by location
  ProdSql("INSERT INTO public.plain SELECT g, 'p' FROM generate_series(1, 300) g");
  Sync();
  ProdSql(
      "DELETE FROM public.plain WHERE a IN (10, 20); INSERT INTO public.plain VALUES (999, 'n')");
  std::string before;
  {
    PausePoint staged("done stage public.plain");
    BackgroundProcess run = StartSync({"--diff", "*"}, staged);
    std::optional<RunResult> ended;
    ASSERT_TRUE(staged.WaitUntilPaused(run, &ended)) << (ended ? ended->err : run.Stderr());
    DevSql("UPDATE public.plain SET b = 'rewritten' WHERE a = 10");  // a row the run removes
    before = DevDigest();
    staged.Release();
    RunResult result = ended ? *ended : run.Wait();
    EXPECT_NE(result.exit_code, 0);
    EXPECT_THAT(result.err, HasSubstr("public.plain: 1 of the 2 rows to replace changed on the "
                                      "target since they were read"));
  }
  EXPECT_EQ(DevDigest(), before);  // the merge rolled back
  Sync({"--diff", "*"});
  EXPECT_THAT(Differing(), IsEmpty());
}

// A column under a case-insensitive collation: 'A' and 'a' are equal to it,
// yet a change from one to the other must reach dev.
TEST_F(IncrementalSync, ACaseOnlyChangeUnderACaseInsensitiveCollationReachesDev) {
  BothSql(R"sql(
CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE public.names (id int PRIMARY KEY, name text COLLATE public.ci,
                           updated_at timestamptz DEFAULT now());
)sql");
  ProdSql("INSERT INTO public.names (id, name) VALUES (1, 'Alice'), (2, 'Bob')");
  Sync();
  ProdSql("UPDATE public.names SET name = 'ALICE', updated_at = now() WHERE id = 1");
  json report = Sync();
  EXPECT_EQ(Entry(report, "public.names").value("updated", 0), 1);
  EXPECT_EQ(DevSql("SELECT name FROM public.names WHERE id = 1"), "ALICE");
  ProdSql("UPDATE public.names SET name = 'bob' WHERE id = 2");
  Sync({"--diff", "*"});
  EXPECT_EQ(DevSql("SELECT name FROM public.names WHERE id = 2"), "bob");
}

// A watermark run keeps the source's key summary in the state, and the next
// run takes the target's side from it (the target's keys are not read
// again). Deletes are still found run after run, among keys above the last
// run's greatest (the range buckets grow to reach them) and below its least;
// the changed rows of a big table are read in ctid chunks at once; and a
// summary that is not the last run's (an older freshet wrote the state
// without one) is never used.
TEST_F(IncrementalSync, KeySummariesOfTheLastRunFindDeletesRunAfterRun) {
  BothSql(R"sql(
CREATE TABLE public.ledger (id bigint PRIMARY KEY, pad text, updated_at timestamptz DEFAULT now());
)sql");
  ProdSql(R"sql(
INSERT INTO public.ledger (id, pad) SELECT g, repeat('x', 100) FROM generate_series(1, 40000) g;
ANALYZE public.ledger;
)sql");
  Sync();  // first run: full
  auto stored = [&] {
    return DevSql("SELECT key_sums FROM _freshet.sync_state WHERE table_name = 'ledger'");
  };
  auto compared = [](const json& entry) { return entry.value("compared_bytes", uint64_t{0}); };

  ProdSql(R"sql(
DELETE FROM public.ledger WHERE id % 997 = 0;
UPDATE public.ledger SET pad = 'changed', updated_at = now() WHERE id % 1009 = 0;
INSERT INTO public.ledger (id, pad) SELECT g, 'new' FROM generate_series(40001, 40100) g;
)sql");
  // Chunks of about 1 MB: the 5 MB table is read in several ctid ranges.
  json second = Sync({"--chunk-size", "1"});
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(Entry(second, "public.ledger").value("deleted", 0), 40);
  EXPECT_EQ(Entry(second, "public.ledger").value("inserted", 0), 100);
  std::string after_second = stored();
  ASSERT_THAT(after_second, ::testing::StartsWith("\\x"));

  ProdSql(R"sql(
DELETE FROM public.ledger WHERE id IN (40050, 40100, 20000);  -- two of last run's new keys
INSERT INTO public.ledger (id, pad) VALUES (-3, 'below'), (50000, 'above');
)sql");
  json third = Sync({"--chunk-size", "1"});
  EXPECT_THAT(Differing(), IsEmpty());
  EXPECT_EQ(Entry(third, "public.ledger").value("deleted", 0), 3);
  EXPECT_EQ(Entry(third, "public.ledger").value("inserted", 0), 2);
  // Only the source's keys were summarised this time: about half the bytes.
  EXPECT_LT(compared(Entry(third, "public.ledger")) * 4,
            compared(Entry(second, "public.ledger")) * 3);

  // The state keeps this run's horizon with a summary of an earlier run,
  // which lacks the keys since: a key added and deleted since then is in
  // a bucket both that summary and the source now have empty.
  ProdSql("INSERT INTO public.ledger (id, pad) VALUES (60000, 'short-lived'), (70000, 'stays')");
  Sync();
  DevSql("UPDATE _freshet.sync_state SET key_sums = '" + after_second +
         "'::bytea WHERE table_name = 'ledger'");
  ProdSql("DELETE FROM public.ledger WHERE id = 60000");
  Sync();
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.ledger WHERE id = 60000"), "0");
  EXPECT_THAT(Differing(), IsEmpty());
}

// Runs after the first compare the source's key summary with the one the
// last run stored. A delete and an insert in one range bucket, or a row
// moved to another partition under the same id, leave the bucket's count
// as it was: its sum of key hashes still differs, so both are found.
TEST_F(IncrementalSync, DeletesAndInsertsInOneBucketAndPartitionMovesAreFoundRunAfterRun) {
  BothSql(R"sql(
CREATE TABLE public.ledger (id bigint PRIMARY KEY, pad text, updated_at timestamptz DEFAULT now());
CREATE TABLE public.moves (id bigint, at date, pad text, updated_at timestamptz DEFAULT now(),
                           PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE public.moves_a PARTITION OF public.moves FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
CREATE TABLE public.moves_b PARTITION OF public.moves FOR VALUES FROM ('2025-07-01') TO ('2026-01-01');
)sql");
  ProdSql(R"sql(
INSERT INTO public.ledger (id, pad) SELECT g, 'v' FROM generate_series(1, 2000) g WHERE g NOT IN (2, 6);
INSERT INTO public.moves (id, at, pad) SELECT g, '2025-02-01', 'v' FROM generate_series(1, 2000) g;
ANALYZE public.ledger, public.moves;
)sql");
  Sync();  // full
  Sync();  // the first incremental run: stores the summaries
  ASSERT_EQ(DevSql("SELECT count(*) FROM _freshet.sync_state WHERE key_sums IS NOT NULL AND "
                   "table_name IN ('ledger', 'moves')"),
            "2");
  ProdSql(R"sql(
DELETE FROM public.ledger WHERE id IN (3, 5);
INSERT INTO public.ledger (id, pad) VALUES (2, 'n'), (6, 'n');
UPDATE public.moves SET at = '2025-08-01', updated_at = now() WHERE id = 10;
)sql");
  json run = Sync();
  EXPECT_EQ(DevSql("SELECT string_agg(id::text, ',' ORDER BY id) FROM public.ledger WHERE id < 8"),
            "1,2,4,6,7");
  EXPECT_EQ(DevSql("SELECT string_agg(at::text, ',') FROM public.moves WHERE id = 10"),
            "2025-08-01");
  EXPECT_EQ(Entry(run, "public.ledger").value("deleted", 0), 2);
  EXPECT_EQ(Entry(run, "public.ledger").value("inserted", 0), 2);
  EXPECT_EQ(Entry(run, "public.moves").value("deleted", 0), 1);
  EXPECT_EQ(Entry(run, "public.moves").value("inserted", 0), 1);
  EXPECT_THAT(Differing(), IsEmpty());
}

// A big table's deleted keys are collected in slices of its differing
// buckets, at once on several workers (forced here on small tables): range
// buckets compared with the stored summary, hash buckets (uuid keys) with
// the probe, and a composite key; each run's counts are exact and dev
// ends equal, with no staging table left.
TEST_F(IncrementalSync, DeletedKeysCollectedInSlicesAtOnceAreExactRunAfterRun) {
  BothSql(R"sql(
CREATE TABLE public.ledger (id bigint PRIMARY KEY, pad text, updated_at timestamptz DEFAULT now());
CREATE TABLE public.tokens (id uuid PRIMARY KEY, pad text, updated_at timestamptz DEFAULT now());
CREATE TABLE public.lines (doc int, line int, pad text, updated_at timestamptz DEFAULT now(),
                           PRIMARY KEY (doc, line));
)sql");
  ProdSql(R"sql(
INSERT INTO public.ledger (id, pad) SELECT g, 'v' FROM generate_series(1, 20000) g;
INSERT INTO public.tokens (id, pad)
  SELECT md5(g::text)::uuid, 'v' FROM generate_series(1, 5000) g;
INSERT INTO public.lines (doc, line, pad)
  SELECT d, l, 'v' FROM generate_series(1, 200) d, generate_series(1, 20) l;
ANALYZE public.ledger, public.tokens, public.lines;
)sql");
  const Environment sliced = {{"FRESHET_TEST_SLICE_DELETES", "1"}};
  Sync({"--jobs", "4"}, sliced);  // full
  Sync({"--jobs", "4"}, sliced);  // stores the summaries
  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string r = std::to_string(round);
    ProdSql(R"sql(
DELETE FROM public.ledger WHERE id % 331 = )sql" +
            r + R"sql(;
INSERT INTO public.ledger (id, pad) SELECT 20000 * )sql" +
            r + R"sql( + g, 'n'
  FROM generate_series(1, 50) g;
DELETE FROM public.tokens WHERE id IN (
  SELECT md5(g::text)::uuid FROM generate_series(1, 5000) g WHERE g % 97 = )sql" +
            r + R"sql();
INSERT INTO public.tokens (id, pad)
  SELECT md5((10000 * )sql" +
            r + R"sql( + g)::text)::uuid, 'n' FROM generate_series(1, 30) g;
DELETE FROM public.lines WHERE line = )sql" +
            r + R"sql( AND doc % 3 = 0;
)sql");
    json run = Sync({"--jobs", "4"}, sliced);
    EXPECT_EQ(Entry(run, "public.ledger").value("deleted", 0), 61);
    EXPECT_EQ(Entry(run, "public.ledger").value("inserted", 0), 50);
    EXPECT_EQ(Entry(run, "public.tokens").value("deleted", 0), 52);
    EXPECT_EQ(Entry(run, "public.tokens").value("inserted", 0), 30);
    EXPECT_EQ(Entry(run, "public.lines").value("deleted", 0), 66);
    EXPECT_THAT(Differing(), IsEmpty());
    EXPECT_EQ(DevSql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                     "c.relnamespace WHERE n.nspname = '_freshet' AND c.relname LIKE 'inc\\_%'"),
              "0");
  }
}

// Where the target holds one key more than the source in a bucket, that
// key is found on the target by the hash the sums give, without reading
// the source's keys: range buckets (against the stored summary) and hash
// buckets (against the probe), on tables and columns named like the
// statement's own aliases. A key the target lost by hand (drift) has no
// row there to find: its bucket falls back to the source's keys, and the
// run still deletes exactly what the source deleted.
TEST_F(IncrementalSync, DeletedKeysAreFoundByTheirHashOnTheTargetAndDriftFallsBack) {
  BothSql(R"sql(
CREATE TABLE public.u (b bigint, h int, n text, updated_at timestamptz DEFAULT now(),
                       PRIMARY KEY (b, h));
CREATE TABLE public.t (h uuid PRIMARY KEY, b text, u int, updated_at timestamptz DEFAULT now());
)sql");
  ProdSql(R"sql(
INSERT INTO public.u (b, h, n) SELECT g, g % 7, 'v' FROM generate_series(1, 20000) g;
INSERT INTO public.t (h, b, u) SELECT md5(g::text)::uuid, 'v', g FROM generate_series(1, 3000) g;
ANALYZE public.u, public.t;
)sql");
  Sync();  // full
  Sync();  // stores the summaries
  ProdSql(R"sql(
DELETE FROM public.u WHERE b % 500 = 7;
DELETE FROM public.t WHERE u % 150 = 1;
)sql");
  DevSql("DELETE FROM public.u WHERE b = 1007");  // drift: gone from dev too
  std::filesystem::remove(report_path_);
  std::vector<std::string> args = SyncArgs({});
  args.insert(args.begin(), "-v");
  RunResult run = Freshet(args);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json report = ReadReport();
  EXPECT_EQ(Entry(report, "public.u").value("deleted", 0), 39);
  EXPECT_EQ(Entry(report, "public.t").value("deleted", 0), 20);
  // One delete per range bucket of u: all but the drifted one by hash.
  EXPECT_THAT(run.err, HasSubstr("with their deleted key found by its hash"));
  EXPECT_THAT(run.err, ::testing::ContainsRegex("staged public\\.u: .*, 39 with their deleted"));
  EXPECT_THAT(run.err, ::testing::ContainsRegex("staged public\\.t: .*, [1-9][0-9]* with their"));
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.u WHERE b % 500 = 7"), "0");
  EXPECT_THAT(Differing(), IsEmpty());
}

// The merge transaction is open while the last tables stage: a staging
// failure then rolls it back (dev as before, the earlier tables' upserts
// gone too) and the run names that failure, not the merge's end.
TEST_F(IncrementalSync, AStagingFailureWhileTheMergeRunsRollsItBackAndIsTheErrorReported) {
  BothSql(R"sql(
CREATE TABLE public.owners (id bigint PRIMARY KEY, name text, updated_at timestamptz DEFAULT now());
CREATE TABLE public.pets (id bigint PRIMARY KEY, owner_id bigint REFERENCES public.owners,
                          pet_note text, updated_at timestamptz DEFAULT now());
)sql");
  ProdSql(R"sql(
INSERT INTO public.owners (id, name) SELECT g, 'o' FROM generate_series(1, 100) g;
INSERT INTO public.pets (id, owner_id, pet_note) SELECT g, 1 + g % 100, 'p' FROM generate_series(1, 2000) g;
)sql");
  Sync();
  Sync();
  // A user trigger of dev's: the merge disables it while it writes owners.
  DevSql(R"sql(
CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.name := NEW.name || '!'; RETURN NEW; END $$;
CREATE TRIGGER owners_stamp BEFORE UPDATE ON public.owners FOR EACH ROW EXECUTE FUNCTION public.stamp();
)sql");
  ProdSql(R"sql(
UPDATE public.owners SET name = 'changed', updated_at = now() WHERE id <= 10;
INSERT INTO public.owners (id, name) VALUES (101, 'new');
UPDATE public.pets SET pet_note = 'changed', owner_id = 101, updated_at = now() WHERE id <= 50;
)sql");
  std::string before = DevDigest();
  {
    PausePoint pause("start stage public.pets (differing buckets)");
    BackgroundProcess run = StartSync({}, pause);
    std::optional<RunResult> ended;
    ASSERT_TRUE(pause.WaitUntilPaused(run, &ended)) << (ended ? ended->err : run.Stderr());
    std::string stage = DevSql(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = '_freshet' AND "
        "column_name = 'pet_note' AND table_name LIKE '%rows'");
    ASSERT_THAT(stage, ::testing::StartsWith("inc_"));
    DevSql("DROP TABLE _freshet." + stage);  // pets' staged rows, gone before its last steps
    pause.Release();
    RunResult result = ended ? *ended : run.Wait();
    EXPECT_NE(result.exit_code, 0);
    EXPECT_THAT(result.err, ::testing::AllOf(HasSubstr(stage), HasSubstr("does not exist"),
                                             ::testing::Not(HasSubstr("staging stopped"))));
  }
  EXPECT_EQ(DevDigest(), before);
  EXPECT_EQ(DevSql("SELECT tgenabled FROM pg_catalog.pg_trigger WHERE tgname = 'owners_stamp'"),
            "O");  // enabled again with the rollback
  Sync();
  EXPECT_THAT(Differing(), IsEmpty());
}

}  // namespace
}  // namespace freshet::testing
