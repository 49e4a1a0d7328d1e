// A sync that dies or races: SIGKILL mid-load, then a rerun or `repair`; a
// source taking writes during the run; a target role that owns the tables but
// is not superuser.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class SyncRecovery : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    LoadWorkload(prod_, prod_db_, dev_, dev_db_, 0.01);
  }
  std::string Prod() const { return prod_.Url(prod_db_); }
  std::string Dev() const { return dev_.Url(dev_db_); }
  std::string DevSql(const std::string& sql) const { return dev_.Psql(dev_db_, sql); }

  // The target's index definitions, in one string.
  std::string IndexDefinitions() const {
    return DevSql(
        "SELECT string_agg(indexdef, E'\\n' ORDER BY indexdef) FROM pg_indexes "
        "WHERE schemaname IN ('public', 'auth')");
  }

  // Starts a sync, stops it at a named point once a first table is loaded
  // (its stream committed, foreign keys and indexes set aside in the
  // journal) and sends it `signal` there; returns how it ended.
  RunResult SignalSyncMidLoad(int signal) {
    // One job: while it is paused nothing else runs, so the journal holds
    // everything the load set aside.
    PausePoint pause("done copy");
    BackgroundProcess sync = StartCommand({FreshetBinary(), "sync", "--from", Prod(), "--to", Dev(),
                                           "--include", "auth.users", "--jobs", "1"},
                                          pause.Env());
    std::optional<std::string> point = pause.WaitUntilPaused(sync);
    if (!point) {
      ADD_FAILURE() << "the sync ended before its first table was loaded: " << sync.Stderr();
      return sync.Wait();
    }
    // The signal hits the window where the target is set aside: a table is
    // loaded, and constraints and indexes wait in the journal.
    EXPECT_NE(DevSql("SELECT count(*) FROM _freshet.journal WHERE kind = 'foreign_key'"), "0");
    sync.Signal(signal);
    return sync.Wait();
  }

  void KillSyncMidLoad() {
    RunResult killed = SignalSyncMidLoad(SIGKILL);
    ASSERT_EQ(killed.signal, SIGKILL);
    ASSERT_NE(DevSql("SELECT count(*) FROM _freshet.journal"), "0");
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
};

TEST_F(SyncRecovery, RerunAfterSigkillMidLoadEndsEqualWithEveryConstraint) {
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  KillSyncMidLoad();

  RunResult rerun =
      Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users", "--verify"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_THAT(rerun.err, HasSubstr("interrupted"));
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'deals_touch'"), "O");
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal"), "0");
}

// Ctrl-C mid-load: the run stops, and before it exits the target gets back
// what it set aside (the stop that cancelled the streams must not cancel the
// put-back): every index and trigger; the foreign keys that the partly
// loaded tables violate stay journaled, and the next sync ends equal with
// every constraint.
TEST_F(SyncRecovery, InterruptMidLoadPutsTheTargetBackAndTheNextSyncFinishesIt) {
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  std::string indexes_before = IndexDefinitions();
  RunResult stopped = SignalSyncMidLoad(SIGINT);
  EXPECT_EQ(stopped.exit_code, 1) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("cancelled"));
  EXPECT_THAT(stopped.err, Not(HasSubstr("could not restore")));
  EXPECT_EQ(IndexDefinitions(), indexes_before);
  EXPECT_EQ(DevSql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'deals_touch'"), "O");
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal WHERE kind NOT IN ('foreign_key', "
                   "'validate')"),
            "0")
      << stopped.err;

  RunResult rerun =
      Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users", "--verify"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal"), "0");
}

TEST_F(SyncRecovery, RepairAfterSigkillRestoresWhatItCanAndJournalsTheRest) {
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  std::string indexes_before = IndexDefinitions();
  KillSyncMidLoad();

  RunResult repair = Freshet({"repair", "--to", Dev()});
  EXPECT_THAT(repair.err, HasSubstr("restored"));
  EXPECT_EQ(DevSql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'deals_touch'"), "O");
  EXPECT_EQ(IndexDefinitions(), indexes_before);
  // Nothing is lost: every foreign key is back, or still in the journal (a
  // foreign key on a partitioned table cannot be re-added NOT VALID over the
  // partial data an interrupted load leaves), and repair says so.
  std::vector<std::string> journaled =
      Lines(DevSql("SELECT object_name FROM _freshet.journal WHERE kind = 'foreign_key'"));
  std::vector<std::string> present = ForeignKeys(dev_, dev_db_);
  for (const auto& fk : fks_before) {
    if (std::count(present.begin(), present.end(), fk)) continue;
    std::string name = fk.substr(fk.rfind('.') + 1);
    EXPECT_TRUE(std::count(journaled.begin(), journaled.end(), name)) << fk << " was lost";
  }
  EXPECT_EQ(repair.exit_code, journaled.empty() ? 0 : 1) << repair.err;

  // The next sync loads complete data and restores everything.
  RunResult rerun = Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal"), "0");
  RunResult again = Freshet({"repair", "--to", Dev()});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("nothing to repair"));
}

// `repair` while another run still writes to the target: refused at once
// by default, or after --wait runs out; with a long enough --wait it waits
// for that run to end (its session queued on the target's lock), then finds
// the target whole.
TEST_F(SyncRecovery, RepairWaitsForARunStillWritingToTheTarget) {
  PausePoint pause("done copy");
  BackgroundProcess sync = StartCommand({FreshetBinary(), "sync", "--from", Prod(), "--to", Dev(),
                                         "--include", "auth.users", "--jobs", "1"},
                                        pause.Env());
  ASSERT_TRUE(pause.WaitUntilPaused(sync)) << sync.Stderr();
  std::string journal = DevSql("SELECT count(*) FROM _freshet.journal");
  ASSERT_NE(journal, "0");

  RunResult refused = Freshet({"repair", "--to", Dev()});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr(dev_db_ + ": another freshet run is writing"));
  RunResult gave_up = Freshet({"repair", "--to", Dev(), "--wait", "1"});
  EXPECT_NE(gave_up.exit_code, 0);
  EXPECT_THAT(gave_up.err, HasSubstr("did not end within 1s"));
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal"), journal) << "a refused repair wrote";

  BackgroundProcess repair =
      StartCommand({FreshetBinary(), "repair", "--to", Dev(), "--wait", "600"});
  // A readiness probe, not a time window: ends once the repair's session
  // waits on the advisory lock (or the repair ended, which fails below).
  while (!repair.WaitFor(std::chrono::milliseconds(0)) &&
         DevSql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                "wait_event = 'advisory' AND datname = current_database()") != "1") {
  }
  pause.Release();
  RunResult synced = sync.Wait();
  EXPECT_EQ(synced.exit_code, 0) << synced.err;
  RunResult repaired = repair.Wait();
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err;
  EXPECT_THAT(repaired.err, HasSubstr("nothing to repair"));
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

TEST_F(SyncRecovery, RerunAfterSigkillDuringIndexRebuildRestoresEveryIndexAndConstraint) {
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  std::string indexes_before = IndexDefinitions();
  // Indexes come back table by table as loads finish: stop once a third is
  // rebuilt, while others are still journaled, and kill there.
  // One job: while it is paused nothing else is rebuilt.
  PausePoint pause("done index#3");
  BackgroundProcess sync = StartCommand({FreshetBinary(), "sync", "--from", Prod(), "--to", Dev(),
                                         "--include", "auth.users", "--jobs", "1"},
                                        pause.Env());
  ASSERT_TRUE(pause.WaitUntilPaused(sync)) << sync.Stderr();
  sync.Signal(SIGKILL);
  ASSERT_EQ(sync.Wait().signal, SIGKILL);
  // Killed mid-rebuild: some indexes are back, some are still journaled.
  ASSERT_NE(DevSql("SELECT count(*) FROM _freshet.journal WHERE kind = 'index'"), "0");
  ASSERT_NE(IndexDefinitions(), indexes_before);

  RunResult rerun =
      Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users", "--verify"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(IndexDefinitions(), indexes_before);
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal"), "0");
}

TEST_F(SyncRecovery, SourceTakingWritesDuringSyncStillGivesAConsistentCopy) {
  // Each writer transaction adds a company and a contact of it, and every
  // other one deletes the oldest such pair: without one snapshot, dev would get
  // a contact without its company (the load fails) or pairs split apart.
  int commits = 0;
  auto write = [&] {
    std::string pair =
        "WITH c AS (INSERT INTO public.companies (org_id, name) SELECT id, 'writer co' FROM "
        "public.organizations LIMIT 1 RETURNING id) INSERT INTO public.contacts (company_id, "
        "first_name, last_name) SELECT id, 'writer', 'contact' FROM c;";
    std::string drop_oldest =
        "WITH old AS (DELETE FROM public.contacts WHERE id = (SELECT min(id) FROM "
        "public.contacts WHERE first_name = 'writer') RETURNING company_id) DELETE FROM "
        "public.companies WHERE id IN (SELECT company_id FROM old);";
    prod_.Psql(prod_db_, "BEGIN; " + pair + (commits % 2 ? drop_oldest : "") + " COMMIT;");
    ++commits;
  };
  const std::string writer_companies_sql =
      "SELECT count(*) FROM public.companies WHERE name = 'writer co'";
  const std::string writer_contacts_sql =
      "SELECT count(*) FROM public.contacts WHERE first_name = 'writer'";
  for (int i = 0; i < 3; ++i) write();
  const std::string companies_at_start = prod_.Psql(prod_db_, writer_companies_sql);

  // The writes land while the sync runs, at the worst moment: after the first
  // of companies and contacts is copied and before the other is read (one
  // job, so nothing else moves while it is paused). They delete the pairs the
  // snapshot holds and add new ones.
  PausePoint pause("done copy public.co");
  BackgroundProcess sync = StartCommand({FreshetBinary(), "sync", "--from", Prod(), "--to", Dev(),
                                         "--include", "auth.users", "--verify", "--jobs", "1"},
                                        pause.Env());
  std::optional<RunResult> ended;
  std::optional<std::string> point = pause.WaitUntilPaused(sync, &ended);
  ASSERT_TRUE(point) << "the sync ended before it copied companies or contacts: "
                     << (ended ? ended->err : "");
  EXPECT_TRUE(point->starts_with("done copy public.companies") ||
              point->starts_with("done copy public.contacts"))
      << *point;
  for (int i = 0; i < 8; ++i) write();
  ASSERT_NE(prod_.Psql(prod_db_, writer_companies_sql), companies_at_start);
  pause.Release();
  RunResult run = sync.Wait();
  ASSERT_EQ(run.exit_code, 0) << run.err;

  // Writer rows arrive in pairs, as they were when the run began: the copy is
  // one instant of prod.
  std::string writer_companies = DevSql(writer_companies_sql);
  EXPECT_EQ(writer_companies, companies_at_start);
  EXPECT_EQ(DevSql(writer_contacts_sql), writer_companies);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

TEST_F(SyncRecovery, TargetRoleThatOwnsTablesButIsNotSuperuserCanSync) {
  DevSql(
      "CREATE ROLE app_owner LOGIN NOSUPERUSER; "
      "GRANT CREATE ON DATABASE \"" +
      dev_db_ +
      "\" TO app_owner; "
      "GRANT USAGE, CREATE ON SCHEMA public, auth TO app_owner; "
      "DO $$ DECLARE r record; BEGIN FOR r IN SELECT format('%I.%I', n.nspname, c.relname) AS t "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname IN ('public', 'auth') AND c.relkind IN ('r', 'p') "
      "LOOP EXECUTE 'ALTER TABLE ' || r.t || ' OWNER TO app_owner'; END LOOP; END $$;");
  ASSERT_EQ(DevSql("SELECT rolsuper FROM pg_roles WHERE rolname = 'app_owner'"), "f");

  RunResult run = Freshet({"sync", "--from", Prod(), "--to", dev_.Url(dev_db_, "app_owner"),
                           "--include", "auth.users", "--verify"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'deals_touch'"), "O");
}

}  // namespace
}  // namespace freshet::testing
