// The facts about relations that freshet's two catalog readers both need,
// each read by one query: which relations there are (kind, partitioning,
// row-level security, extension ownership), their columns and their
// triggers. ReadCatalog (schema/catalog.h, what the sync plans with) and
// ReadSchemaModel (schema/schema_model.h, what drift checks compare) both
// build from these rows, so they cannot disagree on them.
//
// Callers read with search_path = pg_catalog, so every name in a definition
// or type comes schema-qualified. Plain data; the Read functions throw Error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "copy/identifiers.h"

namespace freshet {

class Connection;

// What ReadRelationRows reads besides the facts both readers share. Each
// costs a call per relation, so only the reader that uses it asks.
struct RelationDetails {
  bool storage = false;      // bytes, heap_bytes, partition_constraint
  bool definitions = false;  // partition_key, view_definition
};

// A table, partitioned table, foreign table, view or materialized view
// outside pg_catalog, information_schema, pg_toast* and pg_temp*.
struct RelationRow {
  int64_t oid = 0;
  QualifiedName name;
  char kind = 'r';  // pg_class.relkind: r, p, f, v or m
  // Partitions only: the direct parent, by oid and as regclass text
  // ("public.\"order\"", quoted the server's way).
  std::optional<int64_t> partition_parent;
  std::string partition_of;
  std::string partition_bound;  // pg_get_expr(relpartbound): "FOR VALUES ..."
  bool row_security = false;
  bool force_row_security = false;
  bool extension_owned = false;  // a member of an extension (pg_depend 'e')
  int64_t estimated_rows = 0;    // pg_class.reltuples, 0 when never analyzed
  bool owned_by_current_user = false;
  // With RelationDetails::storage, tables and partitioned tables only.
  int64_t bytes = 0;                 // pg_table_size (heap + TOAST)
  int64_t heap_bytes = 0;            // pg_relation_size
  std::string partition_constraint;  // leaf partitions: pg_get_partition_constraintdef
  // With RelationDetails::definitions.
  std::string partition_key;    // partitioned tables: pg_get_partkeydef, "RANGE (at)"
  std::string view_definition;  // views and materialized views: pg_get_viewdef
};

// A live column of a table, partitioned table (partitions included) or
// foreign table.
struct ColumnRow {
  int64_t relation_oid = 0;
  std::string name;
  std::string type;     // format_type(atttypid, atttypmod): "numeric(14,2)"
  std::string type_id;  // format_type(atttypid, NULL)
  bool not_null = false;
  std::optional<std::string> default_expr;    // pg_get_expr of the default
  bool generated = false;                     // GENERATED ALWAYS AS (...) STORED
  std::optional<std::string> generated_expr;  // its expression
  char identity = 0;                          // 0, 'a' (ALWAYS) or 'd' (BY DEFAULT)
  std::string collation;                      // only when not the type's default
  // Only with_copy_formats: binary COPY of the type means the same on any
  // server.
  bool binary_portable = false;
};

// A trigger written by a user (not one behind a foreign key).
struct TriggerRow {
  int64_t relation_oid = 0;
  std::string name;
  char enabled = 'O';  // pg_trigger.tgenabled: O, D, R, A
  // Only with_definitions: whether a partitioned table's trigger put it on
  // this partition, and pg_get_triggerdef.
  bool cloned = false;
  std::string definition;
};

// In schema, then name order.
std::vector<RelationRow> ReadRelationRows(Connection& connection, RelationDetails details);

// In relation oid, then attnum order.
std::vector<ColumnRow> ReadColumnRows(Connection& connection, bool with_copy_formats);

// In relation oid, then name order.
std::vector<TriggerRow> ReadTriggerRows(Connection& connection, bool with_definitions);

}  // namespace freshet
