// `freshet snapshot` end to end: the reference workload captured from prod
// (whole or in ctid ranges) and restored into dev (one target or several in
// one command, or all but an excluded table), awkward schemas through a
// snapshot, and a capture stopped or killed half-way. Damaged snapshots and
// targets a snapshot cannot go into are in snapshot_damage_test.cc.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Index and constraint definitions as text: a restore must leave them exactly
// as they were.
constexpr const char* kIndexesSql =
    "SELECT string_agg(tablename || ' ' || indexdef, E'\\n' ORDER BY tablename, indexdef) "
    "FROM pg_indexes WHERE schemaname IN ('public', 'auth')";
constexpr const char* kConstraintsSql =
    "SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid), "
    "E'\\n' ORDER BY conrelid::regclass::text, conname) FROM pg_constraint WHERE connamespace IN "
    "('public'::regnamespace, 'auth'::regnamespace)";

// Creates a database in `cluster` as a copy of `from` and returns its name.
std::string CopyDatabase(PgCluster& cluster, const std::string& from, const std::string& hint) {
  std::string name = cluster.CreateUniqueDatabase(hint);
  cluster.DropDatabase(name);
  cluster.Psql("postgres", "CREATE DATABASE \"" + name + "\" TEMPLATE \"" + from + "\"");
  return name;
}

// The rows column of `table`'s line in `snapshot inspect` output, or "" when
// no line names the table.
std::string InspectedRows(const std::string& inspect_out, const std::string& table) {
  for (const auto& line : Lines(inspect_out)) {
    std::istringstream words(line);
    std::string name, rows;
    if (words >> name >> rows && name == table) return rows;
  }
  return "";
}

class WorkloadSnapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    LoadWorkload(prod_, prod_db_, dev_, dev_db_, 0.01);
  }
  std::string Prod() const { return prod_.Url(prod_db_); }
  std::string Dev() const { return dev_.Url(dev_db_); }
  std::string DevSql(const std::string& sql) const { return dev_.Psql(dev_db_, sql); }
  RunResult Capture(const std::string& out) {
    return Freshet(
        {"snapshot", "capture", "--from", Prod(), "--out", out, "--include", "auth.users"});
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
  ScratchDir scratch_;
};

TEST_F(WorkloadSnapshot, RoundTripMakesDevEqualToProdAndKeepsDevSchema) {
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  std::string indexes_before = DevSql(kIndexesSql);
  std::string constraints_before = DevSql(kConstraintsSql);
  std::string flags_before =
      DevSql("SELECT string_agg(key || enabled::text, ',' ORDER BY key) FROM public.feature_flags");
  std::string snapshot = scratch_ / "prod";
  RunResult capture = Capture(snapshot);
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  ASSERT_TRUE(fs::exists(fs::path(snapshot) / "manifest.json"));

  RunResult restore = Freshet({"snapshot", "restore", snapshot, "--to", Dev(), "--verify"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_NE(DevSql("SELECT count(*) FROM auth.users"), "0");
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.contacts"),
            prod_.Psql(prod_db_, "SELECT count(*) FROM public.contacts"));
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks_before);
  EXPECT_EQ(DevSql(kIndexesSql), indexes_before);
  EXPECT_EQ(DevSql(kConstraintsSql), constraints_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'deals_touch'"), "O");
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal"), "0");
  // Dev is a migration ahead: its own column holds its default, its own table
  // is left alone.
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.contacts WHERE linkedin_url IS NOT NULL"), "0");
  EXPECT_EQ(
      DevSql("SELECT string_agg(key || enabled::text, ',' ORDER BY key) FROM public.feature_flags"),
      flags_before);
}

TEST_F(WorkloadSnapshot, RestoreAdvancesSequencesPastRestoredRows) {
  std::string snapshot = scratch_ / "prod";
  ASSERT_EQ(Capture(snapshot).exit_code, 0);
  RunResult restore = Freshet({"snapshot", "restore", snapshot, "--to", Dev()});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  for (const char* table : {"companies", "contacts", "deals"}) {
    SCOPED_TRACE(table);
    EXPECT_EQ(DevSql(std::string("SELECT count(*) FROM pg_sequences s WHERE s.sequencename = '") +
                     table + "_id_seq' AND coalesce(s.last_value, 0) < (SELECT max(id) FROM " +
                     "public." + table + ")"),
              "0");
  }
  // New rows take the next ids instead of colliding with restored ones.
  EXPECT_NO_THROW(DevSql("INSERT INTO public.organizations (name) VALUES ('new org')"));
  EXPECT_NO_THROW(
      DevSql("INSERT INTO public.companies (org_id, name) SELECT id, 'new co' FROM "
             "public.organizations LIMIT 1"));
}

// --targets: what each order reports doing with dev and dev2 (one server) and
// staging (the other server).
struct TargetsOrder {
  const char* option;
  const char* schedule;  // in the "restoring ..." log line
};
class SeveralTargets : public WorkloadSnapshot,
                       public ::testing::WithParamInterface<TargetsOrder> {};

TEST_P(SeveralTargets, OneCaptureRestoresIntoSeveralTargetsInOneCommand) {
  // A second dev with stale edits of its own, and a staging database with
  // prod's schema (no dev-only column) on the other server.
  std::string dev2_db = CopyDatabase(dev_, dev_db_, "dev2");
  std::string staging_db = CopyDatabase(prod_, prod_db_, "staging");
  dev_.Psql(dev2_db, "DELETE FROM public.audit_log; UPDATE public.deals SET title = 'stale dev2'");
  prod_.Psql(staging_db,
             "DELETE FROM public.audit_log; UPDATE public.deals SET title = 'stale staging'");
  std::string snapshot = scratch_ / "prod";
  ASSERT_EQ(Capture(snapshot).exit_code, 0);

  RunResult restore =
      Freshet({"snapshot", "restore", snapshot, "--to", Dev(), "--to", dev_.Url(dev2_db), "--to",
               prod_.Url(staging_db), "--verify", "--targets", GetParam().option});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_THAT(restore.err, HasSubstr(std::string("into 3 target(s)") + GetParam().schedule));
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev2_db), IsEmpty());
  EXPECT_THAT(DifferingTables(prod_, prod_db_, prod_, staging_db), IsEmpty());
  for (const auto& [cluster, db] : std::vector<std::pair<PgCluster*, std::string>>{
           {&dev_, dev_db_}, {&dev_, dev2_db}, {&prod_, staging_db}}) {
    SCOPED_TRACE(db);
    EXPECT_THAT(InvalidConstraintsAndIndexes(*cluster, db), IsEmpty());
    EXPECT_EQ(cluster->Psql(db, "SELECT count(*) FROM public.deals WHERE title LIKE 'stale %'"),
              "0");
  }

  RunResult inspect = Freshet({"snapshot", "inspect", snapshot});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  std::vector<std::string> captured = UserTables(prod_, prod_db_, {"public"});
  captured.push_back("auth.users");
  for (const auto& table : captured) {
    SCOPED_TRACE(table);
    EXPECT_EQ(InspectedRows(inspect.out, table),
              prod_.Psql(prod_db_, "SELECT count(*) FROM " + table));
  }
}

INSTANTIATE_TEST_SUITE_P(Orders, SeveralTargets,
                         ::testing::Values(TargetsOrder{"auto", " on 2 servers, in 2 turns"},
                                           TargetsOrder{"together", " on 2 server(s), all at once"},
                                           TargetsOrder{"in-turn", " in turn"}),
                         [](const ::testing::TestParamInfo<TargetsOrder>& info) {
                           std::string name = info.param.option;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST_F(WorkloadSnapshot, TwoUrlsOfOneServerCountAsOneServerAndRestoreInTurn) {
  std::string dev2_db = CopyDatabase(dev_, dev_db_, "dev2");
  std::string snapshot = scratch_ / "prod";
  ASSERT_EQ(Capture(snapshot).exit_code, 0);
  // The same server by its TCP address and by its Unix socket directory.
  std::string by_socket =
      fmt::format("host={} port={} user=postgres dbname={}", dev_.dir(), dev_.port(), dev2_db);
  RunResult restore = Freshet({"snapshot", "restore", snapshot, "--to", Dev(), "--to", by_socket});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_THAT(restore.err, HasSubstr("into 2 target(s) in turn"));
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev2_db), IsEmpty());
}

TEST_F(WorkloadSnapshot, CaptureSplitIntoCtidRangesRestoresEqual) {
  auto data_files = [](const std::string& snapshot) {
    return std::distance(fs::directory_iterator(fs::path(snapshot) / "data"),
                         fs::directory_iterator());
  };
  std::string whole = scratch_ / "whole", chunked = scratch_ / "chunked";
  ASSERT_EQ(Capture(whole).exit_code, 0);
  RunResult capture = Freshet({"snapshot", "capture", "--from", Prod(), "--out", chunked,
                               "--include", "auth.users", "--chunk-size", "1"});
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  ASSERT_GT(data_files(chunked), data_files(whole)) << "no table was split into ctid ranges";

  RunResult restore = Freshet({"snapshot", "restore", chunked, "--to", Dev(), "--verify"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  RunResult inspect = Freshet({"snapshot", "inspect", chunked});
  EXPECT_EQ(InspectedRows(inspect.out, "public.activities"),
            prod_.Psql(prod_db_, "SELECT count(*) FROM public.activities"));
}

TEST_F(WorkloadSnapshot, RestoreWithExcludeLeavesTheExcludedTableAsItWas) {
  const std::vector<std::string> columns{"at", "actor", "action", "detail"};
  std::string audit_before = TableDigest(dev_, dev_db_, "public.audit_log", columns);
  ASSERT_NE(audit_before, TableDigest(prod_, prod_db_, "public.audit_log", columns));
  std::string snapshot = scratch_ / "prod";
  ASSERT_EQ(Capture(snapshot).exit_code, 0);

  RunResult restore = Freshet({"snapshot", "restore", snapshot, "--to", Dev(), "--exclude",
                               "public.audit_log", "--verify"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(TableDigest(dev_, dev_db_, "public.audit_log", columns), audit_before);
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_),
              ::testing::ElementsAre("public.audit_log"));
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

// Starts a capture of `url` into `snapshot` and returns once it is stopped
// at `pause` after its second data file (one job: nothing else runs), with
// `partial` set to its partial directory.
BackgroundProcess StartPausedCapture(const std::string& url, const fs::path& snapshot,
                                     PausePoint& pause, fs::path& partial) {
  BackgroundProcess capture =
      StartCommand({FreshetBinary(), "snapshot", "capture", "--from", url, "--out",
                    snapshot.string(), "--include", "auth.users", "--jobs", "1"},
                   pause.Env());
  if (!pause.WaitUntilPaused(capture)) return capture;
  std::string prefix = "." + snapshot.filename().string() + ".partial-";
  for (const auto& entry : fs::directory_iterator(snapshot.parent_path()))
    if (entry.path().filename().string().starts_with(prefix)) partial = entry.path();
  return capture;
}

// A restore killed half-way resumes: each file's COPY and its record commit
// together, so the next restore of the same snapshot loads only the files
// the dead one had not, and rebuilds from its journal.
TEST_F(WorkloadSnapshot, KilledRestoreResumesWithTheFilesItHadNotLoaded) {
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  std::string indexes_before = DevSql(kIndexesSql);
  std::string snapshot = scratch_ / "prod";
  ASSERT_EQ(Capture(snapshot).exit_code, 0);
  // One job: while it is paused after its third file, nothing else loads.
  PausePoint pause("done restore#3");
  BackgroundProcess restore =
      StartCommand({FreshetBinary(), "snapshot", "restore", snapshot, "--to", Dev(), "--jobs", "1"},
                   pause.Env());
  ASSERT_TRUE(pause.WaitUntilPaused(restore)) << restore.Stderr();
  ASSERT_EQ(DevSql("SELECT count(*) FROM _freshet.restored_files"), "3");
  restore.Signal(SIGKILL);
  ASSERT_EQ(restore.Wait().signal, SIGKILL);
  ASSERT_EQ(DevSql("SELECT count(*) > 0 FROM _freshet.journal WHERE kind = 'index'"), "t");

  RunResult resumed = Freshet({"snapshot", "restore", snapshot, "--to", Dev(), "--verify"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("resuming a restore of this snapshot that was interrupted: 3 "
                                     "of "));
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks_before);
  EXPECT_EQ(DevSql(kIndexesSql), indexes_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal"), "0");
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.restored_files"), "0");

  // Restored whole, the record is gone: the next restore starts afresh.
  RunResult again = Freshet({"snapshot", "restore", snapshot, "--to", Dev(), "--verify"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, Not(HasSubstr("resuming")));
}

TEST_F(WorkloadSnapshot, InterruptedCaptureRemovesItsPartialDirectory) {
  std::string snapshot = scratch_ / "prod";
  fs::path partial;
  PausePoint pause("done capture#2");
  BackgroundProcess capture = StartPausedCapture(Prod(), snapshot, pause, partial);
  ASSERT_FALSE(partial.empty()) << capture.Stderr();
  capture.Signal(SIGTERM);
  std::optional<RunResult> stopped = capture.WaitFor(std::chrono::seconds(30));
  ASSERT_TRUE(stopped) << "the capture did not stop on SIGTERM";
  EXPECT_EQ(stopped->signal, 0);
  EXPECT_NE(stopped->exit_code, 0);
  EXPECT_THAT(stopped->err, HasSubstr("interrupted"));
  EXPECT_FALSE(fs::exists(snapshot));
  EXPECT_FALSE(fs::exists(partial));
}

// Something created at the capture's name while it ran (an empty directory
// too) is never replaced, and the complete capture is kept where the error
// says, usable as it is.
TEST_F(WorkloadSnapshot, ADirectoryAppearingAtTheNameKeepsTheCompleteCaptureAside) {
  fs::path snapshot = scratch_ / "prod";
  fs::path partial;
  PausePoint pause("done capture#2");
  BackgroundProcess capture = StartPausedCapture(Prod(), snapshot, pause, partial);
  ASSERT_FALSE(partial.empty()) << capture.Stderr();
  fs::create_directory(snapshot);
  pause.Release();
  RunResult ended = capture.Wait();
  EXPECT_EQ(ended.exit_code, 2) << ended.err;
  EXPECT_THAT(ended.err, HasSubstr("appeared while capturing"));
  EXPECT_THAT(ended.err, HasSubstr("the complete capture is left in " + partial.string()));
  EXPECT_TRUE(fs::is_empty(snapshot));
  RunResult verify = Freshet({"snapshot", "verify", partial.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("every file matches the manifest"));
}

TEST_F(WorkloadSnapshot, KilledCaptureLeavesNoSnapshotAndANewCaptureSucceeds) {
  std::string snapshot = scratch_ / "prod";
  fs::path partial;
  PausePoint pause("done capture#2");
  BackgroundProcess capture = StartPausedCapture(Prod(), snapshot, pause, partial);
  ASSERT_FALSE(partial.empty()) << capture.Stderr();
  capture.Signal(SIGKILL);
  ASSERT_EQ(capture.Wait().signal, SIGKILL) << "the capture ended before it could be killed";

  EXPECT_FALSE(fs::exists(snapshot));
  RunResult restore = Freshet({"snapshot", "restore", snapshot, "--to", Dev()});
  EXPECT_EQ(restore.exit_code, 2);
  EXPECT_THAT(restore.err, HasSubstr(snapshot));
  // Nor can the leftover be mistaken for one: it has no manifest.
  RunResult leftover = Freshet({"snapshot", "restore", partial.string(), "--to", Dev()});
  EXPECT_EQ(leftover.exit_code, 2);
  EXPECT_THAT(leftover.err, HasSubstr("is not a snapshot"));
  EXPECT_EQ(DevSql("SELECT to_regclass('_freshet.journal') IS NULL"), "t");

  RunResult again = Capture(snapshot);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  RunResult verify = Freshet({"snapshot", "verify", snapshot});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("every file matches the manifest"));
  RunResult restored = Freshet({"snapshot", "restore", snapshot, "--to", Dev()});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
}

// Prod has a legacy column dev dropped; dev has a new column with a default,
// its columns in another order, and another partition layout.
constexpr const char* kProdOnly = R"sql(
CREATE TABLE public.measure (id int PRIMARY KEY, value int, note text, legacy text);
CREATE TABLE public.readings (id int, at date, v double precision) PARTITION BY RANGE (at);
CREATE TABLE public.readings_old PARTITION OF public.readings FOR VALUES FROM (MINVALUE) TO ('2025-01-01');
CREATE TABLE public.readings_new PARTITION OF public.readings FOR VALUES FROM ('2025-01-01') TO (MAXVALUE);
)sql";
constexpr const char* kDevOnly = R"sql(
CREATE TABLE public.measure (note text, created_at timestamptz NOT NULL DEFAULT now(), value int,
  id int PRIMARY KEY);
CREATE TABLE public.readings (id int, at date, v double precision) PARTITION BY HASH (id);
CREATE TABLE public.readings_h0 PARTITION OF public.readings FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE public.readings_h1 PARTITION OF public.readings FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO public.vehicles VALUES (9, 'stale');
INSERT INTO public.cars VALUES (10, 'stale car', 2);
INSERT INTO public.measure (note, value, id) VALUES ('stale', -1, 999);
)sql";

constexpr const char* kProdData = R"sql(
INSERT INTO public.measure SELECT g, g * 1000, 'n' || g, 'legacy' FROM generate_series(1, 50) g;
INSERT INTO public.readings SELECT g, date '2024-06-01' + g, g / 3.0 FROM generate_series(1, 800) g;
)sql";

class SnapshotSchemaEdges : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    prod_.Psql(prod_db_, std::string(kCommonSchema) + kProdOnly + kCommonData + kProdData);
    dev_.Psql(dev_db_, std::string(kCommonSchema) + kDevOnly);
    std::string snapshot = scratch_ / "edges";
    RunResult capture =
        Freshet({"snapshot", "capture", "--from", prod_.Url(prod_db_), "--out", snapshot});
    ASSERT_EQ(capture.exit_code, 0) << capture.err;
    restore_ = Freshet({"snapshot", "restore", snapshot, "--to", dev_.Url(dev_db_), "--verify"});
  }
  std::string DevSql(const std::string& sql) const { return dev_.Psql(dev_db_, sql); }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
  ScratchDir scratch_;
  RunResult restore_;
};

TEST_F(SnapshotSchemaEdges, EveryTypeAndQuotedIdentifierComesBackExactly) {
  ASSERT_EQ(restore_.exit_code, 0) << restore_.err;
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_, {"public", "My Schema"}), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM \"My Schema\".\"Order Items.v2\""), "300");
  EXPECT_EQ(DevSql("SELECT length(big) FROM \"My Schema\".\"Order Items.v2\" WHERE \"Id\" = 1"),
            "240000");
  // The generated column is computed by the target, not restored.
  EXPECT_EQ(DevSql("SELECT count(*) FROM \"My Schema\".\"Order Items.v2\" WHERE total IS DISTINCT "
                   "FROM amount * 2"),
            "0");
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

TEST_F(SnapshotSchemaEdges, MultiLevelPartitionsGetEachLeafItsOwnRows) {
  ASSERT_EQ(restore_.exit_code, 0) << restore_.err;
  for (const char* leaf : {"events_a_2024", "events_a_rest", "events_other"}) {
    std::string sql = std::string("SELECT count(*), sum(id) FROM ONLY public.") + leaf;
    EXPECT_EQ(DevSql(sql), prod_.Psql(prod_db_, sql)) << leaf;
  }
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.events"), "1000");
}

TEST_F(SnapshotSchemaEdges, OtherPartitionLayoutOnTheTargetLoadsThroughItsRoot) {
  ASSERT_EQ(restore_.exit_code, 0) << restore_.err;
  const std::string sql = "SELECT count(*), sum(id), sum(v::numeric) FROM public.readings";
  EXPECT_EQ(DevSql(sql), prod_.Psql(prod_db_, sql));
  EXPECT_NE(DevSql("SELECT count(*) FROM ONLY public.readings_h0"), "0");
  EXPECT_NE(DevSql("SELECT count(*) FROM ONLY public.readings_h1"), "0");
}

TEST_F(SnapshotSchemaEdges, InheritanceParentAndChildAreEachRestoredOnce) {
  ASSERT_EQ(restore_.exit_code, 0) << restore_.err;
  EXPECT_EQ(DevSql("SELECT string_agg(name, ',' ORDER BY id) FROM ONLY public.vehicles"),
            "bike,boat");
  EXPECT_EQ(DevSql("SELECT string_agg(name || doors, ',' ORDER BY id) FROM public.cars"),
            "car4,van5");
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.vehicles"), "4");
}

TEST_F(SnapshotSchemaEdges, DevOnlyColumnGetsItsDefaultAndProdOnlyColumnIsLeftOut) {
  ASSERT_EQ(restore_.exit_code, 0) << restore_.err;
  EXPECT_EQ(DevSql("SELECT count(*), sum(value), count(*) FILTER (WHERE created_at IS NOT NULL), "
                   "count(*) FILTER (WHERE note = 'n' || id) FROM public.measure"),
            "50|1275000|50|50");
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.measure WHERE note = 'stale'"), "0");
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_, {"public"}), IsEmpty());
}

}  // namespace
}  // namespace freshet::testing
