#include "sync/snapshot/catalog_json.h"

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

ordered_json ChecksJson(const std::vector<CheckConstraint>& checks) {
  ordered_json out = ordered_json::array();
  for (const CheckConstraint& check : checks)
    out.push_back(
        {{"name", check.name}, {"expression", check.expression}, {"validated", check.validated}});
  return out;
}

ordered_json TypeJson(const TypeInfo& type) {
  ordered_json attributes = ordered_json::array();
  for (const auto& [name, attribute_type] : type.attributes)
    attributes.push_back({{"name", name}, {"type", attribute_type}});
  return {
      {"name", type.name},
      {"kind", CharJson(type.kind)},
      {"element", type.element},
      {"domain_base", type.domain_base},
      {"domain_base_id", type.domain_base_id},
      {"range_subtype", type.range_subtype},
      {"built_in", type.built_in},
      {"binary_io", type.binary_io},
      {"names_objects", type.names_objects},
      {"enum_labels", type.enum_labels},
      {"attributes", attributes},
      {"domain_not_null", type.domain_not_null},
      {"domain_checks", ChecksJson(type.domain_checks)},
  };
}

ordered_json ColumnJson(const Column& column) {
  return {
      {"name", column.name},
      {"type", column.type},
      {"type_id", column.type_id},
      {"binary_obstacle", column.binary_obstacle},
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
      {"row_security", table.row_security},
      {"force_row_security", table.force_row_security},
      {"partition_constraint", table.partition_constraint},
      {"checks", ChecksJson(table.checks)},
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
      {"referenced_columns", key.referenced_columns},
      {"match_full", key.match_full},
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
      {"unique", index.unique},
      {"keys", index.keys},
      {"predicate", index.predicate},
      {"nulls_not_distinct", index.nulls_not_distinct},
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

// Fields added after format version 1 was first written: absent in older
// manifests, where they keep their defaults.
std::string StringOr(const JsonNode& object, const char* key, std::string fallback = {}) {
  return object.Has(key) ? object.Field(key).String() : fallback;
}
bool BoolOr(const JsonNode& object, const char* key, bool fallback) {
  return object.Has(key) ? object.Field(key).Bool() : fallback;
}
std::vector<std::string> StringsOr(const JsonNode& object, const char* key) {
  return object.Has(key) ? object.Field(key).Strings() : std::vector<std::string>{};
}

std::vector<CheckConstraint> ChecksFrom(const JsonNode& object, const char* key) {
  std::vector<CheckConstraint> checks;
  if (!object.Has(key)) return checks;
  for (const JsonNode& check : object.Field(key).Elements())
    checks.push_back({check.Field("name").String(), check.Field("expression").String(),
                      check.Field("validated").Bool()});
  return checks;
}

TypeInfo TypeFrom(const JsonNode& object) {
  TypeInfo type;
  type.name = object.Field("name").String();
  type.kind = object.Field("kind").Char();
  type.element = object.Field("element").String();
  type.domain_base = object.Field("domain_base").String();
  type.domain_base_id = object.Field("domain_base_id").String();
  type.range_subtype = object.Field("range_subtype").String();
  type.built_in = object.Field("built_in").Bool();
  type.binary_io = object.Field("binary_io").Bool();
  type.names_objects = object.Field("names_objects").Bool();
  type.enum_labels = object.Field("enum_labels").Strings();
  for (const JsonNode& attribute : object.Field("attributes").Elements())
    type.attributes.push_back({attribute.Field("name").String(), attribute.Field("type").String()});
  type.domain_not_null = object.Field("domain_not_null").Bool();
  type.domain_checks = ChecksFrom(object, "domain_checks");
  return type;
}

Column ColumnFrom(const JsonNode& object) {
  Column column;
  column.name = object.Field("name").String();
  column.type = object.Field("type").String();
  column.type_id = StringOr(object, "type_id");
  column.binary_obstacle = StringOr(object, "binary_obstacle");
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
  table.row_security = BoolOr(object, "row_security", false);
  table.force_row_security = BoolOr(object, "force_row_security", false);
  table.partition_constraint = StringOr(object, "partition_constraint");
  table.checks = ChecksFrom(object, "checks");
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
  key.referenced_columns = StringsOr(object, "referenced_columns");
  key.match_full = BoolOr(object, "match_full", false);
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
  index.unique =
      BoolOr(object, "unique", index.constraint_type == 'p' || index.constraint_type == 'u');
  index.keys = StringsOr(object, "keys");
  index.predicate = StringOr(object, "predicate");
  index.nulls_not_distinct = BoolOr(object, "nulls_not_distinct", false);
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
  ordered_json types = ordered_json::array();
  for (const auto& [name, type] : catalog.types) types.push_back(TypeJson(type));
  ordered_json others = ordered_json::array();
  for (const OtherRelation& other : catalog.other_relations)
    others.push_back(
        {{"schema", other.name.schema}, {"name", other.name.name}, {"kind", CharJson(other.kind)}});
  return {
      // A string: JSON readers other than nlohmann's often hold numbers as
      // doubles, which cannot carry every uint64.
      {"system_identifier", std::to_string(catalog.system_identifier)},
      {"database", catalog.database},
      {"server_version", catalog.server_version},
      {"tables", tables},
      {"foreign_keys", foreign_keys},
      {"indexes", indexes},
      {"types", types},
      {"other_relations", others},
      {"bypasses_row_security", catalog.bypasses_row_security},
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
  if (object.Has("types"))
    for (const JsonNode& node : object.Field("types").Elements()) {
      TypeInfo type = TypeFrom(node);
      std::string key = type.name;
      catalog.types.emplace(std::move(key), std::move(type));
    }
  if (object.Has("other_relations"))
    for (const JsonNode& node : object.Field("other_relations").Elements())
      catalog.other_relations.push_back({NameFrom(node), node.Field("kind").Char()});
  catalog.bypasses_row_security = BoolOr(object, "bypasses_row_security", false);
  return catalog;
}

}  // namespace freshet
