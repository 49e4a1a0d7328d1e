// Subsets: a sync or capture that copies part of the source and keeps every
// reference whole. Rows are chosen in the source's catalog of foreign keys
// (and the target's, so that every constraint of the target validates):
//  - the root table's rows matching `where` and `percent`;
//  - with `children`, every row referencing a chosen row, and so on down
//    (never back into a root table, nor through the foreign keys named in
//    `children_except`), up to a per-table limit;
//  - always, every row a chosen row references, and so on up (cycles and
//    self-references included), whatever the limits.
// Tables in no foreign-key relation to a root are copied whole, or their
// first `limit` rows with their closure. The closure is computed on the
// source inside the run's one snapshot and pinned as the rows' ctids, so the
// COPY streams and the verification read exactly those rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "copy/identifiers.h"

namespace freshet {

class Connection;
class RunLog;
struct Catalog;
struct Plan;

// A foreign key named by its table and its constraint name or its column
// (a one-column key): "public.activities.actor_id".
struct ForeignKeyName {
  QualifiedName table;
  std::string name;

  std::string Display() const { return table.Display() + "." + name; }
};

struct SubsetSettings {
  std::optional<QualifiedName> root;
  std::string where;              // SQL over the root's columns; empty: every row
  std::optional<double> percent;  // of the root's (matching) rows, by a hash of the key
  bool children = true;           // follow referencing rows down from the root's
  std::vector<ForeignKeyName> children_except;            // foreign keys never followed down
  std::vector<std::pair<QualifiedName, int64_t>> limits;  // rows taken by choice, per table

  bool any() const { return root.has_value() || !limits.empty(); }
};

// What ApplySubset kept.
struct SubsetOutcome {
  std::string description;  // "5% of public.organizations where plan = 'team'"
  int tables_cut = 0;       // tables holding only the closure
  int tables_whole = 0;     // tables outside every root's relations, copied whole
  int64_t rows = 0;         // rows kept over the cut tables
  int queries = 0;          // reads of the source that followed references
  double seconds = 0;
};

// "5% of public.organizations: 1234 rows in 9 tables; 2 tables copied whole".
std::string SubsetSummary(const SubsetOutcome& outcome);

// Plan-time checks (no server): the root and limited tables are synced, the
// percent is in (0, 100]. Adds errors to `plan`.
void CheckSubset(const SubsetSettings& settings, Plan& plan);

// Computes the closure on `source` (a connection inside the run's snapshot)
// and narrows the plan's streams and verification to it. Foreign keys of
// both catalogs count. Throws Error naming the table when a query fails (a
// bad `where`, say).
void ApplySubset(Connection& source, const Catalog& source_catalog, const Catalog& target_catalog,
                 const SubsetSettings& settings, Plan& plan, const RunLog& log);

}  // namespace freshet
