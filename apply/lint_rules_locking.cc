// Rules about locks: index builds and drops, CONCURRENTLY inside the file's
// transaction, REINDEX/VACUUM FULL/CLUSTER/CREATE TRIGGER, policies on
// existing tables, and `missing-lock-timeout` (which the other families feed
// through NeedLockTimeout).
#include <fmt/format.h>

#include "apply/lint_context.h"
#include "apply/lint_tree.h"

namespace freshet::lint_internal {
namespace {

using nlohmann::json;

constexpr const char* kAccessExclusive = "an ACCESS EXCLUSIVE lock on the table";

constexpr const char* kNoTransactionHint =
    "put the statement alone in its own migration file (freshet runs a file whose only "
    "statement cannot run in a transaction outside one, as Prisma and the Supabase CLI do)";

void ConcurrentlyInTransaction(FileContext& context, const char* what) {
  // Alone in its file it runs outside a transaction (MustRunOutsideTransaction).
  if (context.file.no_transaction || context.statements.size() == 1) return;
  context.Add("concurrently-in-transaction",
              fmt::format("{} cannot run inside a transaction block, and freshet applies each "
                          "migration file in one transaction; {}",
                          what, kNoTransactionHint));
}

void CheckIndex(FileContext& context, const json& body) {
  const json& relation = Get(body, "relation");
  std::string index = Str(body, "idxname");
  std::string what =
      fmt::format("CREATE INDEX {}on {}", index.empty() ? "" : index + " ", Display(relation));
  if (Flag(body, "concurrent"))
    return ConcurrentlyInTransaction(context, "CREATE INDEX CONCURRENTLY");
  if (context.IsNew(relation)) return;
  context.Add("create-index-not-concurrently",
              fmt::format("{} without CONCURRENTLY blocks every write to the table for the whole "
                          "index build; use CREATE INDEX CONCURRENTLY, alone in a migration file "
                          "whose first line is `-- freshet:no-transaction`",
                          what));
  NeedLockTimeout(context, what, "a SHARE lock on the table");
}

void CheckDropIndex(FileContext& context, const json& body) {
  if (Flag(body, "concurrent"))
    return ConcurrentlyInTransaction(context, "DROP INDEX CONCURRENTLY");
  std::vector<std::string> existing;
  for (const auto& object : Items(Get(body, "objects")))
    if (!context.created_indexes.count(KeyOfNameList(object)))
      existing.push_back(JoinNames(Get(Get(object, "List"), "items")));
  if (existing.empty()) return;
  context.Add("require-concurrent-index-deletion",
              fmt::format("DROP INDEX {} takes an ACCESS EXCLUSIVE lock on the index's table, "
                          "blocking reads and writes until it commits and queueing them behind "
                          "any running query; use `DROP INDEX CONCURRENTLY {}` (one index per "
                          "statement), alone in a migration file whose first line is "
                          "`-- freshet:no-transaction`",
                          fmt::join(existing, ", "), existing.front()));
  NeedLockTimeout(context, "DROP INDEX", kAccessExclusive);
}

void CheckReindex(FileContext& context, const json& body) {
  if (HasOption(Get(body, "params"), "concurrently"))
    return ConcurrentlyInTransaction(context, "REINDEX CONCURRENTLY");
  const json& relation = Get(body, "relation");
  if (!relation.is_null() &&
      (context.IsNew(relation) || context.created_indexes.count(Key(relation))))
    return;
  NeedLockTimeout(context, "REINDEX",
                  "a SHARE lock on the table and ACCESS EXCLUSIVE locks on its indexes");
}

// CREATE/ALTER/DROP POLICY on `table` (a RangeVar) or, for DROP, its key.
void CheckPolicy(FileContext& context, const std::string& what, const std::string& key,
                 const std::string& table) {
  if (context.created_tables.count(key)) return;
  NeedLockTimeout(context, what + " on " + table, kAccessExclusive);
  if (!context.policy_tables_reported.insert(key).second) return;
  bool storage = key == "storage.objects" || key == "storage.buckets";
  context.Add(
      "policy-on-existing-table",
      fmt::format(
          "{} on {} takes an ACCESS EXCLUSIVE lock on the table until the migration "
          "commits: it waits behind every running query on {} while all new requests "
          "queue behind it{}; keep policy changes on busy tables in short migrations "
          "that do nothing slow after them, with a lock_timeout (freshet `migrate up` "
          "sets one) and a retry when it times out (reported once per table and file)",
          what, table, table,
          storage ? fmt::format(" ({} is read by every Storage upload and download)", table) : ""));
}

void CheckDropPolicy(FileContext& context, const json& body) {
  for (const auto& object : Items(Get(body, "objects"))) {
    json items = Get(Get(object, "List"), "items");
    if (!items.is_array() || items.size() < 2) continue;
    std::string policy = Str(Get(items.back(), "String"), "sval");
    items.erase(items.size() - 1);
    json table = {{"List", {{"items", items}}}};
    CheckPolicy(context, fmt::format("DROP POLICY \"{}\"", policy), KeyOfNameList(table),
                JoinNames(items));
  }
}

void CheckLockTimeoutSetting(FileContext& context, const json& body) {
  if (Str(body, "name") != "lock_timeout") return;
  const json& args = Get(body, "args");
  bool zero = args.is_array() && !args.empty() && IsZero(Get(args[0], "A_Const"));
  context.lock_timeout = Str(body, "kind") == "VAR_SET_VALUE" && !zero;
}

void CheckVacuum(FileContext& context, const json& body) {
  if (!HasOption(Get(body, "options"), "full")) return;
  const json& rels = Get(body, "rels");
  bool all_new = rels.is_array() && !rels.empty();
  for (const auto& rel : Items(rels))
    all_new = all_new && context.IsNew(Get(Get(rel, "VacuumRelation"), "relation"));
  if (!all_new) NeedLockTimeout(context, "VACUUM FULL", kAccessExclusive);
}

}  // namespace

void NeedLockTimeout(FileContext& context, const std::string& what, const std::string& lock) {
  if (context.lock_timeout) return;
  context.strong_lock_statements.insert(context.current);
  if (context.lock_timeout_finding) return;
  context.lock_timeout_finding = context.result.findings.size();
  context.Add("missing-lock-timeout", what + " takes " + lock);  // completed by FinishLocking
}

void FinishLocking(FileContext& context) {
  if (!context.lock_timeout_finding) return;
  std::string& message = context.result.findings[*context.lock_timeout_finding].message;
  size_t more = context.strong_lock_statements.size() - 1;
  message = fmt::format(
      "{} and no lock_timeout is set before it{} in this file: applied by a tool that sets none, "
      "it waits behind any long-running query on the table while every other query queues "
      "behind it, stalling the application; put `SET lock_timeout = '5s';` at the top of the "
      "file (freshet `migrate up` sets one itself)",
      message,
      more == 0
          ? ""
          : fmt::format(" (nor before {} more such statement{})", more, more == 1 ? "" : "s"));
}

void CheckLocking(FileContext& context, const std::string& type, const json& body) {
  if (type == "IndexStmt") {
    CheckIndex(context, body);
  } else if (type == "DropStmt" && Str(body, "removeType") == "OBJECT_INDEX") {
    CheckDropIndex(context, body);
  } else if (type == "DropStmt" && Str(body, "removeType") == "OBJECT_POLICY") {
    CheckDropPolicy(context, body);
  } else if (type == "CreatePolicyStmt" || type == "AlterPolicyStmt") {
    const json& table = Get(body, "table");
    CheckPolicy(context,
                fmt::format("{} POLICY \"{}\"", type == "CreatePolicyStmt" ? "CREATE" : "ALTER",
                            Str(body, "policy_name")),
                Key(table), Display(table));
  } else if (type == "ReindexStmt") {
    CheckReindex(context, body);
  } else if (type == "VariableSetStmt") {
    CheckLockTimeoutSetting(context, body);
  } else if (type == "VacuumStmt") {
    CheckVacuum(context, body);
  } else if (type == "ClusterStmt") {
    const json& relation = Get(body, "relation");
    if (relation.is_null() || !context.IsNew(relation))
      NeedLockTimeout(context,
                      relation.is_null() ? std::string("CLUSTER") : "CLUSTER " + Display(relation),
                      kAccessExclusive);
  } else if (type == "CreateTrigStmt") {
    const json& relation = Get(body, "relation");
    if (!context.IsNew(relation))
      NeedLockTimeout(context, "CREATE TRIGGER on " + Display(relation),
                      "a SHARE ROW EXCLUSIVE lock on the table");
  }
}

void CheckLockingNested(FileContext& context, const json& tree) {
  Walk(tree, [&](const std::string& type, const json& body) {
    if (type != "FuncCall" || JoinNames(Get(body, "funcname")) != "set_config") return;
    const json& args = Get(body, "args");
    if (args.is_array() && args.size() >= 2 &&
        Str(Get(Get(args[0], "A_Const"), "sval"), "sval") == "lock_timeout")
      context.lock_timeout = !IsZero(Get(args[1], "A_Const"));
  });
}

}  // namespace freshet::lint_internal
