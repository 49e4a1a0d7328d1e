// Reads the shared relation, column and trigger rows with
// schema/sql/relations.sql, columns.sql and user_triggers.sql.
#include "schema/relation_rows.h"

#include "copy/connection.h"
#include "schema_sql.h"

namespace freshet {
namespace {

std::string Flag(bool value) { return value ? "true" : "false"; }

char FirstOr(std::string_view text, char fallback) {
  return text.empty() ? fallback : text.front();
}

}  // namespace

std::vector<RelationRow> ReadRelationRows(Connection& connection, RelationDetails details) {
  Result result =
      connection.Exec(sql::kRelations, {Flag(details.storage), Flag(details.definitions)});
  std::vector<RelationRow> relations;
  relations.reserve(result.Rows());
  for (int row = 0; row < result.Rows(); ++row) {
    RelationRow relation;
    relation.oid = result.GetInt(row, 0);
    relation.name = {result.Get(row, 1), result.Get(row, 2)};
    relation.kind = FirstOr(result.Text(row, 3), 'r');
    if (!result.IsNull(row, 4)) relation.partition_parent = result.GetInt(row, 4);
    relation.partition_of = result.GetOptional(row, 5).value_or("");
    relation.partition_bound = result.GetOptional(row, 6).value_or("");
    relation.row_security = result.GetBool(row, 7);
    relation.force_row_security = result.GetBool(row, 8);
    relation.extension_owned = result.GetBool(row, 9);
    relation.estimated_rows = result.GetInt(row, 10);
    relation.owned_by_current_user = result.GetBool(row, 11);
    if (!result.IsNull(row, 12)) relation.bytes = result.GetInt(row, 12);
    if (!result.IsNull(row, 13)) relation.heap_bytes = result.GetInt(row, 13);
    relation.partition_constraint = result.GetOptional(row, 14).value_or("");
    relation.partition_key = result.GetOptional(row, 15).value_or("");
    relation.view_definition = result.GetOptional(row, 16).value_or("");
    relations.push_back(std::move(relation));
  }
  return relations;
}

std::vector<ColumnRow> ReadColumnRows(Connection& connection, bool with_copy_formats) {
  Result result = connection.Exec(sql::kColumns, {Flag(with_copy_formats)});
  std::vector<ColumnRow> columns;
  columns.reserve(result.Rows());
  for (int row = 0; row < result.Rows(); ++row) {
    ColumnRow column;
    column.relation_oid = result.GetInt(row, 0);
    column.name = result.Get(row, 1);
    column.type = result.Get(row, 2);
    column.not_null = result.GetBool(row, 3);
    column.default_expr = result.GetOptional(row, 4);
    column.generated = result.GetBool(row, 5);
    column.identity = FirstOr(result.Text(row, 6), 0);
    column.binary_portable = !result.IsNull(row, 7) && result.GetBool(row, 7);
    column.type_id = result.Get(row, 8);
    column.generated_expr = result.GetOptional(row, 9);
    column.collation = result.GetOptional(row, 10).value_or("");
    columns.push_back(std::move(column));
  }
  return columns;
}

std::vector<TriggerRow> ReadTriggerRows(Connection& connection, bool with_definitions) {
  Result result = connection.Exec(sql::kUserTriggers, {Flag(with_definitions)});
  std::vector<TriggerRow> triggers;
  triggers.reserve(result.Rows());
  for (int row = 0; row < result.Rows(); ++row) {
    TriggerRow trigger;
    trigger.relation_oid = result.GetInt(row, 0);
    trigger.name = result.Get(row, 1);
    trigger.enabled = FirstOr(result.Text(row, 2), 'O');
    trigger.cloned = !result.IsNull(row, 3) && result.GetBool(row, 3);
    trigger.definition = result.GetOptional(row, 4).value_or("");
    triggers.push_back(std::move(trigger));
  }
  return triggers;
}

}  // namespace freshet
