// Reads a SchemaModel from a database's catalogs with the queries under
// schema/sql/model_*.sql (embedded into schema_sql.h at build time).
#include "schema/schema_model.h"

#include "copy/connection.h"
#include "schema_sql.h"

namespace freshet {
namespace {

std::string Key(const Result& result, int row) {
  return result.Get(row, 0) + "." + result.Get(row, 1);
}

// The table a child row (column, index, ...) belongs to. Rows for relations
// that were not read as tables (a kind the model leaves out) are skipped.
TableModel* FindTable(SchemaModel& model, const Result& result, int row) {
  auto found = model.tables.find(Key(result, row));
  return found == model.tables.end() ? nullptr : &found->second;
}

std::string IdentityName(const std::string& attidentity) {
  if (attidentity == "a") return "always";
  if (attidentity == "d") return "by default";
  return "";
}

std::string FunctionKindName(const std::string& prokind) {
  if (prokind == "p") return "procedure";
  if (prokind == "a") return "aggregate";
  if (prokind == "w") return "window function";
  return "function";
}

void ReadRelations(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelRelations);
  for (int row = 0; row < result.Rows(); ++row) {
    TableModel table;
    table.kind = RelationKindName(result.Get(row, 2));
    table.row_security = result.GetBool(row, 3);
    table.force_row_security = result.GetBool(row, 4);
    table.partition_of = result.GetOptional(row, 5).value_or("");
    table.partition_bound = result.GetOptional(row, 6).value_or("");
    table.partition_key = result.GetOptional(row, 7).value_or("");
    table.definition = result.GetOptional(row, 8).value_or("");
    model.tables[Key(result, row)] = std::move(table);
  }
}

void ReadColumns(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelColumns);
  for (int row = 0; row < result.Rows(); ++row) {
    TableModel* table = FindTable(model, result, row);
    if (!table) continue;
    ColumnModel column;
    column.type = result.Get(row, 3);
    column.not_null = result.GetBool(row, 4);
    column.default_expr = result.GetOptional(row, 5);
    column.generated_expr = result.GetOptional(row, 6);
    column.identity = IdentityName(result.Get(row, 7));
    column.collation = result.GetOptional(row, 8).value_or("");
    table->columns[result.Get(row, 2)] = std::move(column);
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

void ReadTriggers(Connection& connection, SchemaModel& model) {
  Result result = connection.Exec(sql::kModelTriggers);
  for (int row = 0; row < result.Rows(); ++row)
    if (TableModel* table = FindTable(model, result, row))
      table->triggers[result.Get(row, 2)] = {result.Get(row, 3), result.Get(row, 4)};
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

}  // namespace

std::string RelationKindName(const std::string& relkind) {
  if (relkind == "r") return "table";
  if (relkind == "p") return "partitioned table";
  if (relkind == "f") return "foreign table";
  if (relkind == "v") return "view";
  if (relkind == "m") return "materialized view";
  return relkind;
}

SchemaModel ReadSchemaModel(Connection& connection, std::string label) {
  SchemaModel model;
  model.label = std::move(label);
  model.server_version = connection.ServerVersion();
  InTransaction(connection, [&] {
    connection.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    // Definitions then name every user object with its schema.
    connection.Exec("SET LOCAL search_path = pg_catalog");
    Result schemas = connection.Exec(sql::kModelSchemas);
    for (int row = 0; row < schemas.Rows(); ++row) model.schemas.insert(schemas.Get(row, 0));
    Result extensions = connection.Exec(sql::kModelExtensions);
    for (int row = 0; row < extensions.Rows(); ++row)
      model.extensions[extensions.Get(row, 0)] = extensions.Get(row, 1);
    ReadRelations(connection, model);
    ReadColumns(connection, model);
    ReadIndexes(connection, model);
    ReadConstraints(connection, model);
    ReadPolicies(connection, model);
    ReadTriggers(connection, model);
    ReadFunctions(connection, model);
    ReadEnums(connection, model);
    ReadSequences(connection, model);
  });
  return model;
}

SchemaModel ReadSchemaModel(const std::string& url, std::string label) {
  Connection connection = Connection::Open(url, label);
  return ReadSchemaModel(connection, std::move(label));
}

}  // namespace freshet
