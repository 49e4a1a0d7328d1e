// `freshet sync` on schemas built to be awkward: identifiers that need
// quoting, every common type and value edge case, multi-level partitions with
// equal and different layouts, inheritance, type and column differences.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kSourceOnly = R"sql(
CREATE TABLE public.readings (id int, at date, v double precision) PARTITION BY RANGE (at);
CREATE TABLE public.readings_old PARTITION OF public.readings FOR VALUES FROM (MINVALUE) TO ('2025-01-01');
CREATE TABLE public.readings_new PARTITION OF public.readings FOR VALUES FROM ('2025-01-01') TO (MAXVALUE);
CREATE TABLE public.measure (id int PRIMARY KEY, value int, note varchar(10), legacy text);
CREATE TABLE public.old_stuff (id int);
)sql";

// The target is "a migration ahead": other partitioning, wider types, columns
// in another order, a new column with a default, no legacy column.
constexpr const char* kTargetOnly = R"sql(
CREATE TABLE public.readings (id int, at date, v double precision) PARTITION BY HASH (id);
CREATE TABLE public.readings_h0 PARTITION OF public.readings FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE public.readings_h1 PARTITION OF public.readings FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE public.measure (note text, created_at timestamptz NOT NULL DEFAULT now(), value bigint, id int PRIMARY KEY);
)sql";

constexpr const char* kSourceData = R"sql(
INSERT INTO public.readings SELECT g, date '2024-06-01' + g, g / 3.0 FROM generate_series(1, 800) g;
INSERT INTO public.measure SELECT g, g * 1000, 'n' || g, 'legacy' FROM generate_series(1, 50) g;
)sql";

class SchemaEdges : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    prod_.Psql(prod_db_, std::string(kCommonSchema) + kSourceOnly + kCommonData + kSourceData);
    dev_.Psql(dev_db_, std::string(kCommonSchema) + kTargetOnly +
                           "INSERT INTO public.vehicles VALUES (9, 'stale'); "
                           "INSERT INTO public.cars VALUES (10, 'stale car', 2);");
  }
  RunResult Sync(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)};
    args.insert(args.end(), extra.begin(), extra.end());
    return Freshet(args);
  }
  std::string Both(const std::string& sql) {
    return prod_.Psql(prod_db_, sql) + " | " + dev_.Psql(dev_db_, sql);
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
};

TEST_F(SchemaEdges, CopiesEveryTypeAndQuotedIdentifierExactly) {
  RunResult run = Sync({"--verify"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev_db_, {"public", "My Schema"}), IsEmpty());
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT count(*) FROM \"My Schema\".\"Order Items.v2\""), "300");
  // The generated column was computed by the target, not copied.
  EXPECT_EQ(
      dev_.Psql(dev_db_,
                "SELECT count(*) FROM \"My Schema\".\"Order Items.v2\" WHERE total <> amount * 2"),
      "0");
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

TEST_F(SchemaEdges, SameMultiLevelPartitionsLoadPerPartitionWithoutDuplicates) {
  RunResult plan = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("public.events  [binary; per partition"));
  ASSERT_EQ(Sync().exit_code, 0);
  for (const char* leaf : {"events_a_2024", "events_a_rest", "events_other"}) {
    std::string sql = std::string("SELECT count(*) FROM ONLY public.") + leaf;
    EXPECT_EQ(prod_.Psql(prod_db_, sql), dev_.Psql(dev_db_, sql)) << leaf;
  }
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT count(*) FROM public.events"), "1000");
}

TEST_F(SchemaEdges, DifferentPartitionLayoutLoadsThroughTheRoot) {
  RunResult plan = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_THAT(plan.out, HasSubstr("public.readings  [binary; through the root"));
  ASSERT_EQ(Sync().exit_code, 0);
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT count(*), sum(id) FROM public.readings"),
            prod_.Psql(prod_db_, "SELECT count(*), sum(id) FROM public.readings"));
  EXPECT_NE(dev_.Psql(dev_db_, "SELECT count(*) FROM ONLY public.readings_h0"), "0");
}

TEST_F(SchemaEdges, InheritanceParentAndChildAreEachCopiedOnce) {
  ASSERT_EQ(Sync().exit_code, 0);
  EXPECT_EQ(
      dev_.Psql(dev_db_, "SELECT string_agg(name, ',' ORDER BY id) FROM ONLY public.vehicles"),
      "bike,boat");
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT string_agg(name, ',' ORDER BY id) FROM public.cars"),
            "car,van");
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT count(*) FROM public.vehicles"), "4");
}

TEST_F(SchemaEdges, ColumnsMatchByNameAcrossTypeChangesAndOrder) {
  RunResult plan = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_THAT(plan.out, HasSubstr("public.measure  [text"));
  EXPECT_THAT(plan.out, HasSubstr("legacy"));
  EXPECT_THAT(plan.out, HasSubstr("created_at"));
  EXPECT_THAT(plan.out, HasSubstr("public.old_stuff"));
  ASSERT_EQ(Sync().exit_code, 0);
  EXPECT_EQ(dev_.Psql(dev_db_,
                      "SELECT sum(value), count(*) FILTER (WHERE created_at IS NOT NULL), "
                      "count(*) FILTER (WHERE note = 'n' || id) FROM public.measure"),
            "1275000|50|50");
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT to_regclass('public.old_stuff') IS NULL"), "t");
}

}  // namespace
}  // namespace freshet::testing
