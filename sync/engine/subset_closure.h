// The closure of a subset over foreign keys (sync/engine/subset.h), computed
// on the source: rows are identified by (relation, ctid) in the caller's
// snapshot, and only the key columns that references use are read. Two
// passes over the tables, grouped in strongly connected components of the
// reference graph: down in topological order (parents first), taking the
// rows that reference taken rows; then up in reverse order (children
// first), keeping the rows kept rows reference. Rows found going up never
// lead down again, so each table is read about once per pass (tables in a
// cycle until nothing new turns up), with all the keys the tables before
// it found: the number of queries grows with the number of tables, not of
// rows.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "copy/connection.h"
#include "copy/identifiers.h"
#include "sync/engine/run_observer.h"

namespace freshet {

// A block and line pointer, as in a ctid.
struct RowPlace {
  uint32_t block = 0;
  uint16_t offset = 0;
};

struct ClosureTable {
  QualifiedName name;
  bool partitioned = false;          // read with its partitions (else ONLY)
  std::vector<std::string> columns;  // key columns the edges use (source names)
  std::vector<std::string> types;    // their types, for casting looked-up values
  bool root = false;                 // seeded; never entered from above
  std::string seed_condition;        // roots: which rows seed it (SQL), "" = all
  std::optional<int64_t> limit;      // rows taken by choice (seed or from above)
};

// `child`'s `child_columns` reference `parent`'s `parent_columns` (indexes
// into each table's `columns`). Every edge is followed up (a kept child
// keeps its parent); `down` edges are also followed from taken parents to
// their children.
struct ClosureEdge {
  size_t child = 0;
  size_t parent = 0;
  std::vector<size_t> child_at;
  std::vector<size_t> parent_at;
  bool down = true;
};

class SubsetClosure {
 public:
  SubsetClosure(Connection& source, std::vector<ClosureTable> tables,
                std::vector<ClosureEdge> edges, bool children, const RunLog& log);

  // Seeds the roots and follows references until nothing new is found.
  void Run();

  // Kept rows of table `t`, by relation OID (partitions apart).
  std::map<uint32_t, std::vector<RowPlace>> Kept(size_t t) const;
  int64_t KeptCount(size_t t) const { return static_cast<int64_t>(state_[t].kept.size()); }
  int queries() const { return queries_; }

 private:
  using Values = std::vector<std::optional<std::string>>;
  struct State {
    std::unordered_set<uint64_t> kept;  // in the subset
    std::unordered_set<uint64_t> down;  // taken by choice: their referencing rows follow
    int64_t taken = 0;
    std::vector<Values> kept_rows;  // key values of the kept rows, in the order kept
    std::vector<Values> down_rows;  // and of the taken ones
  };
  struct Lookup {
    std::vector<size_t> at;                      // the searched table's columns
    std::vector<std::vector<std::string>> keys;  // values to find
    bool down = false;                           // finds referencing rows (else referenced)
  };

  void Seed(size_t t);
  std::vector<std::vector<size_t>> ComponentsInOrder() const;
  bool Expand(const std::vector<size_t>& component, bool down);
  void AddKeys(const std::vector<Values>& rows, size_t first, const std::vector<size_t>& from,
               std::unordered_set<std::string>& asked, Lookup& lookup) const;
  void Fetch(size_t t, const std::vector<Lookup>& lookups);
  void Take(size_t t, const Result& result, bool any_down, bool any_up);
  std::string SelectList(size_t t) const;
  uint64_t RowId(std::string_view oid, std::string_view ctid);

  Connection& source_;
  const RunLog& log_;
  std::vector<ClosureTable> tables_;
  std::vector<ClosureEdge> edges_;
  bool children_;
  std::vector<State> state_;
  std::vector<std::unordered_set<std::string>> asked_up_, asked_down_;  // per edge
  std::vector<size_t> up_done_, down_done_;  // per edge: rows of kept_rows/down_rows followed
  std::vector<uint32_t> relations_;          // index -> OID
  std::unordered_map<uint32_t, uint16_t> relation_index_;  // OID -> index
  int queries_ = 0;
};

}  // namespace freshet
