// Reads a SchemaModel from a database's catalogs: relations, columns and
// triggers from the rows the sync's Catalog is built from too
// (schema/relation_rows.h), the rest with schema/sql/model_*.sql (grants
// from model_grants.sql and model_default_privileges.sql).
#include "schema/schema_model.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "copy/connection.h"
#include "schema/relation_rows.h"
#include "schema_sql.h"

namespace freshet {
namespace {

// freshet's and the Supabase CLI's migration history schemas: they differ by
// design between the shadow and a real database. model_*.sql leave out the
// same ones.
constexpr std::array<std::string_view, 2> kHistorySchemas = {"_freshet", "supabase_migrations"};

bool Modelled(const RelationRow& relation) {
  return !relation.extension_owned && std::find(kHistorySchemas.begin(), kHistorySchemas.end(),
                                                relation.name.schema) == kHistorySchemas.end();
}

std::string Key(const Result& result, int row) {
  return result.Get(row, 0) + "." + result.Get(row, 1);
}

// The table a child row (index, constraint, ...) belongs to. Rows for
// relations that were not read as tables (a kind the model leaves out) are
// skipped.
TableModel* FindTable(SchemaModel& model, const Result& result, int row) {
  auto found = model.tables.find(Key(result, row));
  return found == model.tables.end() ? nullptr : &found->second;
}

std::string IdentityName(char attidentity) {
  if (attidentity == 'a') return "always";
  if (attidentity == 'd') return "by default";
  return "";
}

std::string FunctionKindName(const std::string& prokind) {
  if (prokind == "p") return "procedure";
  if (prokind == "a") return "aggregate";
  if (prokind == "w") return "window function";
  return "function";
}

// A relation the model has, for the column and trigger rows that name their
// relation by oid.
struct ModelledRelation {
  TableModel* table = nullptr;  // into SchemaModel::tables
  bool partition = false;
};
using RelationsByOid = std::unordered_map<int64_t, ModelledRelation>;

RelationsByOid ReadRelations(Connection& connection, SchemaModel& model) {
  RelationsByOid by_oid;
  for (RelationRow& relation : ReadRelationRows(connection, {.definitions = true})) {
    if (!Modelled(relation)) continue;
    TableModel table;
    table.kind = RelationKindName(std::string(1, relation.kind));
    table.row_security = relation.row_security;
    table.force_row_security = relation.force_row_security;
    table.partition_of = std::move(relation.partition_of);
    table.partition_bound = std::move(relation.partition_bound);
    table.partition_key = std::move(relation.partition_key);
    table.definition = std::move(relation.view_definition);
    auto entry = model.tables.insert_or_assign(relation.name.Display(), std::move(table)).first;
    by_oid[relation.oid] = {&entry->second, relation.partition_parent.has_value()};
  }
  return by_oid;
}

// Columns of tables, partitioned tables and foreign tables; partitions have
// none here: theirs are their parent's.
void ReadColumns(Connection& connection, const RelationsByOid& by_oid) {
  for (ColumnRow& row : ReadColumnRows(connection, false)) {
    auto relation = by_oid.find(row.relation_oid);
    if (relation == by_oid.end() || relation->second.partition) continue;
    ColumnModel column;
    column.type = std::move(row.type);
    column.not_null = row.not_null;
    column.default_expr = std::move(row.default_expr);
    column.generated_expr = std::move(row.generated_expr);
    column.identity = IdentityName(row.identity);
    column.collation = std::move(row.collation);
    relation->second.table->columns[std::move(row.name)] = std::move(column);
  }
}

// User triggers, but not the clones a partitioned table's trigger puts on
// its partitions: the parent's trigger covers them.
void ReadTriggers(Connection& connection, const RelationsByOid& by_oid) {
  for (TriggerRow& row : ReadTriggerRows(connection, true)) {
    auto relation = by_oid.find(row.relation_oid);
    if (relation == by_oid.end() || row.cloned) continue;
    relation->second.table->triggers[std::move(row.name)] = {std::move(row.definition),
                                                             std::string(1, row.enabled)};
  }
}

void ReadIndexes(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelIndexes);
  for (int row = 0; row < result.Rows(); ++row)
    if (TableModel* table = FindTable(model, result, row))
      table->indexes[result.Get(row, 2)] = result.Get(row, 3);
}

void ReadConstraints(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelConstraints);
  for (int row = 0; row < result.Rows(); ++row)
    if (TableModel* table = FindTable(model, result, row))
      table->constraints[result.Get(row, 2)] = result.Get(row, 4);
}

void ReadPolicies(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelPolicies);
  for (int row = 0; row < result.Rows(); ++row) {
    TableModel* table = FindTable(model, result, row);
    if (!table) continue;
    PolicyModel policy;
    policy.permissive = result.Get(row, 3);
    policy.command = result.Get(row, 4);
    policy.roles = result.GetOptional(row, 5).value_or("");
    policy.using_expr = result.GetOptional(row, 6);
    policy.check_expr = result.GetOptional(row, 7);
    table->policies[result.Get(row, 2)] = std::move(policy);
  }
}

void ReadFunctions(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelFunctions);
  for (int row = 0; row < result.Rows(); ++row) {
    FunctionModel function;
    function.kind = FunctionKindName(result.Get(row, 3));
    function.result = result.Get(row, 4);
    function.definition = result.GetOptional(row, 5).value_or("");
    model.functions[Key(result, row) + "(" + result.Get(row, 2) + ")"] = std::move(function);
  }
}

void ReadEnums(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelEnums);
  for (int row = 0; row < result.Rows(); ++row)
    model.enums[Key(result, row)].push_back(result.Get(row, 2));
}

void ReadSequences(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelSequences);
  for (int row = 0; row < result.Rows(); ++row) {
    SequenceModel sequence;
    sequence.type = result.Get(row, 2);
    sequence.start = result.Get(row, 3);
    sequence.increment = result.Get(row, 4);
    sequence.min = result.Get(row, 5);
    sequence.max = result.Get(row, 6);
    sequence.cache = result.Get(row, 7);
    sequence.cycle = result.GetBool(row, 8);
    model.sequences[Key(result, row)] = std::move(sequence);
  }
}

// A table's privileges before PostgreSQL 17, which added MAINTAIN.
constexpr std::array<std::string_view, 7> kTablePrivileges = {
    "INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"};

// Grants on schemas, relations, columns and functions from
// model_grants.sql's rows: kind, schema, name, detail, grantee, privilege,
// grantable, table_privileges.
void ReadGrants(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelGrants);
  std::set<Grants*> tables;
  for (int row = 0; row < result.Rows(); ++row) {
    std::string kind = result.Get(row, 0);
    std::string object = result.Get(row, 1) + "." + result.Get(row, 2);
    Grants* grants = nullptr;
    if (kind == "schema") {
      grants = &model.schema_grants[result.Get(row, 1)];
    } else if (kind == "relation") {
      grants = &model.relation_grants[object];
    } else if (kind == "column") {
      grants = &model.column_grants[object][result.Get(row, 3)];
    } else if (kind == "function") {
      grants = &model.function_grants[object + "(" + result.Get(row, 3) + ")"];
    } else {
      continue;
    }
    (*grants)[result.Get(row, 4)][result.Get(row, 5)] = result.GetBool(row, 6);
    if (result.GetBool(row, 7)) tables.insert(grants);
  }
  for (Grants* grants : tables) FoldAllTablePrivileges(*grants);
}

// model_default_privileges.sql's rows: role, schema, object type, grantee,
// privilege, grantable, table_privileges. A NULL grantee is an entry that
// grants nothing.
void ReadDefaultPrivileges(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelDefaultPrivileges);
  std::set<Grants*> tables;
  for (int row = 0; row < result.Rows(); ++row) {
    DefaultPrivilegeKey key{result.GetOptional(row, 0).value_or(""),
                            result.GetOptional(row, 1).value_or(""), result.Get(row, 2)};
    Grants& grants = model.default_privileges[std::move(key)];
    std::optional<std::string> grantee = result.GetOptional(row, 3);
    if (!grantee) continue;
    grants[*grantee][result.Get(row, 4)] = result.GetBool(row, 5);
    if (result.GetBool(row, 6)) tables.insert(&grants);
  }
  for (Grants* grants : tables) FoldAllTablePrivileges(*grants);
}

}  // namespace

std::string RelationKindName(const std::string& relkind) {
  if (relkind == "r") return "table";
  if (relkind == "p") return "partitioned table";
  if (relkind == "f") return "foreign table";
  if (relkind == "v") return "view";
  if (relkind == "m") return "materialized view";
  return relkind;
}

void FoldAllTablePrivileges(Grants& grants) {
  for (auto& [grantee, privileges] : grants) {
    auto first = privileges.find("INSERT");
    if (first == privileges.end()) continue;
    bool grantable = first->second;
    bool all = std::all_of(kTablePrivileges.begin(), kTablePrivileges.end(), [&](auto name) {
      auto found = privileges.find(std::string(name));
      return found != privileges.end() && found->second == grantable;
    });
    if (all) privileges = {{"ALL", grantable}};
  }
}

SchemaModel ReadSchemaModel(Connection& connection, std::string label) {
  SchemaModel model;
  model.label = std::move(label);
  model.server_version = connection.ServerVersion();
  InTransaction(connection, [&] {
    connection.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    // Definitions then name every user object with its schema.
    connection.Exec("SET LOCAL search_path = pg_catalog");
    // As ReadCatalog does: the column query's recursive CTE is estimated far
    // above its cost. current_setting(name, true) is NULL without JIT.
    connection.Exec(
        "SELECT pg_catalog.set_config('jit', 'off', true) "
        "WHERE pg_catalog.current_setting('jit', true) IS NOT NULL");
    Result schemas = connection.Exec(sql::kModelSchemas);
    for (int row = 0; row < schemas.Rows(); ++row) model.schemas.insert(schemas.Get(row, 0));
    Result extensions = connection.Exec(sql::kModelExtensions);
    for (int row = 0; row < extensions.Rows(); ++row)
      model.extensions[extensions.Get(row, 0)] = extensions.Get(row, 1);
    RelationsByOid by_oid = ReadRelations(connection, model);
    ReadColumns(connection, by_oid);
    ReadIndexes(connection, model);
    ReadConstraints(connection, model);
    ReadPolicies(connection, model);
    ReadTriggers(connection, by_oid);
    ReadFunctions(connection, model);
    ReadEnums(connection, model);
    ReadSequences(connection, model);
    ReadGrants(connection, model);
    ReadDefaultPrivileges(connection, model);
  });
  return model;
}

SchemaModel ReadSchemaModel(const std::string& url, std::string label) {
  Connection connection = Connection::Open(url, label);
  return ReadSchemaModel(connection, std::move(label));
}

}  // namespace freshet
