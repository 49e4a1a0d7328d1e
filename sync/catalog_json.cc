#include "sync/catalog_json.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace freshet {

using nlohmann::ordered_json;

ordered_json NameJson(const QualifiedName& name) {
  return {{"schema", name.schema}, {"name", name.name}};
}

QualifiedName NameFrom(const JsonNode& object) {
  return QualifiedName{object.Field("schema").String(), object.Field("name").String()};
}

namespace {

ordered_json NamesJson(const std::vector<QualifiedName>& names) {
  ordered_json out = ordered_json::array();
  for (const QualifiedName& name : names) out.push_back(NameJson(name));
  return out;
}

ordered_json OptionalNameJson(const std::optional<QualifiedName>& name) {
  return name ? NameJson(*name) : ordered_json(nullptr);
}

std::string CharJson(char value) { return value == 0 ? std::string() : std::string(1, value); }

ordered_json ColumnJson(const Column& column) {
  return {
      {"name", column.name},
      {"type", column.type},
      {"binary_portable", column.binary_portable},
      {"not_null", column.not_null},
      {"default_expr",
       column.default_expr ? ordered_json(*column.default_expr) : ordered_json(nullptr)},
      {"generated", column.generated},
      {"identity", CharJson(column.identity)},
  };
}

ordered_json TableJson(const Table& table) {
  ordered_json columns = ordered_json::array();
  for (const Column& column : table.columns) columns.push_back(ColumnJson(column));
  ordered_json owned_sequences = ordered_json::array();
  for (const ColumnSequence& owned : table.column_sequences)
    owned_sequences.push_back({{"column", owned.column}, {"sequence", NameJson(owned.sequence)}});
  ordered_json triggers = ordered_json::array();
  for (const Trigger& trigger : table.user_triggers)
    triggers.push_back({{"name", trigger.name}, {"enabled", CharJson(trigger.enabled)}});
  return {
      {"schema", table.name.schema},
      {"name", table.name.name},
      {"kind", table.kind == TableKind::kPartitioned ? "partitioned" : "table"},
      {"columns", columns},
      {"primary_key", table.primary_key},
      {"partition_root", OptionalNameJson(table.partition_root)},
      {"partition_parent", OptionalNameJson(table.partition_parent)},
      {"partition_bound", table.partition_bound},
      {"inherits_from", NamesJson(table.inherits_from)},
      {"has_inheritance_children", table.has_inheritance_children},
      {"estimated_rows", table.estimated_rows},
      {"bytes", table.bytes},
      {"heap_bytes", table.heap_bytes},
      {"owned_by_current_user", table.owned_by_current_user},
      {"owned_sequences", owned_sequences},
      {"user_triggers", triggers},
  };
}

ordered_json ForeignKeyJson(const ForeignKey& key) {
  return {
      {"name", key.name},
      {"table", NameJson(key.table)},
      {"referenced", NameJson(key.referenced)},
      {"columns", key.columns},
      {"columns_nullable", key.columns_nullable},
      {"deferrable", key.deferrable},
      {"validated", key.validated},
      {"definition", key.definition},
  };
}

ordered_json PartitionIndexJson(const PartitionIndex& index) {
  return {
      {"table", NameJson(index.table)},
      {"name", index.name},
      {"definition", index.definition},
      {"constraint_name", index.constraint_name},
      {"constraint_definition", index.constraint_definition},
  };
}

ordered_json IndexJson(const Index& index) {
  ordered_json partitions = ordered_json::array();
  for (const PartitionIndex& partition : index.partitions)
    partitions.push_back(PartitionIndexJson(partition));
  return {
      {"table", NameJson(index.table)},
      {"name", index.name},
      {"definition", index.definition},
      {"constraint_name", index.constraint_name},
      {"constraint_type", CharJson(index.constraint_type)},
      {"constraint_definition", index.constraint_definition},
      {"replica_identity", index.replica_identity},
      {"clustered", index.clustered},
      {"valid", index.valid},
      {"bytes", index.bytes},
      {"partitions", partitions},
  };
}

std::optional<QualifiedName> OptionalNameFrom(const JsonNode& node) {
  if (node.IsNull()) return std::nullopt;
  return NameFrom(node);
}

std::vector<QualifiedName> NamesFrom(const JsonNode& array) {
  std::vector<QualifiedName> names;
  for (const JsonNode& element : array.Elements()) names.push_back(NameFrom(element));
  return names;
}

Column ColumnFrom(const JsonNode& object) {
  Column column;
  column.name = object.Field("name").String();
  column.type = object.Field("type").String();
  column.binary_portable = object.Field("binary_portable").Bool();
  column.not_null = object.Field("not_null").Bool();
  JsonNode default_expr = object.Field("default_expr");
  if (!default_expr.IsNull()) column.default_expr = default_expr.String();
  column.generated = object.Field("generated").Bool();
  column.identity = object.Field("identity").Char();
  return column;
}

TableKind TableKindFrom(const JsonNode& node) {
  std::string kind = node.String();
  if (kind == "table") return TableKind::kTable;
  if (kind == "partitioned") return TableKind::kPartitioned;
  node.Fail(fmt::format("expected \"table\" or \"partitioned\", found \"{}\"", kind));
}

Table TableFrom(const JsonNode& object) {
  Table table;
  table.name = NameFrom(object);
  table.kind = TableKindFrom(object.Field("kind"));
  for (const JsonNode& column : object.Field("columns").Elements())
    table.columns.push_back(ColumnFrom(column));
  table.primary_key = object.Field("primary_key").Strings();
  table.partition_root = OptionalNameFrom(object.Field("partition_root"));
  table.partition_parent = OptionalNameFrom(object.Field("partition_parent"));
  table.partition_bound = object.Field("partition_bound").String();
  table.inherits_from = NamesFrom(object.Field("inherits_from"));
  table.has_inheritance_children = object.Field("has_inheritance_children").Bool();
  table.estimated_rows = object.Field("estimated_rows").Integer();
  table.bytes = object.Field("bytes").Integer();
  table.heap_bytes = object.Field("heap_bytes").Integer();
  table.owned_by_current_user = object.Field("owned_by_current_user").Bool();
  for (const JsonNode& owned : object.Field("owned_sequences").Elements())
    table.column_sequences.push_back(
        ColumnSequence{owned.Field("column").String(), NameFrom(owned.Field("sequence"))});
  for (const JsonNode& trigger : object.Field("user_triggers").Elements())
    table.user_triggers.push_back(
        Trigger{trigger.Field("name").String(), trigger.Field("enabled").Char()});
  return table;
}

ForeignKey ForeignKeyFrom(const JsonNode& object) {
  ForeignKey key;
  key.name = object.Field("name").String();
  key.table = NameFrom(object.Field("table"));
  key.referenced = NameFrom(object.Field("referenced"));
  key.columns = object.Field("columns").Strings();
  key.columns_nullable = object.Field("columns_nullable").Bool();
  key.deferrable = object.Field("deferrable").Bool();
  key.validated = object.Field("validated").Bool();
  key.definition = object.Field("definition").String();
  return key;
}

PartitionIndex PartitionIndexFrom(const JsonNode& object) {
  PartitionIndex index;
  index.table = NameFrom(object.Field("table"));
  index.name = object.Field("name").String();
  index.definition = object.Field("definition").String();
  index.constraint_name = object.Field("constraint_name").String();
  index.constraint_definition = object.Field("constraint_definition").String();
  return index;
}

Index IndexFrom(const JsonNode& object) {
  Index index;
  index.table = NameFrom(object.Field("table"));
  index.name = object.Field("name").String();
  index.definition = object.Field("definition").String();
  index.constraint_name = object.Field("constraint_name").String();
  index.constraint_type = object.Field("constraint_type").Char();
  index.constraint_definition = object.Field("constraint_definition").String();
  index.replica_identity = object.Field("replica_identity").Bool();
  index.clustered = object.Field("clustered").Bool();
  index.valid = object.Field("valid").Bool();
  index.bytes = object.Field("bytes").Integer();
  for (const JsonNode& partition : object.Field("partitions").Elements())
    index.partitions.push_back(PartitionIndexFrom(partition));
  return index;
}

uint64_t SystemIdentifierFrom(const JsonNode& node) {
  std::string text = node.String();
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end)
    node.Fail(fmt::format("expected an unsigned 64-bit integer in decimal, found \"{}\"", text));
  return value;
}

}  // namespace

ordered_json CatalogToJson(const Catalog& catalog) {
  ordered_json tables = ordered_json::array();
  for (const Table& table : catalog.tables) tables.push_back(TableJson(table));
  ordered_json foreign_keys = ordered_json::array();
  for (const ForeignKey& key : catalog.foreign_keys) foreign_keys.push_back(ForeignKeyJson(key));
  ordered_json indexes = ordered_json::array();
  for (const Index& index : catalog.indexes) indexes.push_back(IndexJson(index));
  return {
      // A string: JSON readers other than nlohmann's often hold numbers as
      // doubles, which cannot carry every uint64.
      {"system_identifier", std::to_string(catalog.system_identifier)},
      {"database", catalog.database},
      {"server_version", catalog.server_version},
      {"tables", tables},
      {"foreign_keys", foreign_keys},
      {"indexes", indexes},
  };
}

Catalog CatalogFrom(const JsonNode& object) {
  Catalog catalog;
  catalog.system_identifier = SystemIdentifierFrom(object.Field("system_identifier"));
  catalog.database = object.Field("database").String();
  catalog.server_version = object.Field("server_version").Int();
  for (const JsonNode& table : object.Field("tables").Elements())
    catalog.tables.push_back(TableFrom(table));
  for (const JsonNode& key : object.Field("foreign_keys").Elements())
    catalog.foreign_keys.push_back(ForeignKeyFrom(key));
  for (const JsonNode& index : object.Field("indexes").Elements())
    catalog.indexes.push_back(IndexFrom(index));
  return catalog;
}

}  // namespace freshet
