#include "schema/catalog.h"

#include <fmt/format.h>

#include <unordered_map>

#include "copy/connection.h"
#include "schema/relation_rows.h"
#include "schema/type_graph.h"
#include "schema_sql.h"

namespace freshet {

const Column* Table::FindColumn(const std::string& column) const {
  for (const auto& candidate : columns)
    if (candidate.name == column) return &candidate;
  return nullptr;
}

const Table* Catalog::Find(const QualifiedName& name) const {
  for (const auto& table : tables)
    if (table.name == name) return &table;
  return nullptr;
}

const TypeInfo* Catalog::FindType(const std::string& name) const {
  auto it = types.find(name);
  return it == types.end() ? nullptr : &it->second;
}

const OtherRelation* Catalog::FindOther(const QualifiedName& name) const {
  for (const auto& relation : other_relations)
    if (relation.name == name) return &relation;
  return nullptr;
}

namespace {

QualifiedName NameAt(const Result& result, int row, int schema_column) {
  return {result.Get(row, schema_column), result.Get(row, schema_column + 1)};
}

void ReadIdentity(Connection& connection, Catalog& catalog) {
  Result identity = connection.Exec(sql::kServerIdentity);
  catalog.database = identity.Get(0, 0);
  catalog.server_version = static_cast<int>(identity.GetInt(0, 1));
  catalog.bypasses_row_security = !identity.IsNull(0, 3) && identity.GetBool(0, 3);
  if (identity.GetBool(0, 2)) {
    Result control =
        connection.Exec("SELECT system_identifier::text FROM pg_catalog.pg_control_system()");
    catalog.system_identifier = std::stoull(control.Get(0, 0));
  }
}

}  // namespace

namespace {

Catalog ReadCatalogQualified(Connection& connection);

}  // namespace

// Definitions (pg_get_constraintdef, pg_get_indexdef, format_type, defaults)
// name objects relative to search_path; reading with search_path = pg_catalog
// makes them fully qualified, so they mean the same whoever replays them.
// JIT is off meanwhile: the recursive type query is estimated far above its
// cost, and compiling it took half a second on a small database.
Catalog ReadCatalog(Connection& connection) {
  // current_setting(name, true): NULL on servers without JIT (before 11).
  Result saved = connection.Exec(
      "SELECT pg_catalog.current_setting('search_path'), "
      "pg_catalog.current_setting('jit', true)");
  std::string search_path = saved.Get(0, 0);
  std::optional<std::string> jit = saved.GetOptional(0, 1);
  auto set = [&](const std::string& path, const std::optional<std::string>& jit_value) {
    connection.Exec("SELECT pg_catalog.set_config('search_path', $1, false)", {path});
    if (jit_value) connection.Exec("SELECT pg_catalog.set_config('jit', $1, false)", {*jit_value});
  };
  set("pg_catalog", jit ? std::optional<std::string>("off") : std::nullopt);
  try {
    Catalog catalog = ReadCatalogQualified(connection);
    set(search_path, jit);
    return catalog;
  } catch (...) {
    try {
      set(search_path, jit);
    } catch (const Error&) {
    }
    throw;
  }
}

namespace {

// Leaf-partition indexes under each partitioned index (pg_partition_tree:
// PostgreSQL 12+), so a rebuild can build them one partition at a time.
void ReadPartitionIndexes(Connection& connection, Catalog& catalog) {
  Result rows = connection.Exec(sql::kPartitionIndexes);
  for (int row = 0; row < rows.Rows(); ++row) {
    QualifiedName table = NameAt(rows, row, 0);
    std::string name = rows.Get(row, 2);
    for (auto& index : catalog.indexes) {
      if (index.table != table || index.name != name) continue;
      index.partitions.push_back({NameAt(rows, row, 3), rows.Get(row, 5), rows.Get(row, 6),
                                  rows.GetOptional(row, 7).value_or(""),
                                  rows.GetOptional(row, 8).value_or("")});
      break;
    }
  }
}

void ReadTypes(Connection& connection, Catalog& catalog) {
  Result rows = connection.Exec(sql::kTypes);
  for (int row = 0; row < rows.Rows(); ++row) {
    TypeInfo type;
    type.name = rows.Get(row, 0);
    type.kind = rows.Text(row, 1).empty() ? 'b' : rows.Text(row, 1).front();
    type.element = rows.GetOptional(row, 2).value_or("");
    type.domain_base = rows.GetOptional(row, 3).value_or("");
    type.domain_base_id = rows.GetOptional(row, 4).value_or("");
    type.range_subtype = rows.GetOptional(row, 5).value_or("");
    type.built_in = rows.GetBool(row, 6);
    type.binary_io = rows.GetBool(row, 7);
    type.names_objects = rows.GetBool(row, 8);
    type.enum_labels = rows.GetTextArray(row, 9);
    std::vector<std::string> names = rows.GetTextArray(row, 10);
    std::vector<std::string> types = rows.GetTextArray(row, 11);
    for (size_t i = 0; i < names.size() && i < types.size(); ++i)
      type.attributes.push_back({names[i], types[i]});
    type.domain_not_null = rows.GetBool(row, 12);
    std::vector<std::string> checks = rows.GetTextArray(row, 13);
    std::vector<std::string> check_names = rows.GetTextArray(row, 14);
    for (size_t i = 0; i < checks.size() && i < check_names.size(); ++i)
      type.domain_checks.push_back({check_names[i], checks[i], true});
    std::string key = type.name;
    catalog.types.emplace(std::move(key), std::move(type));
  }
}

// The catalog's tables by pg_class oid, for the queries that name them so.
class TablesByOid {
 public:
  explicit TablesByOid(Catalog& catalog) : catalog_(catalog) {}
  void Add(int64_t oid, Table table) {
    by_oid_[oid] = catalog_.tables.size();
    catalog_.tables.push_back(std::move(table));
  }
  // Null when `oid` is not one of the catalog's tables. Valid until Add.
  Table* Find(int64_t oid) {
    auto it = by_oid_.find(oid);
    return it == by_oid_.end() ? nullptr : &catalog_.tables[it->second];
  }

 private:
  Catalog& catalog_;
  std::unordered_map<int64_t, size_t> by_oid_;
};

// Tables and partitioned tables go into `tables`; views, materialized views
// and foreign tables become Catalog::other_relations. Returns each
// partition's parent, by oid.
std::unordered_map<int64_t, int64_t> ReadRelations(Connection& connection, Catalog& catalog,
                                                   TablesByOid& tables) {
  std::unordered_map<int64_t, int64_t> partition_parent;
  for (RelationRow& relation : ReadRelationRows(connection, {.storage = true})) {
    if (relation.kind != 'r' && relation.kind != 'p') {
      catalog.other_relations.push_back({std::move(relation.name), relation.kind});
      continue;
    }
    Table table;
    table.name = std::move(relation.name);
    table.kind = relation.kind == 'p' ? TableKind::kPartitioned : TableKind::kTable;
    if (relation.partition_parent) partition_parent[relation.oid] = *relation.partition_parent;
    table.partition_bound = std::move(relation.partition_bound);
    table.estimated_rows = relation.estimated_rows;
    table.bytes = relation.bytes;
    table.heap_bytes = relation.heap_bytes;
    table.owned_by_current_user = relation.owned_by_current_user;
    table.row_security = relation.row_security;
    table.force_row_security = relation.force_row_security;
    table.partition_constraint = std::move(relation.partition_constraint);
    tables.Add(relation.oid, std::move(table));
  }
  return partition_parent;
}

// Partitions point at their parent and their top-level root, however many
// levels deep.
void LinkPartitions(const std::unordered_map<int64_t, int64_t>& partition_parent,
                    TablesByOid& tables) {
  for (const auto& [oid, parent] : partition_parent) {
    int64_t root = parent;
    for (int depth = 0; depth < 64; ++depth) {
      auto up = partition_parent.find(root);
      if (up == partition_parent.end()) break;
      root = up->second;
    }
    Table* table = tables.Find(oid);
    Table* root_table = tables.Find(root);
    Table* parent_table = tables.Find(parent);
    if (table && root_table) table->partition_root = root_table->name;
    if (table && parent_table) table->partition_parent = parent_table->name;
  }
}

void ReadInheritance(Connection& connection, TablesByOid& tables) {
  Result rows = connection.Exec(sql::kInheritance);
  for (int row = 0; row < rows.Rows(); ++row) {
    Table* child = tables.Find(rows.GetInt(row, 0));
    Table* parent = tables.Find(rows.GetInt(row, 1));
    if (!child || !parent) continue;
    child->inherits_from.push_back(parent->name);
    parent->has_inheritance_children = true;
  }
}

// Columns of tables in attnum order (foreign tables' are left out: they are
// other relations here), with what binary COPY of each needs. Needs the
// catalog's types (ReadTypes), to tell which columns can travel in binary.
void ReadColumns(Connection& connection, const Catalog& catalog, TablesByOid& tables) {
  for (ColumnRow& row : ReadColumnRows(connection, true)) {
    Table* table = tables.Find(row.relation_oid);
    if (!table) continue;
    Column column;
    column.name = std::move(row.name);
    column.type = std::move(row.type);
    column.not_null = row.not_null;
    column.default_expr = std::move(row.default_expr);
    column.generated = row.generated;
    column.identity = row.identity;
    column.binary_portable = row.binary_portable;
    column.type_id = std::move(row.type_id);
    column.binary_obstacle = BinaryObstacle(catalog, column.type_id);
    if (!column.binary_obstacle.empty()) column.binary_portable = false;
    table->columns.push_back(std::move(column));
  }
}

// CHECK constraints and primary keys.
void ReadChecksAndKeys(Connection& connection, TablesByOid& tables) {
  Result checks = connection.Exec(sql::kChecks);
  for (int row = 0; row < checks.Rows(); ++row)
    if (Table* table = tables.Find(checks.GetInt(row, 0)))
      table->checks.push_back({checks.Get(row, 1), checks.Get(row, 2), checks.GetBool(row, 3)});

  Result keys = connection.Exec(sql::kPrimaryKeys);
  for (int row = 0; row < keys.Rows(); ++row)
    if (Table* table = tables.Find(keys.GetInt(row, 0)))
      table->primary_key = keys.GetTextArray(row, 1);
}

void ReadForeignKeys(Connection& connection, Catalog& catalog) {
  Result rows = connection.Exec(sql::kForeignKeys);
  for (int row = 0; row < rows.Rows(); ++row) {
    ForeignKey fk;
    fk.name = rows.Get(row, 0);
    fk.table = NameAt(rows, row, 1);
    fk.referenced = NameAt(rows, row, 3);
    fk.columns = rows.GetTextArray(row, 5);
    fk.columns_nullable = rows.GetBool(row, 6);
    fk.deferrable = rows.GetBool(row, 7);
    fk.validated = rows.GetBool(row, 8);
    fk.definition = rows.Get(row, 9);
    fk.referenced_columns = rows.GetTextArray(row, 10);
    fk.match_full = rows.GetBool(row, 11);
    catalog.foreign_keys.push_back(std::move(fk));
  }
}

void ReadIndexes(Connection& connection, Catalog& catalog) {
  Result rows = connection.Exec(sql::kIndexes);
  for (int row = 0; row < rows.Rows(); ++row) {
    Index index;
    index.table = NameAt(rows, row, 0);
    index.name = rows.Get(row, 2);
    index.definition = rows.Get(row, 3);
    if (!rows.IsNull(row, 4)) {
      index.constraint_name = rows.Get(row, 4);
      index.constraint_type = rows.Text(row, 5).front();
      index.constraint_definition = rows.Get(row, 6);
    }
    index.replica_identity = rows.GetBool(row, 7);
    index.clustered = rows.GetBool(row, 8);
    index.valid = rows.GetBool(row, 9);
    index.bytes = rows.GetInt(row, 10);
    index.unique = rows.GetBool(row, 11);
    index.keys = rows.GetTextArray(row, 12);
    index.predicate = rows.GetOptional(row, 13).value_or("");
    index.nulls_not_distinct = rows.GetBool(row, 14);
    catalog.indexes.push_back(std::move(index));
  }
  if (catalog.server_version >= 120000) ReadPartitionIndexes(connection, catalog);
}

// Sequences owned by columns, and user triggers.
void ReadSequencesAndTriggers(Connection& connection, TablesByOid& tables) {
  Result sequences = connection.Exec(sql::kColumnSequences);
  for (int row = 0; row < sequences.Rows(); ++row)
    if (Table* table = tables.Find(sequences.GetInt(row, 0)))
      table->column_sequences.push_back({sequences.Get(row, 1), NameAt(sequences, row, 2)});
  for (const TriggerRow& trigger : ReadTriggerRows(connection, false))
    if (Table* table = tables.Find(trigger.relation_oid))
      table->user_triggers.push_back({trigger.name, trigger.enabled});
}

Catalog ReadCatalogQualified(Connection& connection) {
  Catalog catalog;
  ReadIdentity(connection, catalog);
  TablesByOid tables(catalog);
  LinkPartitions(ReadRelations(connection, catalog, tables), tables);
  ReadInheritance(connection, tables);
  ReadTypes(connection, catalog);
  ReadColumns(connection, catalog, tables);
  ReadChecksAndKeys(connection, tables);
  ReadForeignKeys(connection, catalog);
  ReadIndexes(connection, catalog);
  ReadSequencesAndTriggers(connection, tables);
  return catalog;
}

}  // namespace
}  // namespace freshet
