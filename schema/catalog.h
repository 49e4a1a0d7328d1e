// What freshet knows of one database's tables: columns, keys, foreign keys,
// partitions, inheritance, column sequences and triggers, read from the system
// catalogs. Plain data; building it (ReadCatalog) is the only part that talks
// to a server. Relations, columns and triggers are built from the same rows
// as the drift checks' SchemaModel (schema/relation_rows.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "copy/identifiers.h"

namespace freshet {

class Connection;

struct Column {
  std::string name;
  std::string type;              // format_type(atttypid, atttypmod), e.g. "numeric(14,2)"
  std::string type_id;           // format_type(atttypid, NULL): the key into Catalog::types
  bool binary_portable = false;  // binary COPY of this type is the same on any server
  // Why it is not, when the catalog's types say ("type aclitem has no binary
  // form", "type regclass names objects by OID"); empty otherwise.
  std::string binary_obstacle;
  bool not_null = false;
  std::optional<std::string> default_expr;  // pg_get_expr of the default, if any
  bool generated = false;                   // GENERATED ALWAYS AS (...) STORED: never written
  char identity = 0;                        // 0, 'a' (ALWAYS) or 'd' (BY DEFAULT)
};

enum class TableKind { kTable, kPartitioned };

// A sequence a column's values come from: owned (serial, identity) or named
// by the column's DEFAULT nextval(...), possibly shared with other columns.
struct ColumnSequence {
  std::string column;
  QualifiedName sequence;
};

// A CHECK constraint of a table, as an expression over its columns.
struct CheckConstraint {
  std::string name;
  std::string expression;  // pg_get_expr(conbin): "(amount > (0)::numeric)"
  bool validated = true;
};

struct Trigger {
  std::string name;
  char enabled = 'O';  // pg_trigger.tgenabled: O, D, R, A
};

struct Table {
  QualifiedName name;
  TableKind kind = TableKind::kTable;
  std::vector<Column> columns;           // in attnum order, dropped columns left out
  std::vector<std::string> primary_key;  // column names, empty if none
  // Set on partitions (leaf or intermediate): the top-level partitioned table.
  std::optional<QualifiedName> partition_root;
  std::optional<QualifiedName> partition_parent;  // direct parent, for partitions
  std::string partition_bound;  // pg_get_expr(relpartbound), e.g. "FOR VALUES FROM (...)"
  // Set on tables that INHERIT from another (not partitioning).
  std::vector<QualifiedName> inherits_from;
  bool has_inheritance_children = false;
  int64_t estimated_rows = 0;          // pg_class.reltuples (0 when never analyzed)
  int64_t bytes = 0;                   // pg_table_size (heap + TOAST)
  int64_t heap_bytes = 0;              // pg_relation_size of the heap alone (ctid chunking)
  bool owned_by_current_user = false;  // current_user is a member of the owner role
  bool row_security = false;           // ENABLE ROW LEVEL SECURITY
  bool force_row_security = false;     // FORCE ROW LEVEL SECURITY: applies to the owner too
  // Leaf partitions: pg_get_partition_constraintdef, what a row must meet to
  // belong here (its ancestors' bounds included).
  std::string partition_constraint;
  std::vector<CheckConstraint> checks;
  std::vector<ColumnSequence> column_sequences;
  std::vector<Trigger> user_triggers;  // non-internal triggers on this relation itself

  bool IsPartition() const { return partition_root.has_value(); }
  const Column* FindColumn(const std::string& column) const;
};

struct ForeignKey {
  std::string name;
  QualifiedName table;       // referencing relation, as declared (may be a partitioned root)
  QualifiedName referenced;  // referenced relation, as declared
  std::vector<std::string> columns;  // referencing columns
  bool columns_nullable = false;     // every referencing column is nullable
  bool deferrable = false;
  bool validated = true;
  std::string definition;  // pg_get_constraintdef: "FOREIGN KEY (...) REFERENCES ..."
  std::vector<std::string> referenced_columns;
  bool match_full = false;  // MATCH FULL (else SIMPLE)
};

// The index a leaf partition has for an index of its partitioned root.
struct PartitionIndex {
  QualifiedName table;          // the leaf partition
  std::string name;             // index name
  std::string definition;       // pg_get_indexdef
  std::string constraint_name;  // set when it backs a constraint
  std::string constraint_definition;
};

// An index as declared on a table (partition indexes attached to a parent
// index are left out: they follow it).
struct Index {
  QualifiedName table;
  std::string name;
  std::string definition;  // pg_get_indexdef: "CREATE [UNIQUE] INDEX name ON ..."
  // Set when the index backs a constraint (primary key, unique, exclusion).
  std::string constraint_name;
  char constraint_type = 0;           // 'p', 'u', 'x' or 0
  std::string constraint_definition;  // pg_get_constraintdef: "PRIMARY KEY (id)"
  bool replica_identity = false;
  bool clustered = false;
  bool valid = true;
  int64_t bytes = 0;
  bool unique = false;
  std::vector<std::string> keys;  // key columns or expressions, as pg_get_indexdef(oid, k)
  std::string predicate;          // partial index: its WHERE expression
  bool nulls_not_distinct = false;
  // On a partitioned table: the indexes of its leaf partitions that follow it.
  std::vector<PartitionIndex> partitions;
};

// A type the columns use (or one they are made of), by format_type(oid, NULL).
struct TypeInfo {
  std::string name;
  char kind = 'b';             // pg_type.typtype: b, c(omposite), d(omain), e(num), p, r, m
  std::string element;         // arrays: the element type's name
  std::string domain_base;     // domains: the base type, with its modifier
  std::string domain_base_id;  // domains: the base type's name (a key of Catalog::types)
  std::string range_subtype;   // ranges
  bool built_in = true;        // a type of PostgreSQL itself (oid below 16384)
  bool binary_io = true;       // has send and receive functions
  bool names_objects = false;  // regclass, regtype, regproc, ...: an OID naming an object
  std::vector<std::string> enum_labels;  // in sort order
  // Composites: attribute names and types (with modifiers), in order.
  std::vector<std::pair<std::string, std::string>> attributes;
  bool domain_not_null = false;
  std::vector<CheckConstraint> domain_checks;  // expressions over VALUE
};

// A view, materialized view or foreign table (relkind v, m, f).
struct OtherRelation {
  QualifiedName name;
  char kind = 'v';
};

struct Catalog {
  std::vector<Table> tables;  // ordinary and partitioned tables, partitions included
  // Foreign keys declared by the user (clones onto partitions left out).
  std::vector<ForeignKey> foreign_keys;
  std::vector<Index> indexes;
  // Types by name; empty in catalogs recorded before freshet read them (old
  // snapshot manifests): then only Column::binary_portable speaks.
  std::map<std::string, TypeInfo> types;
  std::vector<OtherRelation> other_relations;
  bool bypasses_row_security = false;  // the role is superuser or BYPASSRLS
  uint64_t system_identifier = 0;      // 0 when the role may not read it
  std::string database;
  int server_version = 0;

  const Table* Find(const QualifiedName& name) const;
  const TypeInfo* FindType(const std::string& name) const;
  const OtherRelation* FindOther(const QualifiedName& name) const;
};

// Reads every table outside pg_catalog, information_schema and pg_toast.
// Throws Error naming the connection on failure.
Catalog ReadCatalog(Connection& connection);

}  // namespace freshet
