// Diff mode, row by row: each side streams one fingerprint per row (where the
// row is, a hash of its key and a hash of the whole row), freshet sorts both
// and walks them together, and only the rows that differ move. One hashing
// scan per side; no aggregation on the servers, and no row re-read because a
// neighbour in its bucket changed. Pure, except for the SQL text it builds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace freshet {

// Where a row version is: its table (tableoid, a partition for a partitioned
// table) and its ctid. Stable on the source inside the run's snapshot; on the
// target while nothing else writes it.
struct RowLocation {
  uint32_t rel = 0;
  uint32_t block = 0;
  uint16_t offset = 0;
  bool operator==(const RowLocation&) const = default;
};

struct RowPrint {
  uint64_t key = 0;  // hash of the primary key's values (without one: of the row)
  uint64_t row = 0;  // hash of every copied column
  RowLocation at;
};

// Parses a binary COPY row of (tableoid, ctid, key hash, row hash), or of
// (tableoid, ctid, row hash) when `keyed` is false. Throws Error naming
// `what` on anything else.
RowPrint ParseRowPrint(std::string_view row, bool keyed, const std::string& what);

struct RowDifference {
  // Source rows to stage: new keys and changed rows (no key: rows the target
  // has fewer copies of).
  std::vector<RowLocation> copy;
  // Target rows: with a key, rows whose key the source lacks (or that share a
  // key hash with others, left for the merge's check against the staged
  // keys); without one, the surplus copies to delete.
  std::vector<RowLocation> remove;
  uint64_t new_keys = 0;  // with a key: source keys the target lacks
  uint64_t equal = 0;     // rows equal on both sides
};
RowDifference CompareRowPrints(std::vector<RowPrint> source, std::vector<RowPrint> target,
                               bool keyed);

// A predicate selecting rows by location (a TID scan; on a partitioned
// table also filtered by partition), and how many rows it must find: fewer
// means a row version moved since it was read.
struct LocatedRows {
  std::string predicate;
  uint64_t rows = 0;
};
// `rows` in chunks of at most `per_chunk`.
std::vector<LocatedRows> LocationPredicates(const std::vector<RowLocation>& rows, bool partitioned,
                                            size_t per_chunk);

}  // namespace freshet
