// The opt-in rules that profiles turn on: `non-idempotent-ddl` (profile
// `idempotent`: every file can run twice) and `not-additive` (profile
// `additive-only`: migrations never remove or rewrite what exists).
#include <fmt/format.h>

#include <set>

#include "apply/lint_context.h"
#include "apply/lint_tree.h"

namespace freshet::lint_internal {
namespace {

using nlohmann::json;

void NotIdempotent(FileContext& context, const std::string& what, const std::string& fix) {
  context.Add("non-idempotent-ddl",
              fmt::format("{} fails when the file runs a second time, and this project's "
                          "`idempotent` profile asks that every migration can; {}",
                          what, fix));
}

void NotAdditive(FileContext& context, const std::string& what) {
  context.Add("not-additive",
              fmt::format("{} removes or rewrites something deployed code may rely on, and this "
                          "project's `additive-only` profile forbids that; add the new shape "
                          "alongside the old one instead (or mark a deliberate exception with "
                          "`-- freshet:ignore not-additive`)",
                          what));
}

// The key `DROP ... IF EXISTS` records and a later CREATE of the same object looks up.
std::string DroppedKey(const std::string& kind, const std::string& key) { return kind + ":" + key; }

// "rel" for every relation kind (they share one namespace), else the object kind.
std::string DropKind(const std::string& remove_type) {
  if (remove_type == "OBJECT_TABLE" || remove_type == "OBJECT_VIEW" ||
      remove_type == "OBJECT_MATVIEW" || remove_type == "OBJECT_INDEX" ||
      remove_type == "OBJECT_SEQUENCE" || remove_type == "OBJECT_FOREIGN_TABLE")
    return "rel";
  if (remove_type == "OBJECT_TYPE" || remove_type == "OBJECT_DOMAIN") return "type";
  if (remove_type == "OBJECT_POLICY") return "policy";
  if (remove_type == "OBJECT_TRIGGER") return "trigger";
  return "";
}

std::string ObjectKey(const json& object) {
  if (Get(object, "List").is_object()) return KeyOfNameList(object);
  if (Get(object, "TypeName").is_object()) return KeyOfNames(Get(Get(object, "TypeName"), "names"));
  return "";
}

std::string ObjectName(const json& object) {
  if (Get(object, "List").is_object()) return JoinNames(Get(Get(object, "List"), "items"));
  if (Get(object, "TypeName").is_object()) return JoinNames(Get(Get(object, "TypeName"), "names"));
  if (Get(object, "ObjectWithArgs").is_object())
    return JoinNames(Get(Get(object, "ObjectWithArgs"), "objname"));
  return Str(Get(object, "String"), "sval");
}

// "MATERIALIZED VIEW" for OBJECT_MATVIEW, "POLICY" for OBJECT_POLICY ...
std::string RemovedKind(const std::string& remove_type) {
  if (remove_type == "OBJECT_MATVIEW") return "MATERIALIZED VIEW";
  std::string kind = remove_type.substr(remove_type.find('_') + 1);
  for (char& c : kind)
    if (c == '_') c = ' ';
  return kind;
}

void RecordDropIfExists(FileContext& context, const json& body) {
  std::string kind = DropKind(Str(body, "removeType"));
  if (kind.empty() || !Flag(body, "missing_ok")) return;
  for (const auto& object : Items(Get(body, "objects"))) {
    std::string key = ObjectKey(object);
    if (kind == "policy" || kind == "trigger") {  // [schema.]table.name
      const json& items = Get(Get(object, "List"), "items");
      if (!items.is_array() || items.size() < 2) continue;
      json table = json::array();
      for (size_t i = 0; i + 1 < items.size(); ++i) table.push_back(items[i]);
      key = KeyOfNames(table) + "." + Str(Get(items.back(), "String"), "sval");
    }
    context.dropped_if_exists.insert(DroppedKey(kind, key));
  }
}

bool DroppedBefore(const FileContext& context, const std::string& kind, const std::string& key) {
  return context.dropped_if_exists.count(DroppedKey(kind, key)) > 0;
}

void CheckCreateIfNotExists(FileContext& context, const std::string& what, const json& body,
                            const std::string& key) {
  if (Flag(body, "if_not_exists") || DroppedBefore(context, "rel", key)) return;
  NotIdempotent(context, what + " without IF NOT EXISTS", "write `IF NOT EXISTS`");
}

void CheckType(FileContext& context, const std::string& name, const std::string& key) {
  if (DroppedBefore(context, "type", key)) return;
  NotIdempotent(context, "CREATE TYPE " + name,
                "PostgreSQL has no CREATE TYPE IF NOT EXISTS: wrap it in `DO $$ BEGIN CREATE TYPE "
                "...; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`");
}

void CheckAlterTableIdempotent(FileContext& context, const json& body) {
  std::vector<std::string> parts;
  for (const auto& entry : Items(Get(body, "cmds"))) {
    const json& cmd = Get(entry, "AlterTableCmd");
    if (Flag(cmd, "missing_ok")) continue;
    std::string subtype = Str(cmd, "subtype");
    if (subtype == "AT_AddColumn")
      parts.push_back("ADD COLUMN " + Str(Get(Get(cmd, "def"), "ColumnDef"), "colname") +
                      " without IF NOT EXISTS");
    else if (subtype == "AT_DropColumn")
      parts.push_back("DROP COLUMN " + Str(cmd, "name") + " without IF EXISTS");
    else if (subtype == "AT_DropConstraint")
      parts.push_back("DROP CONSTRAINT " + Str(cmd, "name") + " without IF EXISTS");
  }
  if (parts.empty()) return;
  NotIdempotent(
      context,
      fmt::format("ALTER TABLE {} {}", Display(Get(body, "relation")), fmt::join(parts, ", ")),
      "write `ADD COLUMN IF NOT EXISTS` / `DROP ... IF EXISTS`");
}

void CheckIdempotent(FileContext& context, const std::string& type, const json& body) {
  if (type == "CreateStmt") {
    CheckCreateIfNotExists(context, "CREATE TABLE " + Display(Get(body, "relation")), body,
                           Key(Get(body, "relation")));
  } else if (type == "CreateTableAsStmt") {
    const json& relation = Get(Get(body, "into"), "rel");
    CheckCreateIfNotExists(context, "CREATE TABLE/MATERIALIZED VIEW " + Display(relation) + " AS",
                           body, Key(relation));
  } else if (type == "IndexStmt") {
    std::string key = Key(Get(body, "relation"));
    std::string index = Str(body, "idxname");
    CheckCreateIfNotExists(context,
                           index.empty() ? "CREATE INDEX (unnamed)" : "CREATE INDEX " + index, body,
                           key.substr(0, key.find('.') + 1) + index);
  } else if (type == "CreateSeqStmt") {
    CheckCreateIfNotExists(context, "CREATE SEQUENCE " + Display(Get(body, "sequence")), body,
                           Key(Get(body, "sequence")));
  } else if (type == "CreateSchemaStmt" && !Flag(body, "if_not_exists")) {
    NotIdempotent(context, "CREATE SCHEMA " + Str(body, "schemaname") + " without IF NOT EXISTS",
                  "write `IF NOT EXISTS`");
  } else if (type == "CreateExtensionStmt" && !Flag(body, "if_not_exists")) {
    NotIdempotent(context, "CREATE EXTENSION " + Str(body, "extname") + " without IF NOT EXISTS",
                  "write `IF NOT EXISTS`");
  } else if (type == "CreateFunctionStmt" && !Flag(body, "replace")) {
    NotIdempotent(context,
                  fmt::format("CREATE {} {} without OR REPLACE",
                              Flag(body, "is_procedure") ? "PROCEDURE" : "FUNCTION",
                              JoinNames(Get(body, "funcname"))),
                  "write `CREATE OR REPLACE`");
  } else if (type == "ViewStmt" && !Flag(body, "replace") &&
             !DroppedBefore(context, "rel", Key(Get(body, "view")))) {
    NotIdempotent(context, "CREATE VIEW " + Display(Get(body, "view")) + " without OR REPLACE",
                  "write `CREATE OR REPLACE VIEW`");
  } else if (type == "CreateTrigStmt" && !Flag(body, "replace") &&
             !DroppedBefore(context, "trigger",
                            Key(Get(body, "relation")) + "." + Str(body, "trigname"))) {
    NotIdempotent(context, "CREATE TRIGGER " + Str(body, "trigname") + " without OR REPLACE",
                  "write `CREATE OR REPLACE TRIGGER` (PostgreSQL 14+) or `DROP TRIGGER IF EXISTS` "
                  "first");
  } else if (type == "CreatePolicyStmt" &&
             !DroppedBefore(context, "policy",
                            Key(Get(body, "table")) + "." + Str(body, "policy_name"))) {
    NotIdempotent(context, "CREATE POLICY \"" + Str(body, "policy_name") + "\"",
                  "PostgreSQL has no CREATE POLICY IF NOT EXISTS: put `DROP POLICY IF EXISTS` "
                  "with the same name and table before it");
  } else if (type == "CreateEnumStmt" || type == "CreateRangeStmt") {
    CheckType(context, JoinNames(Get(body, "typeName")), KeyOfNames(Get(body, "typeName")));
  } else if (type == "CreateDomainStmt") {
    CheckType(context, JoinNames(Get(body, "domainname")), KeyOfNames(Get(body, "domainname")));
  } else if (type == "CompositeTypeStmt") {
    CheckType(context, Display(Get(body, "typevar")), Key(Get(body, "typevar")));
  } else if (type == "DropStmt" && !Flag(body, "missing_ok")) {
    std::vector<std::string> names;
    for (const auto& object : Items(Get(body, "objects"))) names.push_back(ObjectName(object));
    NotIdempotent(context,
                  fmt::format("DROP {} {} without IF EXISTS", RemovedKind(Str(body, "removeType")),
                              fmt::join(names, ", ")),
                  "write `DROP ... IF EXISTS`");
  } else if (type == "AlterTableStmt" && Str(body, "objtype") == "OBJECT_TABLE") {
    CheckAlterTableIdempotent(context, body);
  }
  if (type == "DropStmt") RecordDropIfExists(context, body);
}

void CheckAdditiveDrop(FileContext& context, const json& body) {
  static const std::set<std::string> kRemoved = {
      "OBJECT_TABLE",    "OBJECT_VIEW",         "OBJECT_MATVIEW",   "OBJECT_TYPE",
      "OBJECT_DOMAIN",   "OBJECT_FUNCTION",     "OBJECT_PROCEDURE", "OBJECT_SCHEMA",
      "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE"};
  std::string removed = Str(body, "removeType");
  if (!kRemoved.count(removed)) return;
  std::vector<std::string> names;
  for (const auto& object : Items(Get(body, "objects"))) {
    std::string key = ObjectKey(object);
    if (context.created_tables.count(key) || context.created_views.count(key)) continue;
    names.push_back(ObjectName(object));
  }
  if (!names.empty())
    NotAdditive(context, fmt::format("DROP {} {}", RemovedKind(removed), fmt::join(names, ", ")));
}

// Renames of what clients name: relations, columns, schemas, functions, types.
void CheckAdditiveRename(FileContext& context, const json& body) {
  static const std::set<std::string> kVisible = {
      "OBJECT_TABLE",     "OBJECT_VIEW",   "OBJECT_MATVIEW",  "OBJECT_FOREIGN_TABLE",
      "OBJECT_COLUMN",    "OBJECT_SCHEMA", "OBJECT_FUNCTION", "OBJECT_PROCEDURE",
      "OBJECT_ATTRIBUTE", "OBJECT_TYPE",   "OBJECT_DOMAIN"};
  std::string renamed = Str(body, "renameType");
  if (!kVisible.count(renamed)) return;
  const json& relation = Get(body, "relation");
  if (relation.is_object() && context.IsNew(relation)) return;
  std::string what = RemovedKind(renamed);
  if (relation.is_object()) {
    what += " " + Display(relation);
    if (!Str(body, "subname").empty()) what += "." + Str(body, "subname");
  } else if (Get(body, "object").is_object()) {
    what += " " + ObjectName(Get(body, "object"));
  } else {
    what += " " + Str(body, "subname");
  }
  NotAdditive(context, fmt::format("RENAME {} TO {}", what, Str(body, "newname")));
}

void CheckAdditive(FileContext& context, const std::string& type, const json& body) {
  if (type == "DropStmt") {
    CheckAdditiveDrop(context, body);
  } else if (type == "AlterTableStmt" && Str(body, "objtype") == "OBJECT_TABLE") {
    const json& relation = Get(body, "relation");
    if (context.IsNew(relation)) return;
    for (const auto& entry : Items(Get(body, "cmds"))) {
      const json& cmd = Get(entry, "AlterTableCmd");
      std::string subtype = Str(cmd, "subtype");
      std::string column = Display(relation) + "." + Str(cmd, "name");
      if (subtype == "AT_DropColumn") NotAdditive(context, "DROP COLUMN " + column);
      if (subtype == "AT_AlterColumnType") NotAdditive(context, "ALTER COLUMN " + column + " TYPE");
    }
  } else if (type == "RenameStmt") {
    CheckAdditiveRename(context, body);
  } else if (type == "AlterEnumStmt" && !Str(body, "oldVal").empty()) {
    NotAdditive(context, "ALTER TYPE ... RENAME VALUE " + Str(body, "oldVal"));
  } else if (type == "TruncateStmt") {
    for (const auto& relation : Items(Get(body, "relations")))
      if (!context.IsNew(Get(relation, "RangeVar")))
        return NotAdditive(context, "TRUNCATE " + Display(Get(relation, "RangeVar")));
  }
}

}  // namespace

void CheckProfiles(FileContext& context, const std::string& type, const json& body) {
  CheckIdempotent(context, type, body);
  CheckAdditive(context, type, body);
}

void CheckProfilesNested(FileContext& context, const json& tree) {
  Walk(tree, [&](const std::string& type, const json& body) {
    if (type != "UpdateStmt" && type != "DeleteStmt") return;
    const json& relation = Get(body, "relation");
    if (context.IsNew(relation)) return;
    NotAdditive(context,
                fmt::format("{} {} (existing rows)",
                            type == "UpdateStmt" ? "UPDATE" : "DELETE FROM", Display(relation)));
  });
}

}  // namespace freshet::lint_internal
