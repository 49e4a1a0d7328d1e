// DiffGrants: walks the grant maps of both models in key order, skipping
// objects that are not on both sides.
#include "apply/grant_diff.h"

#include <algorithm>
#include <array>
#include <set>
#include <string_view>

namespace freshet {
namespace {

// GRANT's privilege names in the order PostgreSQL lists them for each kind
// of object; USAGE first puts sequences' USAGE, SELECT, UPDATE in their
// documented order without changing any other kind's.
constexpr std::array<std::string_view, 12> kPrivilegeOrder = {
    "ALL",      "USAGE",      "INSERT",  "SELECT",   "UPDATE", "DELETE",
    "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN", "CREATE", "EXECUTE"};

size_t PrivilegeRank(const std::string& privilege) {
  return static_cast<size_t>(std::find(kPrivilegeOrder.begin(), kPrivilegeOrder.end(), privilege) -
                             kPrivilegeOrder.begin());
}

std::string JoinInOrder(std::vector<std::string> privileges) {
  // Unknown names (a newer server's) sort last, by name.
  std::sort(privileges.begin(), privileges.end(), [](const std::string& x, const std::string& y) {
    size_t rx = PrivilegeRank(x), ry = PrivilegeRank(y);
    return rx != ry ? rx < ry : x < y;
  });
  std::string out;
  for (const auto& privilege : privileges) out += (out.empty() ? "" : ", ") + privilege;
  return out;
}

const Grants kNoGrants;

const Grants& GrantsOf(const std::map<std::string, Grants>& grants, const std::string& key) {
  auto found = grants.find(key);
  return found == grants.end() ? kNoGrants : found->second;
}

// "<grantee>: <expected> vs <actual>" for each grantee whose privileges
// differ, "; "-separated; empty when the grants match.
std::string CompareGrants(const Grants& expected, const Grants& actual) {
  std::set<std::string> grantees;
  for (const auto& [grantee, privileges] : expected) grantees.insert(grantee);
  for (const auto& [grantee, privileges] : actual) grantees.insert(grantee);
  std::string out;
  for (const auto& grantee : grantees) {
    auto e = expected.find(grantee), a = actual.find(grantee);
    const Privileges none;
    const Privileges& left = e == expected.end() ? none : e->second;
    const Privileges& right = a == actual.end() ? none : a->second;
    if (left == right) continue;
    if (!out.empty()) out += "; ";
    out += grantee + ": " + DescribePrivileges(left) + " vs " + DescribePrivileges(right);
  }
  return out;
}

class GrantDiffer {
 public:
  GrantDiffer(const SchemaModel& expected, const SchemaModel& actual)
      : expected_(expected), actual_(actual) {}

  std::vector<DriftItem> Run() {
    CompareObjects(expected_.schema_grants, actual_.schema_grants,
                   [](const SchemaModel& model, const std::string& schema) {
                     return model.schemas.count(schema) > 0;
                   });
    CompareObjects(expected_.relation_grants, actual_.relation_grants,
                   [](const SchemaModel& model, const std::string& relation) {
                     return model.tables.count(relation) > 0 || model.sequences.count(relation) > 0;
                   });
    CompareObjects(expected_.function_grants, actual_.function_grants,
                   [](const SchemaModel& model, const std::string& function) {
                     return model.functions.count(function) > 0;
                   });
    CompareColumns();
    CompareDefaultPrivileges();
    return std::move(items_);
  }

 private:
  void Add(const std::string& kind, const std::string& object, const Grants& expected,
           const Grants& actual) {
    std::string detail = CompareGrants(expected, actual);
    if (!detail.empty()) items_.push_back({kind, object, "differs", std::move(detail)});
  }

  template <typename Exists>
  void CompareObjects(const std::map<std::string, Grants>& e,
                      const std::map<std::string, Grants>& a, Exists exists) {
    std::set<std::string> objects;
    for (const auto& [object, grants] : e) objects.insert(object);
    for (const auto& [object, grants] : a) objects.insert(object);
    for (const auto& object : objects)
      if (exists(expected_, object) && exists(actual_, object))
        Add("grant", object, GrantsOf(e, object), GrantsOf(a, object));
  }

  // A column on both sides, or on a relation whose columns neither model
  // lists (views, partitions): its relation is on both sides.
  static bool ColumnOnBothSides(const TableModel& e, const TableModel& a,
                                const std::string& column) {
    if (e.columns.empty() && a.columns.empty()) return true;
    return e.columns.count(column) > 0 && a.columns.count(column) > 0;
  }

  void CompareColumns() {
    std::set<std::string> relations;
    for (const auto& [relation, columns] : expected_.column_grants) relations.insert(relation);
    for (const auto& [relation, columns] : actual_.column_grants) relations.insert(relation);
    const std::map<std::string, Grants> none;
    for (const auto& relation : relations) {
      auto table_e = expected_.tables.find(relation), table_a = actual_.tables.find(relation);
      if (table_e == expected_.tables.end() || table_a == actual_.tables.end()) continue;
      auto found_e = expected_.column_grants.find(relation);
      auto found_a = actual_.column_grants.find(relation);
      const auto& e = found_e == expected_.column_grants.end() ? none : found_e->second;
      const auto& a = found_a == actual_.column_grants.end() ? none : found_a->second;
      std::set<std::string> columns;
      for (const auto& [column, grants] : e) columns.insert(column);
      for (const auto& [column, grants] : a) columns.insert(column);
      for (const auto& column : columns)
        if (ColumnOnBothSides(table_e->second, table_a->second, column))
          Add("grant", relation + "." + column, GrantsOf(e, column), GrantsOf(a, column));
    }
  }

  void CompareDefaultPrivileges() {
    std::set<DefaultPrivilegeKey> keys;
    for (const auto& [key, grants] : expected_.default_privileges) keys.insert(key);
    for (const auto& [key, grants] : actual_.default_privileges) keys.insert(key);
    for (const auto& key : keys) {
      if (!key.schema.empty() &&
          (!expected_.schemas.count(key.schema) || !actual_.schemas.count(key.schema)))
        continue;
      Add("default-privilege", DefaultPrivilegeName(key), EffectiveDefaults(expected_, key),
          EffectiveDefaults(actual_, key));
    }
  }

  static std::string DefaultPrivilegeName(const DefaultPrivilegeKey& key) {
    std::string out = key.object_type + " in " +
                      (key.schema.empty() ? std::string("all schemas") : "schema " + key.schema);
    if (!key.role.empty()) out += " for role " + key.role;
    return out;
  }

  // The model's entry, or what holds without one: nothing added in a
  // schema; PostgreSQL's built-in defaults for all schemas.
  static Grants EffectiveDefaults(const SchemaModel& model, const DefaultPrivilegeKey& key) {
    auto found = model.default_privileges.find(key);
    if (found != model.default_privileges.end()) return found->second;
    if (!key.schema.empty()) return {};
    if (key.object_type == "functions") return {{"PUBLIC", {{"EXECUTE", false}}}};
    if (key.object_type == "types") return {{"PUBLIC", {{"USAGE", false}}}};
    return {};
  }

  const SchemaModel& expected_;
  const SchemaModel& actual_;
  std::vector<DriftItem> items_;
};

}  // namespace

std::string DescribePrivileges(const Privileges& privileges) {
  std::vector<std::string> plain, grantable;
  for (const auto& [privilege, with_grant_option] : privileges)
    (with_grant_option ? grantable : plain).push_back(privilege);
  std::string out = JoinInOrder(std::move(plain));
  if (!grantable.empty())
    out += (out.empty() ? "" : " + ") + JoinInOrder(std::move(grantable)) + " WITH GRANT OPTION";
  return out.empty() ? "none" : out;
}

std::vector<DriftItem> DiffGrants(const SchemaModel& expected, const SchemaModel& actual) {
  return GrantDiffer(expected, actual).Run();
}

}  // namespace freshet
