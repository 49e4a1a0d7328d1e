// Compares synced tables on both sides by row count and an order-independent
// checksum over the copied columns: the sum of the first 64 bits of md5 of
// each row's text form. The source side is read in the run's snapshot, so a
// source taking writes still verifies. Tables are checked in parallel.
#pragma once

#include <stop_token>
#include <string>
#include <vector>

#include "sync/engine/plan.h"
#include "sync/engine/report.h"
#include "sync/engine/source_snapshot.h"

namespace freshet {

// The checksum query for one side over `values` (SQL expressions over the
// table's columns, already quoted): `from_only` reads the table without its
// inheritance children (ordinary tables) or, false, with its partitions;
// `where`, if any, narrows the rows (a subset's).
std::string ChecksumSql(const QualifiedName& table, const std::vector<std::string>& values,
                        bool from_only, const std::string& where = "");

// One TableVerification per plan table, in plan order.
std::vector<TableVerification> VerifyTables(const Plan& plan, const SourceSnapshot& snapshot,
                                            const std::string& target_url, int jobs,
                                            std::stop_token stop);

// Marks `report` verified; throws Error (kMismatch) naming the tables whose
// verification differs.
void CheckVerification(RunReport& report);

}  // namespace freshet
