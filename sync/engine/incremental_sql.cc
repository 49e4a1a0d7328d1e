#include "sync/engine/incremental_sql.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

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
  std::vector<uint8_t> bytes((count + 7) / 8, 0);
  for (uint32_t bucket : buckets)
    if (bucket < count) bytes[bucket / 8] |= static_cast<uint8_t>(1u << (bucket % 8));
  std::string hex = "'\\x";
  static const char* digits = "0123456789abcdef";
  for (uint8_t byte : bytes) {
    hex += digits[byte >> 4];
    hex += digits[byte & 15];
  }
  return hex + "'::pg_catalog.bytea";
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
    if (typed_hash_[i])
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

std::string IncrementalSql::CopyIntoStage(const QualifiedName& stage, bool keys_only) const {
  return fmt::format(
      "COPY {} ({}) FROM STDIN {}", stage.Quoted(), QuoteIdentList(keys_only ? key_ : columns_),
      table_.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)");
}

std::string IncrementalSql::CopyChangedRows(const std::string& where) const {
  return fmt::format(
      "COPY (SELECT {} FROM {}{}) TO STDOUT {}", QuoteIdentList(columns_), From(Side::kSource),
      where.empty() ? "" : " WHERE " + where,
      table_.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)");
}

std::string IncrementalSql::CopySourceKeys(const std::string& where) const {
  return fmt::format(
      "COPY (SELECT {} FROM {} WHERE {}) TO STDOUT {}", QuoteIdentList(key_), From(Side::kSource),
      where, table_.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)");
}

// Exactness comes from the transaction ids: every row version written by a
// transaction that had not ended when the last run's snapshot was taken
// (late commits, subtransactions, FK actions that leave the watermark alone,
// NULL watermarks) carries an xmin at or after that snapshot's xmin. The
// watermark is a second net: rows above the last value reached (which the
// xid check finds as well); rows tied at that value are not read again.
std::string IncrementalSql::ChangedPredicate(const TableMode& mode) const {
  std::vector<std::string> parts;
  if (mode.xmin_horizon == 0) return "";  // no horizon: every row
  if (!mode.watermark.empty() && mode.watermark_from)
    parts.push_back(fmt::format("{} > {}::{}", QuoteIdent(mode.watermark),
                                QuoteLiteral(*mode.watermark_from), mode.watermark_type));
  // age() of both against the same reference xid: exact modulo 2^32 while
  // the horizon is younger than 2^31 transactions (checked before).
  // The 32-bit xid as a literal (a constant the planner folds); if it is a
  // special xid (below 3), age() says INT_MAX and every row is read.
  parts.push_back(fmt::format("pg_catalog.age(xmin) <= pg_catalog.age('{}'::pg_catalog.xid)",
                              mode.xmin_horizon & 0xFFFFFFFFu));
  return "(" + Join(parts, " OR ") + ")";
}

std::string IncrementalSql::InBuckets(Side side, const std::string& bitmap, uint32_t count,
                                      const std::string& alias) const {
  return fmt::format("pg_catalog.get_bit({}, ({} & {})::pg_catalog.int8) = 1", bitmap,
                     KeyHash(side, alias), count - 1);
}

std::string IncrementalSql::BucketSums(Side side, uint32_t count, bool row_hash,
                                       const QualifiedName* plus_staged_new) const {
  // Keys only: the key's hash is both the bucket and what is summed.
  std::string key = KeyHash(side, "");
  std::string inner =
      row_hash ? fmt::format("SELECT {} AS k, {} AS r FROM {}", key, RowHash(side), From(side))
               : fmt::format("SELECT {} AS k FROM {}", key, From(side));
  if (plus_staged_new)
    inner +=
        fmt::format(" UNION ALL SELECT {} FROM {} s WHERE NOT EXISTS (SELECT 1 FROM {} WHERE {})",
                    KeyHash(Side::kTarget, "s"), plus_staged_new->Quoted(), From(Side::kTarget),
                    KeyMatch(table_.name.Quoted(), "s"));
  return fmt::format(
      "SELECT (k & {})::pg_catalog.int4 AS b, count(*), sum({})::pg_catalog.text FROM ({}) x "
      "GROUP BY 1",
      count - 1, row_hash ? "r" : "k", inner);
}

std::string IncrementalSql::CollectDeletes(const QualifiedName& deletes, const std::string& bitmap,
                                           uint32_t count, const QualifiedName& present) const {
  return fmt::format(
      "INSERT INTO {} ({}) SELECT {} FROM {} WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE "
      "{})",
      deletes.Quoted(), QuoteIdentList(key_), QuoteIdentList(key_), From(Side::kTarget),
      InBuckets(Side::kTarget, bitmap, count), present.Quoted(),
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

std::string IncrementalSql::DeleteBuckets(const std::string& bitmap, uint32_t count) const {
  return fmt::format("DELETE FROM {} WHERE {}", From(Side::kTarget),
                     InBuckets(Side::kTarget, bitmap, count));
}

std::string IncrementalSql::InsertAll(const QualifiedName& stage) const {
  return fmt::format("INSERT INTO {} ({}){} SELECT {} FROM {}", table_.name.Quoted(),
                     QuoteIdentList(columns_), overriding_ ? " OVERRIDING SYSTEM VALUE" : "",
                     QuoteIdentList(columns_), stage.Quoted());
}

}  // namespace freshet
