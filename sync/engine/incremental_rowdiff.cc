#include "sync/engine/incremental_rowdiff.h"

#include <fmt/format.h>

#include <algorithm>

#include "copy/big_endian.h"
#include "copy/copy_rows.h"
#include "copy/error.h"

namespace freshet {
namespace {

uint64_t ReadUint64(const char* p) { return (uint64_t{ReadUint32(p)} << 32) | ReadUint32(p + 4); }

bool ByKeyThenRow(const RowPrint& a, const RowPrint& b) {
  return a.key != b.key ? a.key < b.key : a.row < b.row;
}

}  // namespace

RowPrint ParseRowPrint(std::string_view row, bool keyed, const std::string& what) {
  // One splitter per thread (both sides are read at once), reused per row.
  thread_local FieldSplitter splitter(StreamFormat::kBinary, 4);
  const std::vector<std::optional<std::string_view>>* fields = nullptr;
  try {
    fields = &splitter.Split(row);
  } catch (const Error& error) {
    throw Error(fmt::format("{}: {}", what, error.what()));
  }
  size_t expected = keyed ? 4 : 3;
  if (fields->size() != expected)
    throw Error(fmt::format("{}: expected rows of {} fields", what, expected));
  auto field = [&](size_t i, size_t length) {
    const std::optional<std::string_view>& value = (*fields)[i];
    if (!value || value->size() != length)
      throw Error(fmt::format("{}: a field is not {} bytes (or is NULL)", what, length));
    return value->data();
  };
  RowPrint print;
  print.at.rel = ReadUint32(field(0, 4));
  const char* tid = field(1, 6);
  print.at.block = ReadUint32(tid);
  print.at.offset = ReadUint16(tid + 4);
  print.key = ReadUint64(field(2, 8));
  print.row = keyed ? ReadUint64(field(3, 8)) : print.key;
  return print;
}

// Both sides sorted by (key, row); each run of one key compared as a whole.
// A key present once on each side is equal or changed; anything else (a key
// only on one side, duplicates without a key, a key hash shared by different
// keys) is settled by counts or left to the merge's key check.
RowDifference CompareRowPrints(std::vector<RowPrint> source, std::vector<RowPrint> target,
                               bool keyed) {
  std::sort(source.begin(), source.end(), ByKeyThenRow);
  std::sort(target.begin(), target.end(), ByKeyThenRow);
  RowDifference difference;
  size_t s = 0, t = 0;
  while (s < source.size() || t < target.size()) {
    uint64_t key = t == target.size() || (s < source.size() && source[s].key < target[t].key)
                       ? source[s].key
                       : target[t].key;
    size_t s_end = s, t_end = t;
    while (s_end < source.size() && source[s_end].key == key) ++s_end;
    while (t_end < target.size() && target[t_end].key == key) ++t_end;
    size_t on_source = s_end - s, on_target = t_end - t;
    if (!keyed) {
      // Equal rows pair off; the surplus of either side moves.
      difference.equal += std::min(on_source, on_target);
      for (size_t i = on_target; i < on_source; ++i) difference.copy.push_back(source[s + i].at);
      for (size_t i = on_source; i < on_target; ++i) difference.remove.push_back(target[t + i].at);
    } else if (on_source == 1 && on_target == 1) {
      if (source[s].row == target[t].row) {
        ++difference.equal;
      } else {
        // Changed, or two keys sharing a hash: the target's row is also a
        // delete candidate, which the merge drops if its key is staged.
        difference.copy.push_back(source[s].at);
        difference.remove.push_back(target[t].at);
      }
    } else {
      if (on_target == 0) difference.new_keys += on_source;
      for (size_t i = s; i < s_end; ++i) difference.copy.push_back(source[i].at);
      for (size_t i = t; i < t_end; ++i) difference.remove.push_back(target[i].at);
    }
    s = s_end;
    t = t_end;
  }
  return difference;
}

std::vector<LocatedRows> LocationPredicates(const std::vector<RowLocation>& rows, bool partitioned,
                                            size_t per_chunk) {
  std::vector<LocatedRows> predicates;
  for (size_t start = 0; start < rows.size(); start += per_chunk) {
    size_t end = std::min(rows.size(), start + per_chunk);
    std::string tids, located;
    for (size_t i = start; i < end; ++i) {
      const RowLocation& row = rows[i];
      fmt::format_to(std::back_inserter(tids), "{}\"({},{})\"", i == start ? "" : ",", row.block,
                     row.offset);
      if (partitioned)
        fmt::format_to(std::back_inserter(located), "{}\"{}({},{})\"", i == start ? "" : ",",
                       row.rel, row.block, row.offset);
    }
    std::string predicate = fmt::format("ctid = ANY('{{{}}}'::pg_catalog.tid[])", tids);
    if (partitioned)
      predicate += fmt::format(
          " AND (tableoid::pg_catalog.text || ctid::pg_catalog.text) = "
          "ANY('{{{}}}'::pg_catalog.text[])",
          located);
    predicates.push_back({predicate, end - start});
  }
  return predicates;
}

}  // namespace freshet
