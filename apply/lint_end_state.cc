// The end-state rules: replays the relation events of every file, then
// judges what is left (see lint_end_state.h).
#include "apply/lint_end_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace freshet::lint_internal {
namespace {

using Kind = RelationEvent::Kind;

// A table or view as the migrations have left it so far.
struct Relation {
  bool view = false;
  std::string created_key;  // the key it was created under
  std::string display;      // as written where it was created (or last defined, for a view)
  size_t file = 0;          // the CREATE TABLE, or the view's last definition
  size_t statement = 0;
  bool row_level_security = false;
  std::set<std::string> granted;  // roles; "PUBLIC"
  bool security_invoker = false;
};

std::string SchemaOf(const std::string& key) { return key.substr(0, key.find('.')); }

class Replay {
 public:
  void Apply(size_t file, const RelationEvent& event) {
    auto found = relations_.find(event.key);
    Relation* relation = found == relations_.end() ? nullptr : &found->second;
    switch (event.kind) {
      case Kind::kCreateTable:
        if (!relation) relations_.emplace(event.key, NewTable(file, event));
        break;
      case Kind::kDefineView:
        DefineView(file, event, relation);
        break;
      case Kind::kDrop:
        if (relation) relations_.erase(found);
        break;
      case Kind::kDropSchema:
        std::erase_if(relations_,
                      [&](const auto& entry) { return SchemaOf(entry.first) == event.key; });
        break;
      case Kind::kMove:
        if (relation) {
          auto node = relations_.extract(found);
          node.key() = event.new_key;
          relations_.insert(std::move(node));
        }
        break;
      case Kind::kEnableRls:
      case Kind::kDisableRls:
        if (relation) relation->row_level_security = event.kind == Kind::kEnableRls;
        break;
      case Kind::kGrant:
      case Kind::kRevoke:
        if (relation) Change(relation->granted, event.roles, event.kind == Kind::kGrant);
        break;
      case Kind::kGrantInSchema:
      case Kind::kRevokeInSchema:
        for (auto& [key, each] : relations_)
          if (SchemaOf(key) == event.key)
            Change(each.granted, event.roles, event.kind == Kind::kGrantInSchema);
        break;
      case Kind::kDefaultGrant:
      case Kind::kDefaultRevoke:
        Change(default_grants_[event.key], event.roles, event.kind == Kind::kDefaultGrant);
        break;
    }
  }

  const std::map<std::string, Relation>& relations() const { return relations_; }

 private:
  static void Change(std::set<std::string>& roles, const std::vector<std::string>& changed,
                     bool add) {
    for (const auto& role : changed) add ? (void)roles.insert(role) : (void)roles.erase(role);
  }

  Relation NewTable(size_t file, const RelationEvent& event) {
    Relation table;
    table.created_key = event.key;
    table.display = event.display;
    table.file = file;
    table.statement = event.statement;
    table.granted = default_grants_[""];
    for (const auto& role : default_grants_[SchemaOf(event.key)]) table.granted.insert(role);
    return table;
  }

  void DefineView(size_t file, const RelationEvent& event, Relation* relation) {
    if (!relation) relation = &relations_[event.key];
    relation->view = true;
    if (relation->created_key.empty()) relation->created_key = event.key;
    relation->security_invoker = event.security_invoker;
    if (event.security_invoker) return;
    relation->display = event.display;
    relation->file = file;
    relation->statement = event.statement;
  }

  std::map<std::string, Relation> relations_;                    // by key, "schema.name"
  std::map<std::string, std::set<std::string>> default_grants_;  // by schema; "" = every schema
};

std::string Named(const std::string& key, const Relation& relation) {
  if (key == relation.created_key) return relation.display;
  return fmt::format("{} (now {})", relation.display, key);
}

}  // namespace

std::vector<EndStateFinding> CheckEndState(const std::vector<std::vector<RelationEvent>>& files,
                                           const LintOptions& options) {
  Replay replay;
  for (size_t file = 0; file < files.size(); ++file)
    for (const auto& event : files[file]) replay.Apply(file, event);
  auto exposed = [&](const std::string& key) {
    const auto& api = options.api_schemas;
    return std::find(api.begin(), api.end(), SchemaOf(key)) != api.end();
  };
  std::vector<EndStateFinding> findings;
  for (const auto& [key, relation] : replay.relations()) {
    if (!exposed(key)) continue;
    std::string name = Named(key, relation);
    std::string schema = SchemaOf(key);
    if (relation.view) {
      if (relation.security_invoker) continue;
      findings.push_back(
          {relation.file, relation.statement, "security-definer-view",
           fmt::format("View {} in the API schema `{}` is left without `security_invoker = "
                       "true`, so it runs with its owner's privileges and bypasses the row level "
                       "security of the tables it reads for everyone the Data API lets query it "
                       "(Supabase's advisor reports a security definer view); create it `WITH "
                       "(security_invoker = true)` or run `ALTER VIEW {} SET (security_invoker = "
                       "true);` in a later migration",
                       name, schema, key)});
      continue;
    }
    if (!relation.row_level_security)
      findings.push_back(
          {relation.file, relation.statement, "rls-not-enabled",
           fmt::format("Table {} is in the API schema `{}`, so the Data API (PostgREST) exposes "
                       "it to anyone holding the anon key unless row level security is on, and "
                       "no migration up to the last one enables it; add `ALTER TABLE {} ENABLE "
                       "ROW LEVEL SECURITY;` and the policies the table needs",
                       name, schema, key)});
    if (relation.granted.count("PUBLIC")) continue;
    std::vector<std::string> missing;
    for (const auto& role : options.grant_roles)
      if (!relation.granted.count(role)) missing.push_back(role);
    if (missing.empty()) continue;
    findings.push_back(
        {relation.file, relation.statement, "missing-grants",
         fmt::format("Table {} is in the API schema `{}` but no migration grants it to {} (roles "
                     "named in [lint] grant_roles), so their Data API requests fail with "
                     "permission denied; add `GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {};` "
                     "with the privileges each role needs",
                     name, schema, fmt::join(missing, ", "), key, fmt::join(missing, ", "))});
  }
  return findings;
}

}  // namespace freshet::lint_internal
