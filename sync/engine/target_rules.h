// Rows the target's schema would refuse although the source holds them, for
// rules only the target has: an enum label the target's enum lacks, a
// domain's or a table's CHECK constraint, integer narrowing and other type
// changes, a partitioned target without a partition for the row, a unique
// index or a foreign key the source's rows break, and values that name
// objects (regclass, regproc, ...) the target does not have. PostgreSQL
// would reject such rows only during the load, after the truncate; freshet
// counts them on the source, in the run's snapshot, before anything is
// written. Only where the two catalogs differ: a run whose schemas agree
// pays nothing.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "schema/catalog.h"
#include "sync/engine/plan.h"
#include "sync/engine/run_observer.h"

namespace freshet {

// One rule of the target a planned table's source rows might break.
struct TargetRule {
  QualifiedName table;  // the planned table
  std::string rule;     // "CHECK constraint amount_positive ((amount > 0))"
  // One query on the source returning one bigint: how many rows break it.
  std::string count_sql;
  std::string way_out;  // "relax the constraint on the target"
  // The query counts nothing but fails with a data exception (SQLSTATE class
  // 22) when a row breaks the rule: a cast done the way the target's COPY
  // would read the value.
  bool fails_when_broken = false;
};

// A domain constraint's expression with its VALUE keyword (outside string
// literals and quoted identifiers) replaced by `value`, parenthesized.
std::string SubstituteDomainValue(const std::string& expression, const std::string& value);

// What a rule's query reads for a table's rows, given the table's name and
// whether its partitions count (a partitioned source table). Unset: the
// table itself on the source (`ONLY` unless partitioned). A snapshot restore
// reads the copies it staged on the target instead.
using RowsOf = std::function<std::string(const QualifiedName& table, bool with_partitions)>;

// The rules of the target, for the copied columns of each planned table,
// that the source does not promise, their queries reading through `rows`.
// Pure, as `rows` is.
std::vector<TargetRule> TargetRulesToCheck(const Catalog& source, const Catalog& target,
                                           const Plan& plan, const RowsOf& rows = {});

// A value that names an object, to be looked up on the target.
struct ObjectNameColumn {
  QualifiedName table;
  std::string column;
  std::string reg_type;  // "regclass"
  bool array = false;
  std::string source_sql;  // the distinct names on the source (text, qualified)
};

// The columns of planned tables whose values name objects. Pure.
std::vector<ObjectNameColumn> ObjectNameColumns(const Catalog& source, const Catalog& target,
                                                const Plan& plan);

// Runs one rule's count on `connection` (in a savepoint when it is in a
// transaction): rows that break it become a plan error saying they are in
// `rows_from` ("the source", "the snapshot"), with the rule and the way out
// but never the values; a rule the server cannot evaluate becomes a warning.
// Throws Error when cancelled.
void RunTargetRule(Connection& connection, const TargetRule& rule, const std::string& rows_from,
                   Plan& plan, const RunLog& log);

// A server message without the values it quotes ("invalid input syntax for
// type integer: "abc"" becomes "invalid input syntax for type integer: ...").
std::string WithoutValues(const std::string& message);

// Runs every rule's count on `source` (each in a savepoint when `source` is
// in a transaction, so a rule the source cannot evaluate, such as a target
// function it lacks, becomes a warning instead of ending the snapshot), and
// looks the source's object names up on `target`. Appends plan errors (the
// rule, the number of rows, the way out; never the values) and warnings.
void CheckTargetRules(Connection& source, Connection& target, const Catalog& source_catalog,
                      const Catalog& target_catalog, Plan& plan, const RunLog& log = DefaultLog());

}  // namespace freshet
