// The pure parts of incremental sync, without servers: bucket counts and the
// bitmap literal get_bit() reads, the comparison of bucket summaries, the
// choice of each table's mode from hand-built catalogs and states, and the
// merge and read SQL.
#include "sync/engine/incremental_sql.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sync/engine/incremental_mode.h"
#include "sync/engine/incremental_stage.h"
#include "sync/engine/plan.h"

namespace freshet {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(BucketCountTest, IsAPowerOfTwoNearRowsPerBucketWithinBounds) {
  EXPECT_EQ(BucketCount(0, 256), 1u);
  EXPECT_EQ(BucketCount(100, 256), 1u);
  EXPECT_EQ(BucketCount(256 * 4, 256), 4u);
  EXPECT_EQ(BucketCount(256 * 5, 256), 8u);
  EXPECT_EQ(BucketCount(int64_t{1} << 40, 1), 1u << 20);
  EXPECT_EQ(BucketCount(1000, 0), 1024u);  // a zero bucket size is taken as 1
}

TEST(BucketBitmapTest, SetsBitsLeastSignificantFirstAsGetBitReadsThem) {
  // get_bit(bytes, n) reads bit n % 8 of byte n / 8, counting from the least
  // significant bit.
  EXPECT_EQ(BucketBitmap({0}, 8), "'\\x01'::pg_catalog.bytea");
  EXPECT_EQ(BucketBitmap({7}, 8), "'\\x80'::pg_catalog.bytea");
  EXPECT_EQ(BucketBitmap({1, 8, 15}, 16), "'\\x0281'::pg_catalog.bytea");
  EXPECT_EQ(BucketBitmap({}, 4), "'\\x00'::pg_catalog.bytea");
  EXPECT_EQ(BucketBitmap({3, 99}, 4), "'\\x08'::pg_catalog.bytea");  // out of range: ignored
}

TEST(DifferingBucketsTest, ListsBucketsWhoseCountOrSumDifferOrThatOneSideLacks) {
  BucketSums source, target;
  source.buckets = {{0, {10, 100}}, {1, {5, 50}}, {2, {3, 30}}, {4, {1, 7}}};
  target.buckets = {{0, {10, 100}}, {1, {5, 51}}, {2, {4, 30}}, {3, {2, 9}}};
  EXPECT_EQ(DifferingBuckets(source, target), (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_THAT(DifferingBuckets(source, source), IsEmpty());
  EXPECT_EQ(DifferingBuckets(source, BucketSums{}), (std::vector<uint32_t>{0, 1, 2, 4}));
}

Column Col(const std::string& name, const std::string& type = "integer") {
  Column column;
  column.name = name;
  column.type = type;
  column.type_id = type;
  column.binary_portable = true;
  return column;
}

Table MakeTable(const std::string& name, std::vector<Column> columns,
                std::vector<std::string> key = {"id"}) {
  Table table;
  table.name = {"public", name};
  table.columns = std::move(columns);
  table.primary_key = std::move(key);
  table.owned_by_current_user = true;
  table.bytes = 1 << 20;
  table.heap_bytes = 1 << 20;
  return table;
}

Catalog With(std::vector<Table> tables) {
  Catalog catalog;
  catalog.tables = std::move(tables);
  catalog.server_version = 150000;
  return catalog;
}

// deals: id, name, updated_at (watermark by name); notes: id, body (no
// watermark); log: no primary key.
Catalog Workload() {
  return With({MakeTable("deals", {Col("id"), Col("name", "text"),
                                   Col("updated_at", "timestamp with time zone")}),
               MakeTable("notes", {Col("id"), Col("body", "text")}),
               MakeTable("log", {Col("line", "text")}, {})});
}

class ChooseModesTest : public ::testing::Test {
 protected:
  Plan Choose(const Catalog& source, const Catalog& target, const std::vector<TableState>& states,
              const IncrementalOptions& options = {}) {
    PlanOptions plan_options;
    plan_options.strategy = StrategyChoice::kOrdered;
    Plan plan = BuildPlan(source, target, plan_options);
    EXPECT_TRUE(plan.ok()) << plan.errors.front();
    ChooseModes(plan, source, target, states, options);
    return plan;
  }

  // The states a previous run on `catalog` would have left.
  std::vector<TableState> StatesOf(const Catalog& catalog) {
    Plan plan = Choose(catalog, catalog, {});
    std::vector<TableState> states;
    for (const auto& table : plan.tables) {
      TableState state;
      state.table = table.name;
      state.mode = "full";
      state.watermark_column = table.incremental->watermark;
      state.xmin_horizon = 1000;
      state.fingerprint = table.incremental->fingerprint;
      states.push_back(state);
    }
    return states;
  }

  static const TableMode& ModeOf(const Plan& plan, const std::string& name) {
    for (const auto& table : plan.tables)
      if (table.name.name == name && table.incremental) return *table.incremental;
    ADD_FAILURE() << "no mode for " << name;
    static TableMode none;
    return none;
  }
};

TEST_F(ChooseModesTest, FirstRunWithoutStateIsFull) {
  Plan plan = Choose(Workload(), Workload(), {});
  for (const auto& table : plan.tables) {
    ASSERT_TRUE(table.incremental);
    EXPECT_EQ(table.incremental->mode, SyncMode::kFull) << table.name.Display();
    EXPECT_THAT(table.incremental->reason, HasSubstr("first run"));
  }
}

TEST_F(ChooseModesTest, WithStateTheWatermarkIsFoundByNameAndOthersAreDiffed) {
  Catalog catalog = Workload();
  Plan plan = Choose(catalog, catalog, StatesOf(catalog));
  const TableMode& deals = ModeOf(plan, "deals");
  EXPECT_EQ(deals.mode, SyncMode::kWatermark);
  EXPECT_EQ(deals.watermark, "updated_at");
  EXPECT_THAT(deals.reason, HasSubstr("updated_at"));
  EXPECT_THAT(deals.reason, HasSubstr("not indexed"));
  EXPECT_EQ(deals.xmin_horizon, 1000u);
  EXPECT_EQ(ModeOf(plan, "notes").mode, SyncMode::kDiff);
  EXPECT_THAT(ModeOf(plan, "notes").reason, HasSubstr("no watermark"));
}

TEST_F(ChooseModesTest, AnIndexOnTheWatermarkIsSaid) {
  Catalog catalog = Workload();
  Index index;
  index.table = {"public", "deals"};
  index.name = "deals_updated_at";
  index.keys = {"updated_at"};
  catalog.indexes.push_back(index);
  Plan plan = Choose(catalog, catalog, StatesOf(catalog));
  EXPECT_THAT(ModeOf(plan, "deals").reason, HasSubstr("indexed on the source"));
  EXPECT_THAT(ModeOf(plan, "deals").reason, Not(HasSubstr("not indexed")));
}

TEST_F(ChooseModesTest, TableWithoutPrimaryKeyIsDiffedAsWholeRowsAndSaysWhy) {
  Catalog catalog = Workload();
  Plan plan = Choose(catalog, catalog, StatesOf(catalog));
  const TableMode& log = ModeOf(plan, "log");
  EXPECT_EQ(log.mode, SyncMode::kDiff);
  EXPECT_THAT(log.reason, HasSubstr("no primary key"));
  EXPECT_THAT(log.key, IsEmpty());
}

TEST_F(ChooseModesTest, ASchemaFingerprintChangeMakesTheTableFull) {
  Catalog before = Workload();
  std::vector<TableState> states = StatesOf(before);
  Catalog after = Workload();
  after.tables[1].columns.push_back(Col("extra", "text"));
  Plan plan = Choose(after, after, states);
  EXPECT_EQ(ModeOf(plan, "notes").mode, SyncMode::kFull);
  EXPECT_THAT(ModeOf(plan, "notes").reason, HasSubstr("changed since the last run"));
  EXPECT_EQ(ModeOf(plan, "deals").mode, SyncMode::kWatermark);
}

TEST_F(ChooseModesTest, AConfiguredWatermarkThatIsMissingIsAPlanError) {
  Catalog catalog = Workload();
  IncrementalOptions options;
  TableSyncSettings settings;
  settings.watermark = "changed_on";
  options.tables.push_back({"public.notes", settings});
  PlanOptions plan_options;
  plan_options.strategy = StrategyChoice::kOrdered;
  Plan plan = BuildPlan(catalog, catalog, plan_options);
  ChooseModes(plan, catalog, catalog, StatesOf(catalog), options);
  EXPECT_THAT(plan.errors, Contains(AllOf(HasSubstr("public.notes"), HasSubstr("changed_on"))));
}

TEST_F(ChooseModesTest, FullAndDiffPatternsChooseTheMode) {
  Catalog catalog = Workload();
  IncrementalOptions options;
  options.full = {"public.d*"};
  options.diff = {"public.*"};
  Plan plan = Choose(catalog, catalog, StatesOf(catalog), options);
  EXPECT_EQ(ModeOf(plan, "deals").mode, SyncMode::kFull);
  EXPECT_THAT(ModeOf(plan, "deals").reason, HasSubstr("--full"));
  EXPECT_EQ(ModeOf(plan, "notes").mode, SyncMode::kDiff);
  EXPECT_THAT(ModeOf(plan, "notes").reason, HasSubstr("--diff"));
}

TEST_F(ChooseModesTest, AnExactTableKeyWinsOverAPattern) {
  Catalog catalog = Workload();
  IncrementalOptions options;
  TableSyncSettings pattern, exact;
  pattern.mode = SyncMode::kFull;
  exact.mode = SyncMode::kDiff;
  options.tables.push_back({"public.*", pattern});
  options.tables.push_back({"public.deals", exact});
  Plan plan = Choose(catalog, catalog, StatesOf(catalog), options);
  EXPECT_EQ(ModeOf(plan, "deals").mode, SyncMode::kDiff);
  EXPECT_THAT(ModeOf(plan, "deals").reason, HasSubstr("configured"));
  EXPECT_EQ(ModeOf(plan, "notes").mode, SyncMode::kFull);
}

TEST(IncrementalSqlTest, UpsertOverridesAnAlwaysIdentityAndNeverSetsTheKey) {
  Column id = Col("id", "bigint");
  id.identity = 'a';
  Catalog catalog = With({MakeTable("companies", {id, Col("name", "text")})});
  PlanOptions plan_options;
  plan_options.strategy = StrategyChoice::kOrdered;
  Plan plan = BuildPlan(catalog, catalog, plan_options);
  ASSERT_TRUE(plan.ok());
  ChooseModes(plan, catalog, catalog, {}, {});
  IncrementalSql sql(plan.tables[0], catalog.tables[0], catalog);
  std::string upsert = sql.Upsert({"_freshet", "inc_0_rows"});
  EXPECT_THAT(upsert, HasSubstr("OVERRIDING SYSTEM VALUE"));
  EXPECT_THAT(upsert, HasSubstr(R"(ON CONFLICT ("id"))"));
  EXPECT_THAT(upsert, HasSubstr(R"(SET "name" = EXCLUDED."name")"));
  EXPECT_THAT(upsert, Not(HasSubstr(R"("id" = EXCLUDED)")));
}

// The Workload catalog planned for an incremental run against itself.
Plan IncrementalPlan(const Catalog& catalog) {
  PlanOptions plan_options;
  plan_options.strategy = StrategyChoice::kOrdered;
  Plan plan = BuildPlan(catalog, catalog, plan_options);
  ChooseModes(plan, catalog, catalog, {}, {});
  return plan;
}

TEST(IncrementalSqlTest, ChangedPredicateTakesRowsOfNewerTransactionsWithoutReadingTheWatermark) {
  Catalog catalog = Workload();
  Plan plan = IncrementalPlan(catalog);
  const PlannedTable* deals = nullptr;
  for (const auto& table : plan.tables)
    if (table.name.name == "deals") deals = &table;
  ASSERT_NE(deals, nullptr);
  IncrementalSql sql(*deals, *catalog.Find(deals->name), catalog);
  TableMode mode;
  mode.mode = SyncMode::kWatermark;
  mode.watermark = "updated_at";
  mode.watermark_type = "timestamp with time zone";
  mode.watermark_from = "2026-01-01 00:00:00+00";
  mode.xmin_horizon = 4242;
  std::string predicate = sql.ChangedPredicate(mode);
  // Ties, NULL watermarks and late commits all come through the
  // transaction ids; the watermark column is not read.
  EXPECT_EQ(predicate, "pg_catalog.age(xmin) <= pg_catalog.age('4242'::pg_catalog.xid)");
  mode.xmin_horizon = (uint64_t{7} << 32) + 4242;  // the epoch is left out
  EXPECT_THAT(sql.ChangedPredicate(mode), HasSubstr("age('4242'::pg_catalog.xid)"));
  mode.xmin_horizon = 0;  // no horizon: every row
  EXPECT_EQ(sql.ChangedPredicate(mode), "");
}

TEST(IncrementalSqlTest, ChangedRowsOfAChunkReadItsBlocksOnlyAndOfAPartitionThatPartitionOnly) {
  Catalog catalog = Workload();
  Plan plan = IncrementalPlan(catalog);
  const PlannedTable& table = plan.tables[0];
  IncrementalSql sql(table, *catalog.Find(table.name), catalog);
  CopyUnit chunk;
  chunk.source = {"public", "part_a"};
  chunk.blocks = BlockRange{128, 256};
  std::string copy = sql.CopyChangedRowsOf(chunk, "pg_catalog.age(xmin) <= 5");
  EXPECT_THAT(copy,
              HasSubstr(R"(FROM ONLY "public"."part_a" WHERE ctid >= '(128,0)'::pg_catalog.tid)"
                        R"( AND ctid < '(256,0)'::pg_catalog.tid AND pg_catalog.age(xmin) <= 5))"));
  chunk.blocks = BlockRange{256, std::nullopt};  // the last chunk reaches the end
  EXPECT_THAT(sql.CopyChangedRowsOf(chunk, ""),
              AllOf(HasSubstr(R"(WHERE ctid >= '(256,0)'::pg_catalog.tid) TO STDOUT)"),
                    Not(HasSubstr("ctid <")), Not(HasSubstr("age("))));
  CopyUnit root;  // read through the root: every partition
  root.source = {"public", "events"};
  root.source_only = false;
  EXPECT_THAT(sql.CopyChangedRowsOf(root, "x"),
              AllOf(HasSubstr(R"(FROM "public"."events" WHERE x))"), Not(HasSubstr("ONLY"))));
}

TEST(IncrementalSqlTest, KeySumsOfAChunkSumItsBlocksKeysOnlyUnderTheTablesBucketing) {
  Catalog catalog = Workload();
  Plan plan = IncrementalPlan(catalog);
  const PlannedTable& table = plan.tables[0];
  IncrementalSql sql(table, *catalog.Find(table.name), catalog);
  Bucketing range{100, true, 1, 1000, 10};
  CopyUnit chunk;
  chunk.source = {"public", "part_a"};
  chunk.blocks = BlockRange{128, 256};
  std::string sums = sql.KeySumsOf(chunk, range);
  EXPECT_EQ(sums, sql.KeySumsOf(chunk, range));
  EXPECT_THAT(sums, AllOf(HasSubstr(R"(FROM ONLY "public"."part_a" WHERE ctid >= '(128,0)')"),
                          HasSubstr("ctid < '(256,0)'"), HasSubstr("false AS n"),
                          HasSubstr("GROUP BY 1"), Not(HasSubstr("age(xmin)"))));
  // The same bucket expression as the table's whole summary.
  std::string whole = sql.BucketSums(Side::kSource, range, false);
  size_t inner = whole.find("(SELECT ");
  ASSERT_NE(inner, std::string::npos);
  std::string rows = whole.substr(inner, whole.find(" FROM ", inner) - inner);
  EXPECT_THAT(rows, HasSubstr("CASE"));
  EXPECT_THAT(sums, HasSubstr(rows));
  CopyUnit leaf;  // a whole leaf partition
  leaf.source = {"public", "part_b"};
  EXPECT_THAT(
      sql.KeySumsOf(leaf, range),
      AllOf(HasSubstr(R"(FROM ONLY "public"."part_b") x GROUP BY 1)"), Not(HasSubstr("ctid"))));
}

}  // namespace
}  // namespace freshet
