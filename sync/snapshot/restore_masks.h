// Masking while restoring an unmasked snapshot (sync/snapshot/
// snapshot_loads.h): which of a table's snapshot columns the restore's
// stream masks, and how. Keyed transformers, the columns following a masked
// key, JSON paths, `null` and plain `constant`s mask in the stream; rules
// that are expressions for the source's SELECT (`sql`, constants of other
// types) cannot, and are plan errors that say to capture with --mask.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "copy/mask_codec.h"
#include "schema/catalog.h"
#include "sync/engine/plan.h"

namespace freshet {

// What a refused column's error ends with.
inline constexpr const char* kCaptureMasked =
    "capture the snapshot with --mask instead (the capture masks on the source), and restore "
    "that";

struct StreamMasks {
  std::vector<std::optional<ColumnMasker>> fields;  // per column sent; nullopt: not masked
  std::string signature;  // tells two streams' masking apart (a run has one key)
};

// The masks of `table`'s stream from a snapshot holding `columns` (of which
// `keep`, when given, says which are sent), against the snapshot's and the
// target's catalogs. nullopt, with an error per column in `errors`, when
// the stream cannot mask every masked column.
std::optional<StreamMasks> PlanRestoreMasks(const Catalog& snapshot_catalog,
                                            const Catalog& target_catalog,
                                            const PlannedTable& table,
                                            const std::vector<std::string>& columns,
                                            const std::optional<std::vector<bool>>& keep,
                                            std::vector<std::string>& errors);

}  // namespace freshet
