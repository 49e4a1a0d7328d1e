// Which copied columns look like personal data and are neither masked nor
// kept on purpose: what `freshet mask check` lists and every plan warns
// about. Names and types are judged without a server; a connection to the
// source adds a sample of each table's text columns, of which only counts
// ever leave the server's answer (no sampled value is kept or reported).
#pragma once

#include <string>
#include <vector>

#include "copy/identifiers.h"

namespace freshet {

class Connection;
struct Catalog;
struct Plan;

struct PersonalColumn {
  QualifiedName table;
  std::string column;
  std::string type;  // the column's type text, e.g. "character varying(255)"
  // What gave it away: "named like an email address", "type inet",
  // "62 of 100 sampled values look like email addresses". Never a value.
  std::string why;
  // A rule to suggest (copy/mask_rule.h): "email", "phone", "full_name",
  // "first_name", "last_name", "street_address", "city", "ip", "date_shift",
  // "integer", "hash", "redact", or "json" for json columns.
  std::string suggested;
  bool sampled = false;  // found by a sample of its values (not its name or type)
};

// The plan's words for an unruled personal column: "column s.t.c looks
// personal (why) and has no [mask] rule; ...".
std::string UnruledColumnMessage(const PersonalColumn& column);

// The copied columns (PlannedTable::mapping.columns) of `plan`'s tables that
// look personal and have no mask (PlannedTable::masks) and no `keep` rule
// (`kept`: "schema.table.column", parts may be quoted or `*` patterns as in
// [mask] keys). `catalog` is the source's, which `plan` was built from.
//
// Names and types always count. When `source` is given (a connection to the
// source database, inside the run's snapshot transaction or not), the text
// columns that neither gave away are sampled too: one SELECT per table over
// at most 1000 rows, counting values shaped like email addresses or phone
// numbers; a column counts when at least half of its sampled non-null values
// (and at least 5) match. Nothing but SELECTs runs on `source`; it is used
// only during the call. Throws Error naming the table when a sample cannot be
// read (inside a transaction, that aborts the transaction, as any failed
// statement does).
//
// Results follow the plan's table order, then the columns' copy order, with
// sampled findings after a table's name and type findings.
std::vector<PersonalColumn> FindPersonalColumns(const Catalog& catalog, const Plan& plan,
                                                const std::vector<std::string>& kept,
                                                Connection* source);

}  // namespace freshet
