// Rules about what the Data API (PostgREST) exposes and what lives outside
// the schema: the relation events the end-state rules replay (tables, row
// level security, grants, views' security_invoker), dropped API views, and
// ALTER ROLE ... SET.
#include <fmt/format.h>

#include <map>

#include "apply/lint_context.h"
#include "apply/lint_tree.h"

namespace freshet::lint_internal {
namespace {

using nlohmann::json;
using Kind = RelationEvent::Kind;

std::string SchemaOf(const std::string& key) { return key.substr(0, key.find('.')); }

RelationEvent Event(Kind kind, std::string key, std::string display,
                    std::vector<std::string> roles = {}) {
  RelationEvent event;
  event.kind = kind;
  event.key = std::move(key);
  event.display = std::move(display);
  event.roles = std::move(roles);
  return event;
}

std::vector<std::string> Grantees(const json& grantees) {
  std::vector<std::string> roles;
  for (const auto& entry : Items(grantees)) {
    const json& role = Get(entry, "RoleSpec");
    if (Str(role, "roletype") == "ROLESPEC_PUBLIC") roles.push_back("PUBLIC");
    if (Str(role, "roletype") == "ROLESPEC_CSTRING") roles.push_back(Str(role, "rolename"));
  }
  return roles;
}

void RecordGrant(FileContext& context, const json& grant) {
  if (Str(grant, "objtype") != "OBJECT_TABLE" || Flag(grant, "grant_option")) return;
  bool is_grant = Flag(grant, "is_grant");
  // A partial REVOKE leaves the role other privileges on the table.
  if (!is_grant && !Items(Get(grant, "privileges")).empty()) return;
  std::vector<std::string> roles = Grantees(Get(grant, "grantees"));
  std::string target = Str(grant, "targtype");
  for (const auto& object : Items(Get(grant, "objects"))) {
    if (target == "ACL_TARGET_OBJECT") {
      const json& relation = Get(object, "RangeVar");
      context.Record(
          Event(is_grant ? Kind::kGrant : Kind::kRevoke, Key(relation), Display(relation), roles));
    } else if (target == "ACL_TARGET_ALL_IN_SCHEMA") {
      std::string schema = Str(Get(object, "String"), "sval");
      context.Record(
          Event(is_grant ? Kind::kGrantInSchema : Kind::kRevokeInSchema, schema, schema, roles));
    }
  }
}

void RecordDefaultPrivileges(FileContext& context, const json& body) {
  const json& action = Get(body, "action");
  if (Str(action, "objtype") != "OBJECT_TABLE" || Flag(action, "grant_option")) return;
  bool is_grant = Flag(action, "is_grant");
  if (!is_grant && !Items(Get(action, "privileges")).empty()) return;
  std::vector<std::string> schemas;
  for (const auto& option : Items(Get(body, "options"))) {
    const json& def_elem = Get(option, "DefElem");
    if (Str(def_elem, "defname") != "schemas") continue;
    for (const auto& item : Items(Get(Get(Get(def_elem, "arg"), "List"), "items")))
      schemas.push_back(Str(Get(item, "String"), "sval"));
  }
  if (schemas.empty()) schemas.push_back("");  // every schema
  for (const auto& schema : schemas)
    context.Record(Event(is_grant ? Kind::kDefaultGrant : Kind::kDefaultRevoke, schema, schema,
                         Grantees(Get(action, "grantees"))));
}

void RecordAlterTable(FileContext& context, const json& body) {
  const json& relation = Get(body, "relation");
  for (const auto& entry : Items(Get(body, "cmds"))) {
    const json& cmd = Get(entry, "AlterTableCmd");
    std::string subtype = Str(cmd, "subtype");
    if (subtype == "AT_EnableRowSecurity")
      context.Record(Event(Kind::kEnableRls, Key(relation), Display(relation)));
    if (subtype == "AT_DisableRowSecurity")
      context.Record(Event(Kind::kDisableRls, Key(relation), Display(relation)));
    if (subtype != "AT_SetRelOptions" && subtype != "AT_ResetRelOptions") continue;
    const json& options = Get(Get(Get(cmd, "def"), "List"), "items");
    std::optional<bool> invoker = OptionValue(options, "security_invoker");
    if (!invoker) continue;
    RelationEvent event = Event(Kind::kDefineView, Key(relation), Display(relation));
    event.security_invoker = subtype == "AT_SetRelOptions" && *invoker;
    context.Record(std::move(event));
  }
}

void RecordDrop(FileContext& context, const json& body) {
  std::string removed = Str(body, "removeType");
  for (const auto& object : Items(Get(body, "objects"))) {
    if (removed == "OBJECT_SCHEMA") {
      std::string schema = Str(Get(object, "String"), "sval");
      context.Record(Event(Kind::kDropSchema, schema, schema));
      continue;
    }
    if (removed != "OBJECT_TABLE" && removed != "OBJECT_VIEW" && removed != "OBJECT_MATVIEW" &&
        removed != "OBJECT_FOREIGN_TABLE")
      continue;
    std::string key = KeyOfNameList(object);
    std::string display = JoinNames(Get(Get(object, "List"), "items"));
    context.Record(Event(Kind::kDrop, key, display));
    bool view = removed == "OBJECT_VIEW" || removed == "OBJECT_MATVIEW";
    if (view && context.IsApiSchema(SchemaOf(key)) && !context.created_views.count(key))
      context.dropped_views[key] = {context.current, display};
  }
}

void RecordMove(FileContext& context, const json& relation, const std::string& new_key) {
  RelationEvent event = Event(Kind::kMove, Key(relation), Display(relation));
  event.new_key = new_key;
  context.Record(std::move(event));
}

void CheckRoleSetting(FileContext& context, const json& body) {
  const json& role = Get(body, "role");
  std::string name = Str(role, "rolename");
  std::string type = Str(role, "roletype");
  std::string who = role.is_null()               ? "of every role (ALTER ROLE ALL)"
                    : type == "ROLESPEC_CSTRING" ? "of role " + name
                                                 : "of the role running the migration";
  std::string database = Str(body, "database");
  const json& set = Get(body, "setstmt");
  std::string setting = Str(set, "name").empty() ? "ALL" : Str(set, "name");
  context.Add("alter-role-set",
              fmt::format("ALTER ROLE ... {} {} changes every future session {} {}; roles are "
                          "cluster-wide and not part of the schema, so a shadow, dev or restored "
                          "database does not get the setting from its schema, and drift checks do "
                          "not see it; configure roles outside the migrations (or keep it here "
                          "deliberately with `-- freshet:ignore alter-role-set`)",
                          Str(set, "kind") == "VAR_SET_VALUE" ? "SET" : "RESET", setting, who,
                          database.empty() ? "in every database of the cluster"
                                           : "in database " + database));
}

}  // namespace

void CheckApiExposure(FileContext& context, const std::string& type, const json& body) {
  if (type == "CreateStmt") {
    const json& relation = Get(body, "relation");
    if (Str(relation, "relpersistence") != "t")
      context.Record(Event(Kind::kCreateTable, Key(relation), Display(relation)));
  } else if (type == "CreateTableAsStmt" && Str(body, "objtype") == "OBJECT_TABLE") {
    const json& relation = Get(Get(body, "into"), "rel");
    if (Str(relation, "relpersistence") != "t")
      context.Record(Event(Kind::kCreateTable, Key(relation), Display(relation)));
  } else if (type == "CreateTableAsStmt") {
    context.dropped_views.erase(Key(Get(Get(body, "into"), "rel")));
  } else if (type == "ViewStmt") {
    const json& view = Get(body, "view");
    RelationEvent event = Event(Kind::kDefineView, Key(view), Display(view));
    event.security_invoker = OptionValue(Get(body, "options"), "security_invoker").value_or(false);
    if (Str(view, "relpersistence") != "t") context.Record(std::move(event));
    context.dropped_views.erase(Key(view));
  } else if (type == "AlterTableStmt") {
    RecordAlterTable(context, body);
  } else if (type == "DropStmt") {
    RecordDrop(context, body);
  } else if (type == "RenameStmt") {
    std::string renamed = Str(body, "renameType");
    if (renamed != "OBJECT_TABLE" && renamed != "OBJECT_VIEW" && renamed != "OBJECT_MATVIEW")
      return;
    const json& relation = Get(body, "relation");
    RecordMove(context, relation, SchemaOf(Key(relation)) + "." + Str(body, "newname"));
  } else if (type == "AlterObjectSchemaStmt") {
    std::string object = Str(body, "objectType");
    if (object != "OBJECT_TABLE" && object != "OBJECT_VIEW" && object != "OBJECT_MATVIEW") return;
    const json& relation = Get(body, "relation");
    RecordMove(context, relation, Str(body, "newschema") + "." + Str(relation, "relname"));
  } else if (type == "GrantStmt") {
    RecordGrant(context, body);
  } else if (type == "AlterDefaultPrivilegesStmt") {
    RecordDefaultPrivileges(context, body);
  } else if (type == "AlterRoleSetStmt") {
    CheckRoleSetting(context, body);
  }
}

void FinishApiExposure(FileContext& context) {
  std::map<size_t, std::vector<std::string>> by_statement;
  for (const auto& [key, drop] : context.dropped_views)
    by_statement[drop.first].push_back(drop.second);
  for (const auto& [statement, names] : by_statement)
    context.Add(statement, "drop-view",
                fmt::format("DROP VIEW {} removes {} the Data API serves: every client reading "
                            "it gets errors from the moment the migration commits; stop using it "
                            "in clients first and drop it in a later migration, or re-create it "
                            "in this same migration (DROP and CREATE in one file are atomic)",
                            fmt::join(names, ", "), names.size() == 1 ? "a view" : "views"));
}

}  // namespace freshet::lint_internal
