// Rows that would not fit a narrower column type on the target (varchar(100)
// on the source, varchar(12) on the target after a migration), found before
// anything is written: PostgreSQL would reject them only during the load,
// after the truncate. A sync asks the source, in its snapshot; a snapshot
// restore reads the files of the tables concerned. Only columns whose type
// narrows are looked at, so a run without any pays nothing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "schema/catalog.h"
#include "schema/type_limits.h"
#include "sync/plan.h"
#include "sync/snapshot_manifest.h"

namespace freshet {

struct NarrowedColumn {
  std::string name;
  std::string source_type;
  std::string target_type;
  TypeLimit limit;  // the target's
};

// The copied columns of `table` whose values might not fit the target's type.
std::vector<NarrowedColumn> NarrowedColumns(const Catalog& source, const Catalog& target,
                                            const PlannedTable& table);

// Counts, on `source` (in the run's snapshot), the rows of each planned table
// whose narrowed columns do not fit; appends one plan error per such column.
void CheckSourceFits(Connection& source, const Catalog& source_catalog,
                     const Catalog& target_catalog, Plan& plan);

// The same from a snapshot's files: reads the files of `table` (in
// parallel, `jobs`) and returns one plan error per column with rows that do
// not fit. Throws Error if a file cannot be read.
std::vector<std::string> CheckSnapshotFits(const std::filesystem::path& dir,
                                           const SnapshotTable& table,
                                           const std::vector<NarrowedColumn>& columns, int jobs);

}  // namespace freshet
