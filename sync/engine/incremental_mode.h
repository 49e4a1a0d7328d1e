// Incremental sync (`freshet sync --incremental`): how each table is brought
// up to date, chosen per table from the config, the two catalogs and the
// state the previous run left on the target, and printed by `freshet plan`.
//  - watermark: rows whose watermark column reached the last run's value or
//    is NULL, and every row a transaction newer than the last run's snapshot
//    wrote (late commits, FK actions that do not move the watermark);
//  - diff: both sides compared by row count and an order-independent hash
//    over buckets of primary keys; only the rows of differing buckets move;
//  - full: the whole table (no state yet, schema changed, asked for, no key).
// Deletes are found by comparing the keys of both sides the same way.
// ChooseModes is pure.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "schema/catalog.h"

namespace freshet {

struct Plan;
struct PlannedTable;

enum class SyncMode { kWatermark, kDiff, kFull };
enum class DeletePolicy { kPropagate, kIgnore };

const char* SyncModeName(SyncMode mode);  // "watermark", "diff", "full"
// Parses "watermark" | "diff" | "full"; throws Error (kUsage) naming `origin`.
SyncMode ParseSyncMode(const std::string& text, const std::string& origin);
// Parses "propagate" | "ignore"; throws Error (kUsage) naming `origin`.
DeletePolicy ParseDeletePolicy(const std::string& text, const std::string& origin);

// `[tables."schema.table"]` in the config (the key may hold `*` patterns).
struct TableSyncSettings {
  std::optional<std::string> watermark;  // column name
  std::optional<SyncMode> mode;          // asked for
  std::optional<DeletePolicy> deletes;
};

struct IncrementalOptions {
  bool enabled = false;
  // Pattern -> settings. An exact `schema.table` key wins over patterns;
  // among patterns, the first in this order.
  std::vector<std::pair<std::string, TableSyncSettings>> tables;
  std::vector<std::string> full;                    // --full PATTERN: refreshed whole this run
  std::vector<std::string> diff;                    // --diff PATTERN: compared whole this run
  DeletePolicy deletes = DeletePolicy::kPropagate;  // [sync] deletes
};

// What the previous run recorded for one table on the target
// (`_freshet.sync_state`).
struct TableState {
  QualifiedName table;
  std::string mode;                              // the mode it ran in
  std::string watermark_column;                  // empty: none
  std::optional<std::string> watermark_reached;  // the column's text form
  uint64_t xmin_horizon = 0;                     // xid8: the source snapshot's xmin
  std::string fingerprint;                       // SchemaFingerprint at that run
  std::string last_full_at;                      // ISO 8601, empty: never
  // The source's key summary at that run (bucket_sums.h), when it
  // propagated deletes in watermark mode; empty: none.
  std::string key_sums;
};

// The source of a state: the source cluster and database it came from.
struct StateSource {
  uint64_t system_identifier = 0;
  std::string database;
};

// How one planned table is synced this run.
struct TableMode {
  SyncMode mode = SyncMode::kFull;
  std::string reason;                         // "first run: no state on the target", ...
  std::string watermark;                      // kWatermark: the column
  std::string watermark_type;                 // its type on the source
  std::optional<std::string> watermark_from;  // rows at or above this value move
  uint64_t xmin_horizon = 0;                  // rows of transactions at or above this xid move
  DeletePolicy deletes = DeletePolicy::kPropagate;
  std::vector<std::string> key;  // primary key columns; empty: the table has none
  // Of this run's schema and masking (SchemaFingerprint, then what masks the
  // table: see incremental_choose.cc), stored with the state.
  std::string fingerprint;
  // kWatermark: the last run's source key summary (TableState::key_sums).
  std::string stored_key_sums;
};

// A hash of what the state of `table` depends on: the columns copied (names,
// types on both sides), the primary key, the watermark column. A change since
// the last run makes the table `full`, and the plan says what changed.
std::string SchemaFingerprint(const Table& source, const Table& target,
                              const std::vector<std::string>& columns,
                              const std::string& watermark);

// Why `mode` cannot run on `planned` as chosen: it would compare a column
// the target holds masked (planned.masks) with the source's original values
// (a masked key column: deletes are found by comparing keys; a masked
// watermark; any masked column in a diff, which compares whole rows). The
// table is then refreshed whole, masked like a full sync; nullopt when the
// mode compares no masked column (or is full).
std::optional<std::string> MaskedComparison(const PlannedTable& planned, const TableMode& mode);

// Chooses every planned table's mode (plan.tables[i].incremental) and adds
// plan errors for settings that cannot hold (a configured watermark column
// that is missing or of the wrong type, a mode that needs a key the table
// lacks). `states`: what the target holds for this source. Masked tables
// (plan.tables[i].masks) stay incremental only where no masked column is
// compared (MaskedComparison), and are refreshed whole when their masking
// (rules or key) differs from what the state recorded.
void ChooseModes(Plan& plan, const Catalog& source, const Catalog& target,
                 const std::vector<TableState>& states, const IncrementalOptions& options);

}  // namespace freshet
