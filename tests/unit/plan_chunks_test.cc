// Planning of ctid-range chunks: which relations are split, how the ranges
// cover the heap (no gap, no overlap, open-ended last range), and when the
// planner must not split.
#include <gtest/gtest.h>

#include "sync/engine/loader.h"
#include "sync/engine/plan.h"

namespace freshet {
namespace {

constexpr int64_t kMB = int64_t{1} << 20;

Table MakeTable(const std::string& name, int64_t bytes, TableKind kind = TableKind::kTable) {
  Table table;
  table.name = {"public", name};
  table.kind = kind;
  Column id;
  id.name = "id";
  id.type = "bigint";
  id.binary_portable = true;
  id.not_null = true;
  Column body;
  body.name = "body";
  body.type = "text";
  body.binary_portable = true;
  table.columns = {id, body};
  table.bytes = bytes;
  table.heap_bytes = bytes * 3 / 4;
  table.estimated_rows = bytes / 100;
  table.owned_by_current_user = true;
  return table;
}

Catalog MakeCatalog(std::vector<Table> tables, int server_version = 150000) {
  Catalog catalog;
  catalog.tables = std::move(tables);
  catalog.server_version = server_version;
  return catalog;
}

PlanOptions ChunkOptions(int64_t chunk_bytes) {
  PlanOptions options;
  options.chunk_bytes = chunk_bytes;
  return options;
}

TEST(PlanChunksTest, SplitsLargeTablesIntoContiguousBlockRanges) {
  Catalog source = MakeCatalog({MakeTable("big", 1000 * kMB), MakeTable("small", 10 * kMB)});
  Plan plan = BuildPlan(source, source, ChunkOptions(256 * kMB));
  ASSERT_TRUE(plan.ok());
  const PlannedTable* big = plan.Find({"public", "big"});
  const PlannedTable* small = plan.Find({"public", "small"});
  ASSERT_NE(big, nullptr);
  ASSERT_EQ(big->units.size(), 4u);  // ceil(1000 / 256)
  int64_t next = 0;
  for (size_t i = 0; i < big->units.size(); ++i) {
    const CopyUnit& unit = big->units[i];
    ASSERT_TRUE(unit.blocks.has_value());
    EXPECT_EQ(unit.blocks->begin, next);
    if (i + 1 < big->units.size()) {
      ASSERT_TRUE(unit.blocks->end.has_value());
      EXPECT_GT(*unit.blocks->end, unit.blocks->begin);
      next = *unit.blocks->end;
    } else {
      EXPECT_FALSE(unit.blocks->end.has_value()) << "the last range must reach the end";
    }
  }
  ASSERT_EQ(small->units.size(), 1u);
  EXPECT_FALSE(small->units[0].blocks.has_value());
  EXPECT_NE(DescribePlan(plan).find("4 ctid ranges"), std::string::npos);
}

TEST(PlanChunksTest, ChunkStatementsReadOnlyTheirRange) {
  Catalog source = MakeCatalog({MakeTable("big", 1000 * kMB)});
  Plan plan = BuildPlan(source, source, ChunkOptions(500 * kMB));
  const PlannedTable& big = plan.tables.at(0);
  ASSERT_EQ(big.units.size(), 2u);
  std::string first = CopyOutSql(big, big.units[0]);
  std::string last = CopyOutSql(big, big.units[1]);
  EXPECT_NE(first.find("FROM ONLY \"public\".\"big\" WHERE ctid >= '(0,0)'::pg_catalog.tid AND "
                       "ctid < '("),
            std::string::npos)
      << first;
  EXPECT_EQ(last.find("ctid <"), std::string::npos) << last;
  EXPECT_NE(last.find("(FORMAT binary)"), std::string::npos);
}

TEST(PlanChunksTest, NeverSplitsOnOldServersOrWhenDisabled) {
  Catalog old_source = MakeCatalog({MakeTable("big", 1000 * kMB)}, 130000);
  Catalog target = MakeCatalog({MakeTable("big", 1000 * kMB)});
  EXPECT_EQ(BuildPlan(old_source, target, ChunkOptions(64 * kMB)).tables.at(0).units.size(), 1u);
  Catalog source = MakeCatalog({MakeTable("big", 1000 * kMB)});
  EXPECT_EQ(BuildPlan(source, target, ChunkOptions(-1)).tables.at(0).units.size(), 1u);
}

TEST(PlanChunksTest, SplitsLeafPartitionsButNotAPartitionedRootRead) {
  Table root = MakeTable("events", 0, TableKind::kPartitioned);
  Table leaf = MakeTable("events_2025", 800 * kMB);
  leaf.partition_root = root.name;
  leaf.partition_parent = root.name;
  leaf.partition_bound = "FOR VALUES FROM (0) TO (100)";
  Catalog source = MakeCatalog({root, leaf});
  // Same partitions on the target: per partition, so the leaf is split.
  Plan per_partition = BuildPlan(source, source, ChunkOptions(200 * kMB));
  EXPECT_EQ(per_partition.tables.at(0).units.size(), 4u);
  // The target is not partitioned: rows are read through the source root.
  Catalog target = MakeCatalog({MakeTable("events", 0)});
  Plan through_root = BuildPlan(source, target, ChunkOptions(200 * kMB));
  ASSERT_EQ(through_root.tables.at(0).units.size(), 1u);
  EXPECT_FALSE(through_root.tables.at(0).units[0].blocks.has_value());
}

TEST(PlanChunksTest, AutomaticChunkSizeFollowsJobs) {
  Catalog source = MakeCatalog({MakeTable("big", 2048 * kMB)});
  PlanOptions options;
  options.jobs = 4;  // 2 GB / 16 = 128 MB chunks
  EXPECT_EQ(BuildPlan(source, source, options).tables.at(0).units.size(), 16u);
}

}  // namespace
}  // namespace freshet
