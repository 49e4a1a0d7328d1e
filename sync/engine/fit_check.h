// Rows the target's columns would refuse although the source's accept them: a
// narrower type (varchar(100) on the source, varchar(12) on the target after
// a migration) or NOT NULL on the target only. Found before anything is
// written: PostgreSQL would reject such rows only during the load, after the
// truncate. A sync asks the source, in its snapshot; a snapshot restore reads
// the files of the tables concerned. Only such columns are looked at, so a
// run without any pays nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "schema/catalog.h"
#include "schema/type_limits.h"
#include "sync/engine/plan.h"
#include "sync/engine/run_observer.h"

namespace freshet {

// One demand of a target column that the source column does not promise:
// either its narrower limit or its NOT NULL (a column with both gives two).
struct NarrowedColumn {
  std::string name;
  std::string source_type;
  std::string target_type;
  std::optional<TypeLimit> limit;  // the target's; none: the demand is NOT NULL
};

// The demands of the copied columns of `table` that some value of the
// source might not meet.
std::vector<NarrowedColumn> NarrowedColumns(const Catalog& source, const Catalog& target,
                                            const PlannedTable& table);

// The plan error for `rows` rows of `table` (in `where`: "the source", "the
// snapshot") that do not meet `column`'s demand; `example` says what the
// first one needs ("has 37 characters"), or is empty.
std::string MisfitError(const QualifiedName& table, const NarrowedColumn& column, uint64_t rows,
                        const std::string& where, const std::string& example);

// Counts, on `source` (in the run's snapshot), the rows of each planned table
// that do not meet a demand; appends one plan error per unmet demand.
void CheckSourceFits(Connection& source, const Catalog& source_catalog,
                     const Catalog& target_catalog, Plan& plan, const RunLog& log = DefaultLog());

}  // namespace freshet
