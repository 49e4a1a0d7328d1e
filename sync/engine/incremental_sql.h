// The SQL of an incremental run, built from the plan and the target's
// catalog: the staging tables on the target, the source reads of changed
// rows, the bucket hashes both sides compare, and the merge statements.
// Pure; every identifier goes through QuoteIdent.
//
// Buckets: when the primary key leads with an integer column, each row falls
// in the range of that column's values its bucket covers (ranges of equal
// width between the source's least and greatest value; values outside fall
// in the first or last bucket), so finding a row's bucket costs one
// subtraction and the buckets follow the key's index. Otherwise each row
// falls in bucket `key hash & (buckets - 1)`, where the key hash is
// PostgreSQL's own hash of the primary key's values (the values as the
// target's types read them, so both sides hash equal keys alike). A side's
// bucket is summarised by its row count and the sum of one hash per row: of
// the key (finding deletes) or of the whole row (diff). Buckets are selected
// by a bitmap literal, so no statement carries a list of keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sync/engine/plan.h"

namespace freshet {

enum class Side { kSource, kTarget };

// The staging tables of plan table `index` (in schema _freshet, UNLOGGED).
struct StageTables {
  QualifiedName rows;         // changed source rows, the copied columns
  QualifiedName source_keys;  // keys the source has in differing buckets (+ "_K": slice K's)
  QualifiedName delete_keys;  // target keys to delete
};
StageTables StageTablesFor(size_t index);
// Lists the leftover staging tables (to drop them): a query returning
// quoted names.
std::string LeftoverStagingSql();

// How rows are put in buckets: `count` buckets, by key hash, or by ranges
// of the key's leading integer column: bucket b holds [lo + b*width,
// lo + (b+1)*width), values below lo in bucket 0, above hi in the last.
struct Bucketing {
  uint32_t count = 1;
  bool range = false;
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t width = 1;
};
// Range buckets over [lo, hi] in about `count` buckets (fewer when the range
// is narrower); nullopt when the span does not fit the arithmetic.
std::optional<Bucketing> RangeBuckets(int64_t lo, int64_t hi, uint32_t count);

// Bucket count for a table of about `rows` rows: a power of two near
// rows / `rows_per_bucket`, at least 1, at most 2^20.
uint32_t BucketCount(int64_t rows, int rows_per_bucket);
// The bitmap literal selecting `buckets` (indexes below `count`), for
// get_bit(): '\x...'::bytea.
std::string BucketBitmap(const std::vector<uint32_t>& buckets, uint32_t count);

// The key's columns: the table's primary key, or every copied column when it
// has none (rows are then their own keys).
std::vector<std::string> KeyColumns(const PlannedTable& table);

class IncrementalSql {
 public:
  // `target`: the target's catalog entry of `table`; `catalog` its types.
  IncrementalSql(const PlannedTable& table, const Table& target, const Catalog& catalog);

  // Staging.
  std::string CreateStageRows(const QualifiedName& stage) const;
  std::string CreateStageKeys(const QualifiedName& stage) const;
  std::string CopyIntoStage(const QualifiedName& stage, bool keys_only) const;
  // ANALYZE of a staging table's key columns: the statistics its joins on
  // the key use, and its size (the whole rows' statistics take longer).
  std::string AnalyzeStage(const QualifiedName& stage) const;

  // Source reads (COPY ... TO STDOUT): rows matching `where`, or every row
  // (empty `where`); masked columns read through the SELECT's masks
  // (MaskedSelectList), the stream's masks are left to the relay.
  std::string CopyChangedRows(const std::string& where) const;
  // The same over one COPY unit of the plan: a leaf partition, or a ctid
  // range of a big relation.
  std::string CopyChangedRowsOf(const CopyUnit& unit, const std::string& where) const;
  // Source rows of `FromBuckets(Side::kSource, ...)`, unmasked: diff mode,
  // which never runs on a masked table (MaskedComparison).
  std::string CopyRowsFrom(const std::string& from) const;
  // The watermark mode's predicate: rows at or above the watermark, with no
  // watermark, or written by a transaction at or after `xmin_horizon`.
  std::string ChangedPredicate(const TableMode& mode) const;
  // Rows (or keys) whose bucket is in `bitmap`.
  std::string InBuckets(Side side, const std::string& bitmap, const Bucketing& bucketing,
                        const std::string& alias = "") const;
  // The source query of the leading key column's least and greatest values
  // (as bigint), when the key leads with an integer column; else empty.
  std::string RangeBounds() const;
  // `FROM ... WHERE ...` (without FROM) of the rows in `buckets`: on range
  // buckets the ranges joined to the table, so the key's index finds them;
  // on hash buckets the table filtered by a bitmap. Select list columns
  // qualified by the table's name.
  std::string FromBuckets(Side side, const std::vector<uint32_t>& buckets,
                          const Bucketing& bucketing) const;
  std::string CopySourceKeys(const std::string& from) const;
  // `FROM ... WHERE ...` (without FROM): the table's rows matching `predicate`.
  std::string Where(Side side, const std::string& predicate) const;
  bool Partitioned(Side side) const;
  // One fingerprint per row (incremental_rowdiff.h): COPY ... TO STDOUT
  // binary of tableoid, ctid, the key's hash (with a key) and the row's.
  std::string RowPrints(Side side) const;

  // Per bucket: `SELECT bucket, count, sum, added` over one side;
  // `row_hash`: sum the whole row's hash (diff), else the key's (deletes);
  // `added` is 0.
  std::string BucketSums(Side side, const Bucketing& bucketing, bool row_hash) const;
  // The source's key summary over one COPY unit (its rows only): the units
  // of a table add up to its summary.
  std::string KeySumsOf(const CopyUnit& unit, const Bucketing& bucketing) const;
  // The same over the staged keys of `stage` the target lacks (the rows
  // about to be inserted; `added` counts them): added to the target's
  // summary, only deletes make a bucket differ from the source's. With a
  // `bitmap` (BucketBitmap), over the staged rows in its buckets only.
  std::string StagedNewSums(const Bucketing& bucketing, const QualifiedName& stage,
                            const std::string& bitmap = "") const;

  // Target keys of `from` (FromBuckets) that `present` (a staging table
  // holding the key columns) lacks, into `deletes`.
  std::string CollectDeletes(const QualifiedName& deletes, const std::string& from,
                             const QualifiedName& present) const;
  // For each (bucket, hash) of `hashes`: the target's keys in that bucket
  // whose summed hash is that one, into `deletes` where exactly one is;
  // the query returns those buckets (column b).
  std::string CollectDeletesByHash(const QualifiedName& deletes,
                                   const std::vector<std::pair<uint32_t, int64_t>>& hashes,
                                   const Bucketing& bucketing) const;
  // Every target key that `present` lacks (full mode).
  std::string CollectAllDeletes(const QualifiedName& deletes, const QualifiedName& present) const;

  // Merge.
  std::string CountNew(const QualifiedName& stage) const;
  // `nulled`: columns (of a foreign key closing a cycle) written as NULL when
  // the row they reference is not on the target yet; set by FixCycle later.
  std::string Upsert(const QualifiedName& stage, const std::vector<std::string>& nulled = {},
                     const std::string& nulled_condition = "") const;
  std::string FixCycle(const QualifiedName& stage, const std::vector<std::string>& columns) const;
  std::string DeleteKeys(const QualifiedName& deletes) const;
  std::string DeleteAll() const;
  std::string DeleteWhere(const std::string& predicate) const;
  std::string InsertAll(const QualifiedName& stage) const;

  const std::vector<std::string>& key() const { return key_; }
  bool keyed() const { return keyed_; }

 private:
  std::string KeyHash(Side side, const std::string& alias) const;
  std::string Bucket(Side side, const Bucketing& bucketing, const std::string& alias) const;
  std::string RowHash(Side side) const;
  // The hash a key summary sums per key.
  std::string SummedKeyHash(Side side, const Bucketing& bucketing, const std::string& alias) const;
  std::string InRange(const std::string& value, const std::string& bucket,
                      const Bucketing& bucketing) const;
  std::string BucketedHash(Side side, const Bucketing& bucketing, bool row_hash,
                           const std::string& alias) const;
  std::string StagedNew(const Bucketing& bucketing, const QualifiedName& stage) const;
  std::string SumByBucket(const Bucketing& bucketing, const std::string& rows) const;
  std::string HashValue(size_t column, Side side, const std::string& alias) const;
  std::string KeyMatch(const std::string& left, const std::string& right) const;
  std::string QualifiedList(const std::vector<std::string>& columns) const;
  std::string From(Side side) const;
  std::string Distinct(const std::string& left, const std::string& right) const;

  const PlannedTable& table_;
  std::vector<std::string> columns_;  // copied columns, target order
  std::vector<std::string> key_;
  std::vector<size_t> key_index_;  // into columns_
  std::vector<bool> typed_hash_;   // per column: hashed as itself (else as text)
  std::vector<bool> text_type_;    // per column: a string type (hashed COLLATE "C")
  bool integer_lead_ = false;      // the key's first column is smallint/integer/bigint
  bool keyed_ = false;             // a primary key (else rows are their own keys)
  bool target_partitioned_ = false;
  bool overriding_ = false;  // an identity ALWAYS column is copied
};

}  // namespace freshet
