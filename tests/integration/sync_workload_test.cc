// `freshet sync` on the reference workload: prod -> dev, dev one migration
// ahead (contacts.linkedin_url and feature_flags only on dev).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr double kScale = 0.02;

class WorkloadSync : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    LoadWorkload(prod_, prod_db_, dev_, dev_db_, kScale);
  }
  std::string Prod() const { return prod_.Url(prod_db_); }
  std::string Dev() const { return dev_.Url(dev_db_); }
  std::string DevSql(const std::string& sql) const { return dev_.Psql(dev_db_, sql); }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
};

TEST_F(WorkloadSync, MakesEverySharedTableEqualToProd) {
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  RunResult run = Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.contacts"),
            prod_.Psql(prod_db_, "SELECT count(*) FROM public.contacts"));
  EXPECT_NE(DevSql("SELECT count(*) FROM public.contacts"), "0");
}

TEST_F(WorkloadSync, LeavesDevConstraintsIndexesAndTriggersInPlace) {
  // Index definitions (partition indexes included) and constraint definitions,
  // as text: after a bulk sync they must be exactly what dev had.
  const std::string indexes_sql =
      "SELECT string_agg(tablename || ' ' || indexdef, E'\\n' ORDER BY tablename, indexdef) "
      "FROM pg_indexes WHERE schemaname IN ('public', 'auth')";
  const std::string constraints_sql =
      "SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid), "
      "E'\\n' ORDER BY conrelid::regclass::text, conname) FROM pg_constraint WHERE connamespace IN "
      "('public'::regnamespace, "
      "'auth'::regnamespace)";
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  std::string indexes_before = DevSql(indexes_sql);
  std::string constraints_before = DevSql(constraints_sql);
  RunResult run = Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks_before);
  EXPECT_EQ(DevSql(indexes_sql), indexes_before);
  EXPECT_EQ(DevSql(constraints_sql), constraints_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(DevSql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'deals_touch'"), "O");
  EXPECT_EQ(DevSql("SELECT count(*) FROM _freshet.journal"), "0");
}

TEST_F(WorkloadSync, KeepsDevOnlyColumnDefaultsAndDevOnlyTable) {
  std::string flags_before =
      DevSql("SELECT string_agg(key || enabled::text, ',') FROM public.feature_flags");
  RunResult run = Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  EXPECT_EQ(DevSql("SELECT count(*) FROM public.contacts WHERE linkedin_url IS NOT NULL"), "0");
  EXPECT_EQ(DevSql("SELECT string_agg(key || enabled::text, ',') FROM public.feature_flags"),
            flags_before);
  EXPECT_THAT(run.err, HasSubstr("public.feature_flags"));
}

TEST_F(WorkloadSync, AdvancesSequencesPastCopiedRows) {
  RunResult run = Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* table : {"companies", "contacts", "deals"}) {
    SCOPED_TRACE(table);
    std::string behind =
        DevSql(std::string("SELECT count(*) FROM pg_sequences s WHERE s.sequencename = '") + table +
               "_id_seq' AND s.last_value < (SELECT max(id) FROM public." + table + ")");
    EXPECT_EQ(behind, "0");
  }
  // A new row takes the next id instead of colliding with a copied one.
  EXPECT_NO_THROW(DevSql("INSERT INTO public.organizations (name) VALUES ('new org')"));
  EXPECT_NO_THROW(
      DevSql("INSERT INTO public.companies (org_id, name) SELECT id, 'new co' FROM "
             "public.organizations LIMIT 1"));
}

TEST_F(WorkloadSync, VerifyFlagAndVerifyCommandPassAfterSync) {
  RunResult run = Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users",
                           "--verify", "--report", "-"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"mismatched\": []"));
  RunResult verify =
      Freshet({"verify", "--from", Prod(), "--to", Dev(), "--include", "auth.users"});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

TEST_F(WorkloadSync, VerifyNamesTheTableThatDiffers) {
  ASSERT_EQ(Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users"}).exit_code,
            0);
  DevSql(
      "UPDATE public.deals SET title = title || ' (edited on dev)' WHERE id = (SELECT min(id) FROM "
      "public.deals)");
  RunResult verify =
      Freshet({"verify", "--from", Prod(), "--to", Dev(), "--include", "auth.users"});
  EXPECT_EQ(verify.exit_code, 4);
  EXPECT_THAT(verify.err, HasSubstr("public.deals"));
  EXPECT_THAT(verify.err, Not(HasSubstr("public.contacts differ")));
}

TEST_F(WorkloadSync, OrderedStrategyKeepsIndexesAndAlsoEndsEqual) {
  std::vector<std::string> fks_before = ForeignKeys(dev_, dev_db_);
  RunResult plan = Freshet({"plan", "--from", Prod(), "--to", Dev(), "--include", "auth.users",
                            "--strategy", "ordered"});
  EXPECT_THAT(plan.out, HasSubstr("Strategy: ordered"));
  EXPECT_THAT(plan.out, Not(HasSubstr("Indexes dropped")));
  RunResult run = Freshet({"sync", "--from", Prod(), "--to", Dev(), "--include", "auth.users",
                           "--strategy", "ordered", "--verify"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_), IsEmpty());
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), fks_before);
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

TEST_F(WorkloadSync, PlanNamesCycleConstraintDevOnlyColumnAndTable) {
  RunResult plan = Freshet({"plan", "--from", Prod(), "--to", Dev(), "--include", "auth.users"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, ::testing::AnyOf(HasSubstr("tasks_source_action_item_id_fkey"),
                                         HasSubstr("meeting_action_items_task_id_fkey")));
  EXPECT_THAT(plan.out, HasSubstr("linkedin_url"));
  EXPECT_THAT(plan.out, HasSubstr("public.feature_flags"));
  EXPECT_THAT(plan.out, HasSubstr("Strategy: bulk"));
  EXPECT_THAT(plan.out, HasSubstr("activities_deal_idx"));
  // plan changes nothing.
  EXPECT_EQ(DevSql("SELECT to_regclass('_freshet.journal') IS NULL"), "t");
}

TEST_F(WorkloadSync, ForeignKeyIntoAuthUsersIsAPlanErrorWithBothWaysOut) {
  std::string deals_before = DevSql("SELECT count(*) FROM public.deals");
  RunResult run = Freshet({"sync", "--from", Prod(), "--to", Dev()});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("profiles_id_fkey"));
  EXPECT_THAT(run.err, HasSubstr("--include 'auth.users'"));
  EXPECT_THAT(run.err, HasSubstr("--fk-outside=not-valid"));
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.deals"), deals_before);
}

TEST_F(WorkloadSync, FkOutsideNotValidReAddsTheConstraintNotValid) {
  RunResult run = Freshet({"sync", "--from", Prod(), "--to", Dev(), "--fk-outside=not-valid"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("profiles_id_fkey"));
  EXPECT_EQ(DevSql("SELECT convalidated FROM pg_constraint WHERE conname = 'profiles_id_fkey'"),
            "f");
  EXPECT_EQ(DevSql("SELECT count(*) FROM public.profiles"),
            prod_.Psql(prod_db_, "SELECT count(*) FROM public.profiles"));
}

}  // namespace
}  // namespace freshet::testing
