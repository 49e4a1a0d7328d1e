// The per-file driver of the statement rules: runs every rule family of
// lint_context.h over each statement, then records what the statement
// created; and the transaction-control rule, which needs the whole file.
#include "apply/lint_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "apply/lint_context.h"
#include "apply/lint_tree.h"

namespace freshet::lint_internal {
namespace {

using nlohmann::json;

std::string TransactionCommand(const std::string& kind) {
  static const std::map<std::string, std::string> kNames = {
      {"TRANS_STMT_BEGIN", "BEGIN"},
      {"TRANS_STMT_START", "START TRANSACTION"},
      {"TRANS_STMT_COMMIT", "COMMIT"},
      {"TRANS_STMT_ROLLBACK", "ROLLBACK"},
      {"TRANS_STMT_SAVEPOINT", "SAVEPOINT"},
      {"TRANS_STMT_RELEASE", "RELEASE SAVEPOINT"},
      {"TRANS_STMT_ROLLBACK_TO", "ROLLBACK TO SAVEPOINT"},
      {"TRANS_STMT_PREPARE", "PREPARE TRANSACTION"},
      {"TRANS_STMT_COMMIT_PREPARED", "COMMIT PREPARED"},
      {"TRANS_STMT_ROLLBACK_PREPARED", "ROLLBACK PREPARED"}};
  auto it = kNames.find(kind);
  return it == kNames.end() ? "Transaction control" : it->second;
}

// The runbooks' template: a plain BEGIN (or START TRANSACTION) first, COMMIT
// (or END) last and no other transaction control. The applier skips the pair
// and runs the file in its own transaction, which is the same thing.
bool IsWrappedInOneTransaction(const std::vector<json>& trees, bool no_transaction) {
  if (no_transaction || trees.size() < 2) return false;
  const json& first = Get(trees.front(), "TransactionStmt");
  const json& last = Get(trees.back(), "TransactionStmt");
  std::string opens = Str(first, "kind");
  bool begins = (opens == "TRANS_STMT_BEGIN" || opens == "TRANS_STMT_START") &&
                Get(first, "options").is_null();
  bool ends = Str(last, "kind") == "TRANS_STMT_COMMIT" && !Flag(last, "chain");
  if (!begins || !ends) return false;
  return std::none_of(trees.begin() + 1, trees.end() - 1,
                      [](const json& tree) { return Get(tree, "TransactionStmt").is_object(); });
}

void CheckTransactionControl(FileContext& context, const json& body) {
  context.Add("transaction-control",
              fmt::format("{} inside a migration interferes with the transaction freshet wraps "
                          "each file in (a COMMIT ends it early, so a later failure leaves the "
                          "file half applied); remove it: each file already runs atomically (a "
                          "file whose only transaction control is a plain BEGIN first and COMMIT "
                          "last is accepted), and a statement that must run outside a "
                          "transaction belongs alone in a `-- freshet:no-transaction` file",
                          TransactionCommand(Str(body, "kind"))));
}

// What later statements of the file treat as new.
void TrackCreated(FileContext& context, const std::string& type, const json& body) {
  if (type == "CreateStmt") {
    context.created_tables.insert(Key(Get(body, "relation")));
  } else if (type == "CreateTableAsStmt") {
    context.created_tables.insert(Key(Get(Get(body, "into"), "rel")));
  } else if (type == "ViewStmt") {
    context.created_views.insert(Key(Get(body, "view")));
  } else if (type == "IndexStmt") {
    std::string index = Str(body, "idxname");
    std::string key = Key(Get(body, "relation"));
    if (!index.empty()) context.created_indexes.insert(key.substr(0, key.find('.') + 1) + index);
  } else if (type == "RenameStmt" && Str(body, "renameType") == "OBJECT_TABLE") {
    const json& relation = Get(body, "relation");
    if (!context.IsNew(relation)) return;
    std::string key = Key(relation);
    context.created_tables.insert(key.substr(0, key.find('.') + 1) + Str(body, "newname"));
  }
}

void CheckNoTransactionFile(FileContext& context) {
  if (!context.file.no_transaction || context.statements.size() <= 1) return;
  context.Add(1, "no-transaction-single-statement",
              fmt::format("This `-- freshet:no-transaction` file has {} statements and runs "
                          "without a transaction, so if a later statement fails the earlier ones "
                          "stay applied and the migration is left half done; keep exactly one "
                          "statement in a no-transaction file and move the others to ordinary "
                          "migrations",
                          context.statements.size()));
}

}  // namespace

bool FileContext::IsNew(const json& range_var) const {
  return created_tables.count(Key(range_var)) > 0;
}

bool FileContext::IsApiSchema(const std::string& schema) const {
  const auto& api = options.api_schemas;
  return std::find(api.begin(), api.end(), schema) != api.end();
}

FileCheck CheckFile(const MigrationFile& file, const std::vector<Statement>& statements,
                    const std::vector<json>& trees, const LintOptions& options) {
  FileContext context(file, statements, options);
  CheckNoTransactionFile(context);
  bool wrapped = IsWrappedInOneTransaction(trees, file.no_transaction);
  for (context.current = 0; context.current < trees.size(); ++context.current) {
    const json& tree = trees[context.current];
    if (!tree.is_object() || tree.empty()) continue;
    const std::string& type = tree.begin().key();
    const json& body = tree.begin().value();
    if (type == "TransactionStmt" && !wrapped) CheckTransactionControl(context, body);
    CheckDataLoss(context, type, body);
    CheckTableChanges(context, type, body);
    CheckLocking(context, type, body);
    CheckApiExposure(context, type, body);
    CheckProfiles(context, type, body);
    CheckIdentifiers(context, type);
    CheckDataLossNested(context, tree);
    CheckLockingNested(context, tree);
    CheckProfilesNested(context, tree);
    TrackCreated(context, type, body);
  }
  FinishLocking(context);
  FinishApiExposure(context);
  return std::move(context.result);
}

}  // namespace freshet::lint_internal
