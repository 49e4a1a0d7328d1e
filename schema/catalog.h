// What freshet knows of one database's tables: columns, keys, foreign keys,
// partitions, inheritance, column sequences and triggers, read from the system
// catalogs. Plain data; building it (ReadCatalog) is the only part that talks
// to a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "copy/identifiers.h"

namespace freshet {

class Connection;

struct Column {
  std::string name;
  std::string type;              // format_type(atttypid, atttypmod), e.g. "numeric(14,2)"
  bool binary_portable = false;  // binary COPY of this type is the same on any server
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
  // On a partitioned table: the indexes of its leaf partitions that follow it.
  std::vector<PartitionIndex> partitions;
};

struct Catalog {
  std::vector<Table> tables;  // ordinary and partitioned tables, partitions included
  // Foreign keys declared by the user (clones onto partitions left out).
  std::vector<ForeignKey> foreign_keys;
  std::vector<Index> indexes;
  uint64_t system_identifier = 0;  // 0 when the role may not read it
  std::string database;
  int server_version = 0;

  const Table* Find(const QualifiedName& name) const;
};

// Reads every table outside pg_catalog, information_schema and pg_toast.
// Throws Error naming the connection on failure.
Catalog ReadCatalog(Connection& connection);

}  // namespace freshet
