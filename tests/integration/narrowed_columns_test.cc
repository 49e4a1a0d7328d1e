// Targets a migration ahead that narrowed columns (varchar(100) on prod,
// varchar(8) on dev; numeric, varchar arrays, bit varying, a partitioned
// table; NOT NULL on dev only): rows that fit restore and verify equal, by
// `sync` and by `snapshot restore`; rows that do not fit are found before
// anything is written (exit 3, each column named with its count of rows), and
// the target is untouched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kProdSchema = R"sql(
CREATE TABLE public.narrow (id int PRIMARY KEY, code varchar(100), amount numeric(12,2),
  tags varchar(50)[], flags bit varying(16), note text);
CREATE TABLE public.parts (id int, code varchar(40)) PARTITION BY RANGE (id);
CREATE TABLE public.parts_a PARTITION OF public.parts FOR VALUES FROM (0) TO (500);
CREATE TABLE public.parts_b PARTITION OF public.parts FOR VALUES FROM (500) TO (MAXVALUE);
)sql";
constexpr const char* kDevSchema = R"sql(
CREATE TABLE public.narrow (id int PRIMARY KEY, code varchar(8), amount numeric(8,2),
  tags varchar(5)[], flags bit varying(8), note text NOT NULL);
CREATE TABLE public.parts (id int, code varchar(6)) PARTITION BY RANGE (id);
CREATE TABLE public.parts_a PARTITION OF public.parts FOR VALUES FROM (0) TO (500);
CREATE TABLE public.parts_b PARTITION OF public.parts FOR VALUES FROM (500) TO (MAXVALUE);
INSERT INTO public.narrow VALUES (1, 'stale', 1.00, '{old}', B'1', 'stale row');
INSERT INTO public.parts VALUES (1, 'stale'), (700, 'stale');
)sql";
// Every value fits dev's narrower types ("ünïcødé" is 7 characters in 11 bytes).
constexpr const char* kFittingRows = R"sql(
INSERT INTO public.narrow SELECT g, CASE WHEN g % 10 = 0 THEN 'ünïcødé' ELSE 'c' || g END,
  g * 1.25, ARRAY['t' || g % 100, NULL], (g % 256)::bit(8)::varbit, repeat('n', g % 50)
FROM generate_series(1, 1000) g;
INSERT INTO public.parts SELECT g, 'p' || g FROM generate_series(1, 999) g;
)sql";
// One row per column that does not fit.
constexpr const char* kMisfits = R"sql(
UPDATE public.narrow SET code = 'toolong-9' WHERE id = 7;
UPDATE public.narrow SET amount = 1234567.50 WHERE id = 8;
UPDATE public.narrow SET tags = ARRAY['ok', 'sixsix'] WHERE id = 9;
UPDATE public.narrow SET flags = B'101010101' WHERE id = 10;
UPDATE public.parts SET code = 'seven77' WHERE id IN (600, 601);
UPDATE public.narrow SET note = NULL WHERE id BETWEEN 11 AND 13;
)sql";

class NarrowedColumns : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    prod_.Psql(prod_db_, std::string(kProdSchema) + kFittingRows);
    dev_.Psql(dev_db_, kDevSchema);
  }

  std::string State(const PgCluster& cluster, const std::string& db) {
    return TableDigest(cluster, db, "public.narrow",
                       {"id", "code", "amount", "tags", "flags", "note"}) +
           " " + TableDigest(cluster, db, "public.parts", {"id", "code"}) +
           " journal: " + cluster.Psql(db, "SELECT to_regnamespace('_freshet') IS NOT NULL");
  }
  bool SameAsProd() {
    return TableDigest(dev_, dev_db_, "public.narrow",
                       {"id", "code", "amount", "tags", "flags", "note"}) ==
               TableDigest(prod_, prod_db_, "public.narrow",
                           {"id", "code", "amount", "tags", "flags", "note"}) &&
           TableDigest(dev_, dev_db_, "public.parts", {"id", "code"}) ==
               TableDigest(prod_, prod_db_, "public.parts", {"id", "code"});
  }
  RunResult Capture() {
    return Freshet({"snapshot", "capture", "--from", prod_.Url(prod_db_), "--out", snapshot_});
  }
  // Every column's misfit, as the plan error names it (`where`: "the
  // snapshot" or "the source").
  void ExpectEveryMisfitNamed(const std::string& err, const std::string& where,
                              bool with_examples) {
    auto named = [&](const std::string& column, const std::string& table, int rows,
                     const std::string& target_type, const std::string& example) {
      std::string expected = "column \"" + column + "\" of " + table + ": " + std::to_string(rows) +
                             " row(s) in " + where + " do not fit " + target_type +
                             " on the target";
      EXPECT_THAT(err, HasSubstr(expected));
      if (with_examples) {
        EXPECT_THAT(err, HasSubstr(expected + " (it is"));
        EXPECT_THAT(err, HasSubstr("the first such value " + example));
      }
    };
    named("code", "public.narrow", 1, "character varying(8)", "has 9 characters");
    named("amount", "public.narrow", 1, "numeric(8,2)", "needs numeric(9,2)");
    named("tags", "public.narrow", 1, "character varying(5)[]",
          "has an element that has 6 characters");
    named("flags", "public.narrow", 1, "bit varying(8)", "has 9 bits");
    named("code", "public.parts", 2, "character varying(6)", "has 7 characters");
    EXPECT_THAT(err, HasSubstr("column \"note\" of public.narrow: 3 row(s) in " + where +
                               " are NULL, but the column is NOT NULL on the target"));
    EXPECT_THAT(err, Not(HasSubstr("column \"id\"")));
    EXPECT_THAT(err, Not(HasSubstr("toolong")));  // never the values themselves
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
  ScratchDir scratch_;
  std::string snapshot_ = scratch_ / "prod";
};

TEST_F(NarrowedColumns, SnapshotRowsThatFitRestoreAndVerifyEqual) {
  RunResult capture = Capture();
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  RunResult restore =
      Freshet({"snapshot", "restore", snapshot_, "--to", dev_.Url(dev_db_), "--verify"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_TRUE(SameAsProd());
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), ::testing::IsEmpty());
}

TEST_F(NarrowedColumns, SnapshotRowsThatDoNotFitAreRefusedBeforeAnythingIsWritten) {
  prod_.Psql(prod_db_, kMisfits);
  RunResult capture = Capture();
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  const std::string before = State(dev_, dev_db_);
  RunResult restore = Freshet({"snapshot", "restore", snapshot_, "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(restore.exit_code, 3) << restore.err;
  ExpectEveryMisfitNamed(restore.err, "the snapshot", true);
  EXPECT_THAT(restore.err, HasSubstr("nothing was written"));
  EXPECT_EQ(State(dev_, dev_db_), before);

  // Widened by the next migration, the same snapshot restores.
  dev_.Psql(dev_db_,
            "ALTER TABLE public.narrow ALTER code TYPE varchar(20), ALTER amount TYPE "
            "numeric(10,2), ALTER tags TYPE varchar(6)[], ALTER flags TYPE varbit(9), ALTER note "
            "DROP NOT NULL; "
            "ALTER TABLE public.parts ALTER code TYPE varchar(7)");
  RunResult widened =
      Freshet({"snapshot", "restore", snapshot_, "--to", dev_.Url(dev_db_), "--verify"});
  ASSERT_EQ(widened.exit_code, 0) << widened.err;
  EXPECT_TRUE(SameAsProd());
}

TEST_F(NarrowedColumns, SyncRowsThatFitSyncAndVerifyEqual) {
  RunResult sync =
      Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_), "--verify"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_TRUE(SameAsProd());
}

TEST_F(NarrowedColumns, SyncAndPlanRefuseRowsThatDoNotFitBeforeAnythingIsWritten) {
  prod_.Psql(prod_db_, kMisfits);
  const std::string before = State(dev_, dev_db_);
  RunResult plan = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(plan.exit_code, 3) << plan.out << plan.err;
  ExpectEveryMisfitNamed(plan.out, "the source", false);
  RunResult sync = Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(sync.exit_code, 3) << sync.err;
  ExpectEveryMisfitNamed(sync.err, "the source", false);
  EXPECT_EQ(State(dev_, dev_db_), before);
}

// What is judged is the text COPY writes (the type's output function: t, not
// true; 10.0.0.1, not 10.0.0.1/32), and NOT NULL means the whole value: a
// composite of NULL fields is not NULL. These rows load, so nothing is refused.
TEST_F(NarrowedColumns, ValuesAreJudgedAsCopyWritesThem) {
  const std::string type = "CREATE TYPE public.pair AS (a int, b int);";
  prod_.Psql(prod_db_, type +
                           "CREATE TABLE public.odd (id int PRIMARY KEY, flag boolean, addr inet, "
                           "p public.pair); INSERT INTO public.odd VALUES (1, true, '10.0.0.1', "
                           "ROW(NULL, NULL)), (2, false, '192.168.1.1', ROW(1, 2))");
  dev_.Psql(dev_db_, type +
                         "CREATE TABLE public.odd (id int PRIMARY KEY, flag varchar(1), addr "
                         "varchar(11), p public.pair NOT NULL)");
  const std::string rows =
      "SELECT string_agg(concat_ws(' ', id, flag, addr, p, p IS NOT DISTINCT FROM NULL), ', ' "
      "ORDER BY id) FROM public.odd";
  const std::string expected = "1 t 10.0.0.1 (,) f, 2 f 192.168.1.1 (1,2) f";
  RunResult sync = Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_EQ(dev_.Psql(dev_db_, rows), expected);

  dev_.Psql(dev_db_, "TRUNCATE public.odd");
  RunResult capture = Capture();
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  RunResult restore = Freshet({"snapshot", "restore", snapshot_, "--to", dev_.Url(dev_db_)});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(dev_.Psql(dev_db_, rows), expected);
}

}  // namespace
}  // namespace freshet::testing
