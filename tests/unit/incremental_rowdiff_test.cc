// Diff mode row by row: parsing the servers' fingerprints, pairing them off,
// and the statements that select rows by location; range buckets.
#include "sync/engine/incremental_rowdiff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "copy/error.h"
#include "sync/engine/incremental_sql.h"

namespace freshet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::string Int16(int v) {
  return {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
}
std::string Int32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff),
          static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
}
std::string Field(const std::string& bytes) { return Int32(bytes.size()) + bytes; }
std::string Int64(uint64_t v) {
  return Int32(static_cast<uint32_t>(v >> 32)) + Int32(static_cast<uint32_t>(v));
}

// A binary COPY row as the server sends (tableoid, ctid, hashes...).
std::string PrintRow(uint32_t rel, uint32_t block, uint16_t offset, std::vector<uint64_t> hashes) {
  std::string row = Int16(2 + static_cast<int>(hashes.size())) + Field(Int32(rel)) +
                    Field(Int32(block) + Int16(offset));
  for (uint64_t hash : hashes) row += Field(Int64(hash));
  return row;
}

RowPrint Print(uint64_t key, uint64_t row, uint32_t block) { return {key, row, {1, block, 1}}; }
RowLocation At(uint32_t block) { return {1, block, 1}; }

TEST(RowPrintTest, ParsesLocationAndHashesOfKeyedAndKeylessRows) {
  RowPrint keyed = ParseRowPrint(PrintRow(16384, 70000, 12, {0xfedcba9876543210u, 7}), true, "t");
  EXPECT_EQ(keyed.at, (RowLocation{16384, 70000, 12}));
  EXPECT_EQ(keyed.key, 0xfedcba9876543210u);
  EXPECT_EQ(keyed.row, 7u);
  RowPrint keyless = ParseRowPrint(PrintRow(5, 1, 2, {99}), false, "t");
  EXPECT_EQ(keyless.key, 99u);
  EXPECT_EQ(keyless.row, 99u);
}

TEST(RowPrintTest, RefusesRowsOfAnotherShapeNamingTheTable) {
  EXPECT_THROW(ParseRowPrint(PrintRow(5, 1, 2, {99}), true, "public.deals"), Error);
  std::string null_hash =
      Int16(4) + Field(Int32(5)) + Field(Int32(1) + Int16(2)) + Int32(-1) + Field(Int64(1));
  try {
    ParseRowPrint(null_hash, true, "public.deals row hashes");
    FAIL() << "a NULL hash was taken";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("public.deals row hashes"));
  }
  EXPECT_THROW(ParseRowPrint(PrintRow(5, 1, 2, {1, 2}).substr(0, 20), true, "t"), Error);
}

TEST(CompareRowPrintsTest, KeyedRowsMoveWhenNewOrChangedAndTargetOnlyKeysAreRemoved) {
  RowDifference difference =
      CompareRowPrints({Print(1, 10, 1), Print(2, 20, 2), Print(3, 31, 3), Print(5, 50, 5)},
                       {Print(4, 40, 14), Print(3, 30, 13), Print(2, 20, 12)}, true);
  EXPECT_THAT(difference.copy, UnorderedElementsAre(At(1), At(3), At(5)));
  // Key 3 changed: its target row is a delete candidate too (kept by the
  // merge when its key is staged; deleted when another key shared the hash).
  EXPECT_THAT(difference.remove, UnorderedElementsAre(At(13), At(14)));
  EXPECT_EQ(difference.new_keys, 2u);
  EXPECT_EQ(difference.equal, 1u);
}

TEST(CompareRowPrintsTest, AKeyHashSharedByTwoKeysMovesBothSidesRowsForTheMergeToSettle) {
  RowDifference difference =
      CompareRowPrints({Print(7, 1, 1), Print(7, 2, 2)}, {Print(7, 1, 11)}, true);
  EXPECT_THAT(difference.copy, UnorderedElementsAre(At(1), At(2)));
  EXPECT_THAT(difference.remove, ElementsAre(At(11)));
  EXPECT_EQ(difference.new_keys, 0u);
}

TEST(CompareRowPrintsTest, RowsWithoutAKeyPairOffAndOnlyTheSurplusCopiesMove) {
  // Source: row 9 three times, row 8 once; target: row 9 once, row 6 twice.
  RowDifference difference =
      CompareRowPrints({Print(9, 9, 1), Print(9, 9, 2), Print(9, 9, 3), Print(8, 8, 4)},
                       {Print(9, 9, 11), Print(6, 6, 12), Print(6, 6, 13)}, false);
  EXPECT_EQ(difference.copy.size(), 3u);  // two more copies of 9, one of 8
  EXPECT_THAT(difference.remove, UnorderedElementsAre(At(12), At(13)));
  EXPECT_EQ(difference.equal, 1u);
}

TEST(CompareRowPrintsTest, EqualSidesDifferInNothing) {
  RowDifference difference =
      CompareRowPrints({Print(1, 1, 1), Print(2, 2, 2)}, {Print(2, 2, 9), Print(1, 1, 8)}, true);
  EXPECT_TRUE(difference.copy.empty());
  EXPECT_TRUE(difference.remove.empty());
  EXPECT_EQ(difference.equal, 2u);
}

TEST(LocationPredicatesTest, ChunksTidListsAndFiltersPartitionsByTable) {
  std::vector<RowLocation> rows = {{10, 0, 1}, {10, 3, 7}, {11, 0, 1}};
  std::vector<LocatedRows> plain = LocationPredicates(rows, false, 2);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].predicate, R"sql(ctid = ANY('{"(0,1)","(3,7)"}'::pg_catalog.tid[]))sql");
  EXPECT_EQ(plain[0].rows, 2u);
  EXPECT_EQ(plain[1].predicate, R"sql(ctid = ANY('{"(0,1)"}'::pg_catalog.tid[]))sql");
  EXPECT_EQ(plain[1].rows, 1u);
  std::vector<LocatedRows> partitioned = LocationPredicates(rows, true, 10);
  ASSERT_EQ(partitioned.size(), 1u);
  EXPECT_EQ(partitioned[0].rows, 3u);
  EXPECT_THAT(partitioned[0].predicate,
              HasSubstr(R"sql('{"10(0,1)","10(3,7)","11(0,1)"}'::pg_catalog.text[])sql"));
  EXPECT_TRUE(LocationPredicates({}, true, 10).empty());
}

TEST(RangeBucketsTest, CoverTheSpanInEqualWidthsWithinBigint) {
  std::optional<Bucketing> buckets = RangeBuckets(1, 1000, 64);
  ASSERT_TRUE(buckets);
  EXPECT_TRUE(buckets->range);
  EXPECT_EQ(buckets->width, 16);   // ceil(1000 / 64)
  EXPECT_EQ(buckets->count, 63u);  // ceil(1000 / 16): the last value has a bucket
  EXPECT_LE((1000 - buckets->lo) / buckets->width, int64_t{buckets->count} - 1);
  std::optional<Bucketing> narrow = RangeBuckets(5, 7, 1024);  // fewer values than buckets
  ASSERT_TRUE(narrow);
  EXPECT_EQ(narrow->width, 1);
  EXPECT_EQ(narrow->count, 3u);
  EXPECT_FALSE(RangeBuckets(INT64_MIN, INT64_MAX, 1024));  // the span overflows the arithmetic
  EXPECT_FALSE(RangeBuckets(10, 9, 4));
}

}  // namespace
}  // namespace freshet
