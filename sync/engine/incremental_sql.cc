#include "sync/engine/incremental_sql.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "sync/engine/bucket_sums.h"
#include "sync/engine/loader.h"

namespace freshet {
namespace {

// Types whose hash and equality are those of their text form (so a change
// always changes the hash), and whose hash PostgreSQL computes without
// looking at OIDs (enums hash their OIDs, which differ between databases).
// Everything else is hashed and compared as text.
const std::set<std::string>& TypedHashTypes() {
  static const std::set<std::string> types = {"smallint",
                                              "integer",
                                              "bigint",
                                              "uuid",
                                              "text",
                                              "character varying",
                                              "character",
                                              "name",
                                              "date",
                                              "timestamp with time zone",
                                              "timestamp without time zone",
                                              "time without time zone",
                                              "boolean",
                                              "bytea",
                                              "oid",
                                              "jsonb"};
  return types;
}

bool IsIntegerType(const std::string& type) {
  return type == "smallint" || type == "integer" || type == "bigint";
}

bool IsTextType(const std::string& type) {
  return type == "text" || type == "character varying" || type == "character" || type == "name";
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  return fmt::format("{}", fmt::join(parts, separator));
}

}  // namespace

StageTables StageTablesFor(size_t index) {
  return {{"_freshet", fmt::format("inc_{}_rows", index)},
          {"_freshet", fmt::format("inc_{}_source_keys", index)},
          {"_freshet", fmt::format("inc_{}_delete_keys", index)}};
}

std::string LeftoverStagingSql() {
  return "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '_freshet' "
         "AND c.relkind = 'r' AND c.relname LIKE 'inc\\_%'";
}

uint32_t BucketCount(int64_t rows, int rows_per_bucket) {
  int64_t wanted = std::max<int64_t>(rows / std::max(rows_per_bucket, 1), 1);
  uint32_t count = 1;
  while (count < wanted && count < (1u << 20)) count <<= 1;
  return count;
}

std::string BucketBitmap(const std::vector<uint32_t>& buckets, uint32_t count) {
  std::string bytes((count + 7) / 8, '\0');
  for (uint32_t bucket : buckets)
    if (bucket < count)
      bytes[bucket / 8] = static_cast<char>(bytes[bucket / 8] | 1 << (bucket % 8));
  return "'" + ToByteaHex(bytes) + "'::pg_catalog.bytea";
}

std::optional<Bucketing> RangeBuckets(int64_t lo, int64_t hi, uint32_t count) {
  if (hi < lo || count == 0) return std::nullopt;
  __int128 span = static_cast<__int128>(hi) - lo + 1;
  if (span > (static_cast<__int128>(1) << 62)) return std::nullopt;
  Bucketing bucketing;
  bucketing.range = true;
  bucketing.lo = lo;
  bucketing.hi = hi;
  bucketing.width = static_cast<int64_t>((span + count - 1) / count);
  bucketing.count = static_cast<uint32_t>((span + bucketing.width - 1) / bucketing.width);
  return bucketing;
}

std::vector<std::string> KeyColumns(const PlannedTable& table) {
  if (table.incremental && !table.incremental->key.empty()) return table.incremental->key;
  return table.mapping.columns;
}

IncrementalSql::IncrementalSql(const PlannedTable& table, const Table& target,
                               const Catalog& /*catalog*/)
    : table_(table), columns_(table.mapping.columns) {
  keyed_ = table.incremental && !table.incremental->key.empty();
  key_ = KeyColumns(table);
  for (const auto& column : key_)
    key_index_.push_back(std::find(columns_.begin(), columns_.end(), column) - columns_.begin());
  target_partitioned_ = table.target_kind == TableKind::kPartitioned;
  for (const auto& name : columns_) {
    const Column* column = target.FindColumn(name);
    std::string type = column ? column->type_id : "";
    typed_hash_.push_back(TypedHashTypes().count(type) > 0);
    text_type_.push_back(IsTextType(type));
    if (column && column->identity == 'a') overriding_ = true;
  }
  // Range buckets need the column itself on both sides (no cast between
  // them), so its index serves the ranges.
  const Column* lead = keyed_ ? target.FindColumn(key_[0]) : nullptr;
  size_t at = keyed_ ? key_index_[0] : 0;
  integer_lead_ = lead && IsIntegerType(lead->type_id) && at < columns_.size() &&
                  (table.verify_source.size() != columns_.size() ||
                   table.verify_source[at] == QuoteIdent(key_[0]));
}

std::string IncrementalSql::From(Side side) const {
  bool only = side == Side::kSource ? !table_.source_partitioned : !target_partitioned_;
  return (only ? "ONLY " : "") + table_.name.Quoted();
}

// Column `i`'s value as hashed: the planned verification expression (the
// source's cast to the target's type), or `alias.column` on a staging table.
std::string IncrementalSql::HashValue(size_t i, Side side, const std::string& alias) const {
  std::string value;
  if (!alias.empty()) {
    value = alias + "." + QuoteIdent(columns_[i]);
  } else {
    const auto& planned = side == Side::kSource ? table_.verify_source : table_.verify_target;
    value = planned.size() == columns_.size() ? planned[i] : QuoteIdent(columns_[i]);
  }
  if (!typed_hash_[i]) return "(" + value + ")::pg_catalog.text COLLATE \"C\"";
  if (text_type_[i]) return "(" + value + ") COLLATE \"C\"";
  return "(" + value + ")";
}

std::string IncrementalSql::KeyHash(Side side, const std::string& alias) const {
  std::vector<std::string> values;
  for (size_t i : key_index_) values.push_back(HashValue(i, side, alias));
  return "pg_catalog.hash_record_extended(ROW(" + Join(values, ", ") + "), 0)";
}

// The bucket of a row: see Bucketing. Range: CASE keeps the subtraction
// within bigint for values outside [lo, hi].
std::string IncrementalSql::Bucket(Side side, const Bucketing& bucketing,
                                   const std::string& alias) const {
  if (!bucketing.range) return fmt::format("({} & {})", KeyHash(side, alias), bucketing.count - 1);
  std::string value = HashValue(key_index_[0], side, alias);
  return fmt::format(
      "(CASE WHEN {0} < {1} THEN 0 WHEN {0} > {2} THEN {3} ELSE ({0}::pg_catalog.int8 - {1}) / "
      "{4} END)",
      value, bucketing.lo, bucketing.hi, bucketing.count - 1, bucketing.width);
}

std::string IncrementalSql::RangeBounds() const {
  if (!integer_lead_) return "";
  std::string value = HashValue(key_index_[0], Side::kSource, "");
  return fmt::format(
      "SELECT min({0})::pg_catalog.int8::pg_catalog.text, "
      "max({0})::pg_catalog.int8::pg_catalog.text FROM {1}",
      value, From(Side::kSource));
}

std::string IncrementalSql::RowHash(Side side) const {
  std::vector<std::string> values;
  for (size_t i = 0; i < columns_.size(); ++i) values.push_back(HashValue(i, side, ""));
  return "pg_catalog.hash_record_extended(ROW(" + Join(values, ", ") + "), 1)";
}

std::string IncrementalSql::KeyMatch(const std::string& left, const std::string& right) const {
  std::vector<std::string> parts;
  for (const auto& column : key_)
    parts.push_back(fmt::format("{0}.{1} = {2}.{1}", left, QuoteIdent(column), right));
  return Join(parts, " AND ");
}

std::string IncrementalSql::Distinct(const std::string& left, const std::string& right) const {
  std::vector<std::string> parts;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (std::find(key_.begin(), key_.end(), columns_[i]) != key_.end()) continue;
    std::string l = left + "." + QuoteIdent(columns_[i]);
    std::string r = right + "." + QuoteIdent(columns_[i]);
    // Strings compare byte for byte: under a case-insensitive (ICU,
    // nondeterministic) collation 'A' and 'a' are equal, yet differ.
    if (text_type_[i])
      parts.push_back(fmt::format("{} COLLATE \"C\" IS DISTINCT FROM {} COLLATE \"C\"", l, r));
    else if (typed_hash_[i])
      parts.push_back(fmt::format("{} IS DISTINCT FROM {}", l, r));
    else
      parts.push_back(
          fmt::format("{}::pg_catalog.text IS DISTINCT FROM {}::pg_catalog.text", l, r));
  }
  return Join(parts, " OR ");
}

std::string IncrementalSql::CreateStageRows(const QualifiedName& stage) const {
  return fmt::format("CREATE UNLOGGED TABLE {} AS SELECT {} FROM {} WITH NO DATA", stage.Quoted(),
                     QuoteIdentList(columns_), From(Side::kTarget));
}

std::string IncrementalSql::CreateStageKeys(const QualifiedName& stage) const {
  return fmt::format("CREATE UNLOGGED TABLE {} AS SELECT {} FROM {} WITH NO DATA", stage.Quoted(),
                     QuoteIdentList(key_), From(Side::kTarget));
}

std::string IncrementalSql::AnalyzeStage(const QualifiedName& stage) const {
  return fmt::format("ANALYZE {} ({})", stage.Quoted(), QuoteIdentList(key_));
}

std::string IncrementalSql::CopyIntoStage(const QualifiedName& stage, bool keys_only) const {
  return fmt::format(
      "COPY {} ({}) FROM STDIN {}", stage.Quoted(), QuoteIdentList(keys_only ? key_ : columns_),
      table_.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)");
}

std::string IncrementalSql::CopyChangedRows(const std::string& where) const {
  // Masked columns read as their rules' expressions, as in a full sync
  // (CopyOutSql); the stream's rules are the relay's transform.
  std::string masked = MaskedSelectList(columns_, table_.masks);
  return fmt::format(
      "COPY (SELECT {} FROM {}{}) TO STDOUT {}", masked.empty() ? QuoteIdentList(columns_) : masked,
      From(Side::kSource), where.empty() ? "" : " WHERE " + where,
      table_.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)");
}

std::string IncrementalSql::CopyChangedRowsOf(const CopyUnit& unit,
                                              const std::string& where) const {
  std::vector<std::string> conditions;
  if (unit.blocks) conditions.push_back(BlocksPredicate(*unit.blocks));
  if (!where.empty()) conditions.push_back(where);
  std::string masked = MaskedSelectList(columns_, table_.masks);
  return fmt::format(
      "COPY (SELECT {} FROM {}{}{}) TO STDOUT {}",
      masked.empty() ? QuoteIdentList(columns_) : masked, unit.source_only ? "ONLY " : "",
      unit.source.Quoted(), conditions.empty() ? "" : " WHERE " + Join(conditions, " AND "),
      table_.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)");
}

std::string IncrementalSql::QualifiedList(const std::vector<std::string>& columns) const {
  std::vector<std::string> parts;
  for (const auto& column : columns)
    parts.push_back(table_.name.Quoted() + "." + QuoteIdent(column));
  return Join(parts, ", ");
}

std::string IncrementalSql::CopyRowsFrom(const std::string& from) const {
  return fmt::format(
      "COPY (SELECT {} FROM {}) TO STDOUT {}", QualifiedList(columns_), from,
      table_.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)");
}

std::string IncrementalSql::CopySourceKeys(const std::string& from) const {
  return fmt::format(
      "COPY (SELECT {} FROM {}) TO STDOUT {}", QualifiedList(key_), from,
      table_.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)");
}

std::string IncrementalSql::Where(Side side, const std::string& predicate) const {
  return From(side) + " WHERE " + predicate;
}

bool IncrementalSql::Partitioned(Side side) const {
  return side == Side::kSource ? table_.source_partitioned : target_partitioned_;
}

std::string IncrementalSql::RowPrints(Side side) const {
  std::string hashes = keyed_ ? KeyHash(side, "") + ", " + RowHash(side) : RowHash(side);
  return fmt::format("COPY (SELECT tableoid, ctid, {} FROM {}) TO STDOUT (FORMAT binary)", hashes,
                     From(side));
}

// `value` within range bucket `bucket` (SQL expressions), bounds
// inclusive; the first and last buckets reach the type's ends.
std::string IncrementalSql::InRange(const std::string& value, const std::string& bucket,
                                    const Bucketing& bucketing) const {
  return fmt::format(
      "{0} >= (CASE WHEN {1} = 0 THEN -9223372036854775808 ELSE {2} + {1} * {3} END) AND {0} <= "
      "(CASE WHEN {1} = {4} THEN 9223372036854775807 ELSE {2} + ({1} + 1) * {3} - 1 END)",
      value, bucket, bucketing.lo, bucketing.width, bucketing.count - 1);
}

std::string IncrementalSql::FromBuckets(Side side, const std::vector<uint32_t>& buckets,
                                        const Bucketing& bucketing) const {
  if (!bucketing.range)
    return fmt::format("{} WHERE {}", From(side),
                       InBuckets(side, BucketBitmap(buckets, bucketing.count), bucketing));
  std::vector<std::string> numbers;
  for (uint32_t bucket : buckets) numbers.push_back(std::to_string(bucket));
  std::string column = table_.name.Quoted() + "." + QuoteIdent(key_[0]);
  return fmt::format(
      "pg_catalog.unnest('{{{}}}'::pg_catalog.int8[]) AS _freshet_range(b) JOIN {} ON {} WHERE "
      "true",
      Join(numbers, ","), From(side), InRange(column, "_freshet_range.b", bucketing));
}

// The target's keys are read in a subquery of their own, under an alias of
// their own: its columns and the key's hash expressions cannot clash with
// the list's names. On range buckets it is a lateral subquery per bucket
// that the planner keeps (OFFSET 0), so each bucket's range is read through
// the key's index.
std::string IncrementalSql::CollectDeletesByHash(
    const QualifiedName& deletes, const std::vector<std::pair<uint32_t, int64_t>>& hashes,
    const Bucketing& bucketing) const {
  std::vector<std::string> buckets, sums, keys, picked;
  for (const auto& [bucket, hash] : hashes) {
    buckets.push_back(std::to_string(bucket));
    sums.push_back(std::to_string(hash));
  }
  for (size_t i = 0; i < key_.size(); ++i) {
    keys.push_back(fmt::format("{} AS _k{}", QuoteIdent(key_[i]), i));
    picked.push_back(fmt::format("t._k{}", i));
  }
  // The table under an alias of its own: `u` names the list alone.
  std::string rows = fmt::format("SELECT {}, {} AS _h FROM {} AS _freshet_keys", Join(keys, ", "),
                                 SummedKeyHash(Side::kTarget, bucketing, ""), From(Side::kTarget));
  // Range buckets: each bucket's range read through the key's index (a
  // lateral subquery the planner keeps, else it may hash the whole table).
  std::string joined =
      bucketing.range
          ? fmt::format("CROSS JOIN LATERAL ({} WHERE {} OFFSET 0) t WHERE t._h = u.h", rows,
                        InRange("_freshet_keys." + QuoteIdent(key_[0]), "u.b", bucketing))
          : fmt::format("JOIN ({}) t ON t._h = u.h AND (t._h & {}) = u.b", rows,
                        bucketing.count - 1);
  std::string found = fmt::format(
      "SELECT {}, u.b, count(*) OVER (PARTITION BY u.b) AS n FROM ROWS FROM (pg_catalog.unnest("
      "'{{{}}}'::pg_catalog.int8[]), pg_catalog.unnest('{{{}}}'::pg_catalog.int8[])) AS u(b, h) {}",
      Join(picked, ", "), Join(buckets, ","), Join(sums, ","), joined);
  for (auto& column : picked) column.replace(0, 1, "c");
  return fmt::format(
      "WITH c AS MATERIALIZED ({}), d AS (INSERT INTO {} ({}) SELECT {} FROM c WHERE c.n = 1) "
      "SELECT c.b FROM c WHERE c.n = 1",
      found, deletes.Quoted(), QuoteIdentList(key_), Join(picked, ", "));
}

// Exactness comes from the transaction ids alone: every row version written
// by a transaction that had not ended when the last run's snapshot was taken
// (late commits, subtransactions, FK actions that leave the watermark alone,
// NULL or tied watermarks) carries an xmin at or after that snapshot's xmin,
// and keeps it when VACUUM freezes it (the xmin column shows the raw xid
// since PostgreSQL 9.4). Every transaction below it had ended, so its rows
// were read by that run or an earlier one. A test of the watermark would
// find nothing more, and costs a walk through each row to its column.
std::string IncrementalSql::ChangedPredicate(const TableMode& mode) const {
  if (mode.xmin_horizon == 0) return "";  // no horizon: every row
  // age() of both against the same reference xid: exact modulo 2^32 while
  // the horizon is younger than 2^31 transactions (checked before).
  // The 32-bit xid as a literal (a constant the planner folds); if it is a
  // special xid (below 3), age() says INT_MAX and every row is read.
  return fmt::format("pg_catalog.age(xmin) <= pg_catalog.age('{}'::pg_catalog.xid)",
                     mode.xmin_horizon & 0xFFFFFFFFu);
}

std::string IncrementalSql::InBuckets(Side side, const std::string& bitmap,
                                      const Bucketing& bucketing, const std::string& alias) const {
  return fmt::format("pg_catalog.get_bit({}, {}::pg_catalog.int8) = 1", bitmap,
                     Bucket(side, bucketing, alias));
}

std::string IncrementalSql::BucketSums(Side side, const Bucketing& bucketing, bool row_hash) const {
  return SumByBucket(bucketing,
                     fmt::format("SELECT {}, false AS n FROM {}",
                                 BucketedHash(side, bucketing, row_hash, ""), From(side)));
}

std::string IncrementalSql::KeySumsOf(const CopyUnit& unit, const Bucketing& bucketing) const {
  return SumByBucket(bucketing,
                     fmt::format("SELECT {}, false AS n FROM {}{}{}",
                                 BucketedHash(Side::kSource, bucketing, false, ""),
                                 unit.source_only ? "ONLY " : "", unit.source.Quoted(),
                                 unit.blocks ? " WHERE " + BlocksPredicate(*unit.blocks) : ""));
}

std::string IncrementalSql::StagedNewSums(const Bucketing& bucketing, const QualifiedName& stage,
                                          const std::string& bitmap) const {
  std::string rows = StagedNew(bucketing, stage);
  if (!bitmap.empty()) rows += " AND " + InBuckets(Side::kTarget, bitmap, bucketing, "s");
  return SumByBucket(bucketing, rows);
}

// `k` (the bucket, or the key's hash to mask into one) and `h` (what is
// summed) of each row of `side` (aliased `alias` when not empty).
// Hash buckets of keys: the key's hash is both the bucket and what is
// summed, computed once.
// Range buckets of keys sum a hash of the whole key too: a delete and an
// insert in one bucket then change the sum (summing the leading values
// themselves, deleting 3 and 5 and inserting 2 and 6 would not, nor moving
// a row to another partition under the same id). A key of one integer
// column hashes as an integer, which is cheaper.
std::string IncrementalSql::BucketedHash(Side side, const Bucketing& bucketing, bool row_hash,
                                         const std::string& alias) const {
  std::string summed = row_hash ? RowHash(side) : SummedKeyHash(side, bucketing, alias);
  if (!bucketing.range && !row_hash) return fmt::format("{0} AS k, {0} AS h", summed);
  return fmt::format("{} AS k, {} AS h", Bucket(side, bucketing, alias), summed);
}

std::string IncrementalSql::SummedKeyHash(Side side, const Bucketing& bucketing,
                                          const std::string& alias) const {
  if (!bucketing.range || key_index_.size() != 1) return KeyHash(side, alias);
  return fmt::format("pg_catalog.hashint8extended(({})::pg_catalog.int8, 0)",
                     HashValue(key_index_[0], side, alias));
}

// The staged keys the target lacks (rows about to be inserted), as
// BucketedHash's rows with n = true.
std::string IncrementalSql::StagedNew(const Bucketing& bucketing,
                                      const QualifiedName& stage) const {
  return fmt::format("SELECT {}, true AS n FROM {} s WHERE NOT EXISTS (SELECT 1 FROM {} WHERE {})",
                     BucketedHash(Side::kTarget, bucketing, false, "s"), stage.Quoted(),
                     From(Side::kTarget), KeyMatch(table_.name.Quoted(), "s"));
}

std::string IncrementalSql::SumByBucket(const Bucketing& bucketing, const std::string& rows) const {
  std::string bucket = bucketing.range ? "k" : fmt::format("k & {}", bucketing.count - 1);
  return fmt::format(
      "SELECT ({})::pg_catalog.int4 AS b, count(*), sum(h)::pg_catalog.text, "
      "count(*) FILTER (WHERE n) FROM ({}) x GROUP BY 1",
      bucket, rows);
}

std::string IncrementalSql::CollectDeletes(const QualifiedName& deletes, const std::string& from,
                                           const QualifiedName& present) const {
  return fmt::format(
      "INSERT INTO {} ({}) SELECT {} FROM {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
      deletes.Quoted(), QuoteIdentList(key_), QualifiedList(key_), from, present.Quoted(),
      KeyMatch("p", table_.name.Quoted()));
}

std::string IncrementalSql::CollectAllDeletes(const QualifiedName& deletes,
                                              const QualifiedName& present) const {
  return fmt::format(
      "INSERT INTO {} ({}) SELECT {} FROM {} WHERE NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
      deletes.Quoted(), QuoteIdentList(key_), QuoteIdentList(key_), From(Side::kTarget),
      present.Quoted(), KeyMatch("p", table_.name.Quoted()));
}

std::string IncrementalSql::CountNew(const QualifiedName& stage) const {
  return fmt::format("SELECT count(*) FROM {} s WHERE NOT EXISTS (SELECT 1 FROM {} WHERE {})",
                     stage.Quoted(), From(Side::kTarget), KeyMatch(table_.name.Quoted(), "s"));
}

std::string IncrementalSql::Upsert(const QualifiedName& stage,
                                   const std::vector<std::string>& nulled,
                                   const std::string& nulled_condition) const {
  std::vector<std::string> values, sets;
  for (const auto& column : columns_) {
    std::string value = "s." + QuoteIdent(column);
    if (std::find(nulled.begin(), nulled.end(), column) != nulled.end())
      value = fmt::format("CASE WHEN {} THEN {} END", nulled_condition, value);
    values.push_back(value);
    if (std::find(key_.begin(), key_.end(), column) == key_.end())
      sets.push_back(fmt::format("{0} = EXCLUDED.{0}", QuoteIdent(column)));
  }
  std::string conflict = sets.empty() ? "DO NOTHING"
                                      : fmt::format("DO UPDATE SET {} WHERE {}", Join(sets, ", "),
                                                    Distinct("t", "EXCLUDED"));
  return fmt::format("INSERT INTO {} AS t ({}){} SELECT {} FROM {} s ON CONFLICT ({}) {}",
                     table_.name.Quoted(), QuoteIdentList(columns_),
                     overriding_ ? " OVERRIDING SYSTEM VALUE" : "", Join(values, ", "),
                     stage.Quoted(), QuoteIdentList(key_), conflict);
}

std::string IncrementalSql::FixCycle(const QualifiedName& stage,
                                     const std::vector<std::string>& columns) const {
  std::vector<std::string> targets, sources, current;
  for (const auto& column : columns) {
    targets.push_back(QuoteIdent(column));
    sources.push_back("s." + QuoteIdent(column));
    current.push_back(table_.name.Quoted() + "." + QuoteIdent(column));
  }
  return fmt::format(
      "UPDATE {0} SET ({1}) = ROW({2}) FROM {3} s WHERE {4} AND ROW({5}) IS DISTINCT FROM "
      "ROW({2})",
      (target_partitioned_ ? "" : "ONLY ") + table_.name.Quoted(), Join(targets, ", "),
      Join(sources, ", "), stage.Quoted(), KeyMatch(table_.name.Quoted(), "s"),
      Join(current, ", "));
}

std::string IncrementalSql::DeleteKeys(const QualifiedName& deletes) const {
  return fmt::format("DELETE FROM {} USING {} d WHERE {}", From(Side::kTarget), deletes.Quoted(),
                     KeyMatch(table_.name.Quoted(), "d"));
}

std::string IncrementalSql::DeleteAll() const {
  return fmt::format("DELETE FROM {}", From(Side::kTarget));
}

std::string IncrementalSql::DeleteWhere(const std::string& predicate) const {
  return fmt::format("DELETE FROM {} WHERE {}", From(Side::kTarget), predicate);
}

std::string IncrementalSql::InsertAll(const QualifiedName& stage) const {
  return fmt::format("INSERT INTO {} ({}){} SELECT {} FROM {}", table_.name.Quoted(),
                     QuoteIdentList(columns_), overriding_ ? " OVERRIDING SYSTEM VALUE" : "",
                     QuoteIdentList(columns_), stage.Quoted());
}

}  // namespace freshet
