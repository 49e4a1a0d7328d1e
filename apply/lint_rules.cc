// The statement rules of `freshet migrate lint`, over libpg_query's JSON parse
// trees (PostgreSQL 15 node names: DropStmt, AlterTableStmt/AlterTableCmd,
// IndexStmt, RenameStmt, TransactionStmt, VariableSetStmt, ...).
//
// "Existing" tables are those not created earlier in the same file: a table
// created a few statements above is empty and unused, so dropping columns,
// adding NOT NULL columns or indexes to it is safe.
#include "apply/lint_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

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

constexpr const char* kAccessExclusive = "an ACCESS EXCLUSIVE lock on the table";

constexpr const char* kNoTransactionHint =
    "put the statement alone in its own migration file whose first line is "
    "`-- freshet:no-transaction`";

class FileChecker {
 public:
  FileChecker(const MigrationFile& file, const std::vector<Statement>& statements,
              const std::vector<json>& trees, const LintOptions& options)
      : file_(file), statements_(statements), trees_(trees), options_(options) {}

  std::vector<StatementFinding> Run() {
    if (file_.no_transaction && statements_.size() > 1)
      Add(1, "no-transaction-single-statement",
          fmt::format("This `-- freshet:no-transaction` file has {} statements and runs without a "
                      "transaction, so if a later statement fails the earlier ones stay applied "
                      "and the migration is left half done; keep exactly one statement in a "
                      "no-transaction file and move the others to ordinary migrations",
                      statements_.size()));
    for (current_ = 0; current_ < trees_.size(); ++current_) {
      const json& tree = trees_[current_];
      if (!tree.is_object() || tree.empty()) continue;
      CheckStatement(tree.begin().key(), tree.begin().value());
      CheckNested(tree);
    }
    ReportRowLevelSecurity();
    return std::move(findings_);
  }

 private:
  struct NewApiTable {
    size_t statement;  // the CREATE TABLE
    std::string display;
    std::string schema;
  };

  void Add(size_t statement, std::string rule, std::string message) {
    findings_.push_back({statement, std::move(rule), std::move(message)});
  }
  void Add(std::string rule, std::string message) {
    Add(current_, std::move(rule), std::move(message));
  }

  bool IsNew(const json& range_var) const { return created_.count(Key(range_var)) > 0; }

  // Strong locks on existing tables should be bounded by lock_timeout.
  void NeedLockTimeout(const std::string& what, const std::string& lock) {
    if (lock_timeout_ || lock_timeout_reported_.count(current_)) return;
    lock_timeout_reported_.insert(current_);
    Add("missing-lock-timeout",
        fmt::format("{} takes {}, and without a lock timeout it waits behind any "
                    "long-running query on the table while every other query queues behind it, "
                    "stalling the application; put `SET lock_timeout = '5s';` before it in this "
                    "file (and retry the migration if it times out)",
                    what, lock));
  }

  void CheckCreatedTable(const json& relation) {
    std::string key = Key(relation);
    created_.insert(key);
    if (Str(relation, "relpersistence") == "t") return;  // temporary
    std::string schema = key.substr(0, key.find('.'));
    const auto& api = options_.api_schemas;
    if (std::find(api.begin(), api.end(), schema) != api.end())
      rls_pending_[key] = {current_, Display(relation), schema};
  }

  // API tables created in this file that it never enables row level security for.
  void ReportRowLevelSecurity() {
    for (const auto& [key, table] : rls_pending_)
      Add(table.statement, "rls-not-enabled",
          fmt::format("Table {} is in the API schema `{}`, so the Data API (PostgREST) exposes "
                      "it to anyone holding the anon key unless row level security is on, and "
                      "this file never enables it; add `ALTER TABLE {} ENABLE ROW LEVEL "
                      "SECURITY;` and the policies the table needs in this migration",
                      table.display, table.schema, table.display));
  }

  void CheckStatement(const std::string& type, const json& body) {
    if (type == "CreateStmt") {
      CheckCreatedTable(Get(body, "relation"));
    } else if (type == "CreateTableAsStmt") {
      const json& relation = Get(Get(body, "into"), "rel");
      if (Str(body, "objtype") == "OBJECT_TABLE")
        CheckCreatedTable(relation);
      else
        created_.insert(Key(relation));
    } else if (type == "DropStmt") {
      CheckDrop(body);
    } else if (type == "DropdbStmt") {
      Add("drop-database",
          fmt::format("DROP DATABASE {} deletes a whole database and everything in it, and cannot "
                      "run inside a migration's transaction anyway; drop databases by hand, "
                      "outside the migration history",
                      Str(body, "dbname")));
    } else if (type == "TruncateStmt") {
      CheckTruncate(body);
    } else if (type == "AlterTableStmt") {
      CheckAlterTable(body);
    } else if (type == "IndexStmt") {
      CheckIndex(body);
    } else if (type == "ReindexStmt") {
      CheckReindex(body);
    } else if (type == "RenameStmt") {
      CheckRename(body);
    } else if (type == "TransactionStmt") {
      Add("transaction-control",
          fmt::format("{} inside a migration interferes with the transaction freshet wraps each "
                      "file in (a COMMIT ends it early, so a later failure leaves the file half "
                      "applied); remove it: each file already runs atomically, and a statement "
                      "that must run outside a transaction belongs alone in a "
                      "`-- freshet:no-transaction` file",
                      TransactionCommand(Str(body, "kind"))));
    } else if (type == "VariableSetStmt") {
      if (Str(body, "name") != "lock_timeout") return;
      const json& args = Get(body, "args");
      bool zero = args.is_array() && !args.empty() && IsZero(Get(args[0], "A_Const"));
      lock_timeout_ = Str(body, "kind") == "VAR_SET_VALUE" && !zero;
    } else if (type == "VacuumStmt") {
      if (!HasOption(Get(body, "options"), "full")) return;
      const json& rels = Get(body, "rels");
      bool all_new = rels.is_array() && !rels.empty();
      for (const auto& rel : rels.is_array() ? rels : json::array())
        all_new = all_new && IsNew(Get(Get(rel, "VacuumRelation"), "relation"));
      if (!all_new) NeedLockTimeout("VACUUM FULL", kAccessExclusive);
    } else if (type == "ClusterStmt") {
      const json& relation = Get(body, "relation");
      if (relation.is_null() || !IsNew(relation))
        NeedLockTimeout(
            relation.is_null() ? std::string("CLUSTER") : "CLUSTER " + Display(relation),
            kAccessExclusive);
    } else if (type == "CreateTrigStmt") {
      const json& relation = Get(body, "relation");
      if (!IsNew(relation))
        NeedLockTimeout("CREATE TRIGGER on " + Display(relation),
                        "a SHARE ROW EXCLUSIVE lock on the table");
    }
  }

  void CheckDrop(const json& body) {
    std::string type = Str(body, "removeType");
    const json& objects = Get(body, "objects");
    if (type == "OBJECT_TABLE") {
      std::vector<std::string> names;
      for (const auto& object : objects.is_array() ? objects : json::array()) {
        std::string key = KeyOfNameList(object);
        rls_pending_.erase(key);
        if (created_.count(key)) continue;
        names.push_back(JoinNames(Get(Get(object, "List"), "items")));
      }
      if (names.empty()) return;
      Add("drop-table",
          fmt::format("DROP TABLE {} deletes the table and every row in it irreversibly and breaks "
                      "code still using it; first deploy code that no longer uses the table (and "
                      "back up the data if it may be needed), then drop it in a later migration",
                      fmt::join(names, ", ")));
      NeedLockTimeout("DROP TABLE", kAccessExclusive);
    } else if (type == "OBJECT_SCHEMA") {
      std::vector<std::string> names;
      for (const auto& object : objects.is_array() ? objects : json::array())
        names.push_back(Str(Get(object, "String"), "sval"));
      Add("drop-schema",
          fmt::format("DROP SCHEMA {} deletes the schema (with CASCADE, every table, function and "
                      "row in it) and breaks code still using it; move or drop its objects "
                      "explicitly in earlier migrations, after the code stopped using them",
                      fmt::join(names, ", ")));
    } else if (type == "OBJECT_INDEX") {
      if (Flag(body, "concurrent")) {
        if (!file_.no_transaction)
          Add("concurrently-in-transaction",
              fmt::format("DROP INDEX CONCURRENTLY cannot run inside a transaction block, and "
                          "freshet applies each migration file in one transaction; {}",
                          kNoTransactionHint));
        return;
      }
      for (const auto& object : objects.is_array() ? objects : json::array())
        if (!created_indexes_.count(KeyOfNameList(object))) {
          NeedLockTimeout("DROP INDEX", kAccessExclusive);
          break;
        }
    }
  }

  void CheckTruncate(const json& body) {
    std::vector<std::string> names;
    const json& relations = Get(body, "relations");
    for (const auto& relation : relations.is_array() ? relations : json::array()) {
      const json& range_var = Get(relation, "RangeVar");
      if (!IsNew(range_var)) names.push_back(Display(range_var));
    }
    if (names.empty()) return;
    Add("truncate",
        fmt::format("TRUNCATE {} deletes every row of the table at once, with no WHERE and no "
                    "undo once committed; delete only the rows that must go with DELETE ... WHERE, "
                    "or back the data up before emptying the table",
                    fmt::join(names, ", ")));
    NeedLockTimeout("TRUNCATE", kAccessExclusive);
  }

  void CheckAlterTable(const json& body) {
    if (Str(body, "objtype") != "OBJECT_TABLE") return;
    const json& relation = Get(body, "relation");
    const json& cmds = Get(body, "cmds");
    for (const auto& entry : cmds.is_array() ? cmds : json::array())
      if (Str(Get(entry, "AlterTableCmd"), "subtype") == "AT_EnableRowSecurity")
        rls_pending_.erase(Key(relation));
    if (IsNew(relation)) return;
    std::string table = Display(relation);
    for (const auto& entry : cmds.is_array() ? cmds : json::array()) {
      const json& cmd = Get(entry, "AlterTableCmd");
      std::string subtype = Str(cmd, "subtype");
      std::string column = table + "." + Str(cmd, "name");
      if (subtype == "AT_DropColumn") {
        Add("drop-column",
            fmt::format("DROP COLUMN {} removes data immediately and breaks code still reading "
                        "the column; deploy code that stops using it first, then drop it in a "
                        "later migration",
                        column));
      } else if (subtype == "AT_AlterColumnType") {
        Add("alter-column-type",
            fmt::format("ALTER COLUMN {} TYPE usually rewrites the whole table and its indexes "
                        "under an ACCESS EXCLUSIVE lock (blocking reads and writes) and can break "
                        "code expecting the old type; add a new column, backfill it in batches "
                        "and switch the code over instead (a change known to need no rewrite, "
                        "such as varchar(n) to text, can be ignored)",
                        column));
      } else if (subtype == "AT_SetNotNull") {
        Add("set-not-null",
            fmt::format("SET NOT NULL on {} scans the whole table under an ACCESS EXCLUSIVE lock; "
                        "instead add `CHECK ({} IS NOT NULL) NOT VALID`, VALIDATE it in a later "
                        "migration, then SET NOT NULL (PostgreSQL 12+ then skips the scan) and "
                        "drop the check",
                        column, Str(cmd, "name")));
      } else if (subtype == "AT_AddColumn") {
        CheckAddColumn(table, Get(Get(cmd, "def"), "ColumnDef"));
      } else if (subtype == "AT_AddConstraint") {
        CheckAddConstraint(table, Get(Get(cmd, "def"), "Constraint"));
      }
    }
    NeedLockTimeout("ALTER TABLE " + table,
                    "an ACCESS EXCLUSIVE lock on the table (for most subcommands)");
  }

  void CheckAddColumn(const std::string& table, const json& column) {
    static const std::set<std::string> kSerial = {"serial",  "serial4",     "bigserial",
                                                  "serial8", "smallserial", "serial2"};
    bool not_null = false, filled = kSerial.count(JoinNames(Get(Get(column, "typeName"), "names")));
    const json& constraints = Get(column, "constraints");
    for (const auto& entry : constraints.is_array() ? constraints : json::array()) {
      std::string type = Str(Get(entry, "Constraint"), "contype");
      not_null = not_null || type == "CONSTR_NOTNULL" || type == "CONSTR_PRIMARY";
      bool null_default = Flag(Get(Get(Get(entry, "Constraint"), "raw_expr"), "A_Const"), "isnull");
      filled = filled || (type == "CONSTR_DEFAULT" && !null_default) || type == "CONSTR_IDENTITY" ||
               type == "CONSTR_GENERATED";
    }
    if (!not_null || filled) return;
    Add("add-column-not-null-without-default",
        fmt::format("ADD COLUMN {}.{} NOT NULL without a DEFAULT fails as soon as the table has "
                    "rows, and deployed code that inserts without the column breaks; give it a "
                    "DEFAULT (a constant default is instant since PostgreSQL 11), or add it "
                    "nullable, backfill it, then make it NOT NULL",
                    table, Str(column, "colname")));
  }

  void CheckAddConstraint(const std::string& table, const json& constraint) {
    std::string type = Str(constraint, "contype");
    if ((type != "CONSTR_FOREIGN" && type != "CONSTR_CHECK") || Flag(constraint, "skip_validation"))
      return;
    std::string name = Str(constraint, "conname");
    Add("constraint-not-valid",
        fmt::format("ADD CONSTRAINT {}{} on {} checks every existing row while holding a lock that "
                    "blocks writes{}; add it with NOT VALID (new rows are still checked), then "
                    "run `ALTER TABLE {} VALIDATE CONSTRAINT {}` in a later migration, which "
                    "takes a weaker lock",
                    name.empty() ? "" : name + " ",
                    type == "CONSTR_FOREIGN" ? "(FOREIGN KEY)" : "(CHECK)", table,
                    type == "CONSTR_FOREIGN" ? " on both tables" : "", table,
                    name.empty() ? "<name>" : name));
  }

  void CheckIndex(const json& body) {
    const json& relation = Get(body, "relation");
    std::string index = Str(body, "idxname");
    if (!index.empty()) {
      std::string key = Key(relation);
      created_indexes_.insert(key.substr(0, key.find('.') + 1) + index);
    }
    std::string what =
        fmt::format("CREATE INDEX {}on {}", index.empty() ? "" : index + " ", Display(relation));
    if (Flag(body, "concurrent")) {
      if (!file_.no_transaction)
        Add("concurrently-in-transaction",
            fmt::format("CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and "
                        "freshet applies each migration file in one transaction; {}",
                        kNoTransactionHint));
      return;
    }
    if (IsNew(relation)) return;
    Add("create-index-not-concurrently",
        fmt::format("{} without CONCURRENTLY blocks every write to the table for the whole index "
                    "build; use CREATE INDEX CONCURRENTLY, alone in a migration file whose first "
                    "line is `-- freshet:no-transaction`",
                    what));
    NeedLockTimeout(what, "a SHARE lock on the table");
  }

  void CheckReindex(const json& body) {
    if (HasOption(Get(body, "params"), "concurrently")) {
      if (!file_.no_transaction)
        Add("concurrently-in-transaction",
            fmt::format("REINDEX CONCURRENTLY cannot run inside a transaction block, and freshet "
                        "applies each migration file in one transaction; {}",
                        kNoTransactionHint));
      return;
    }
    const json& relation = Get(body, "relation");
    if (!relation.is_null() && (IsNew(relation) || created_indexes_.count(Key(relation)))) return;
    NeedLockTimeout("REINDEX",
                    "a SHARE lock on the table and ACCESS EXCLUSIVE locks on its indexes");
  }

  void CheckRename(const json& body) {
    std::string type = Str(body, "renameType");
    bool column = type == "OBJECT_COLUMN" && Str(body, "relationType") == "OBJECT_TABLE";
    if (type != "OBJECT_TABLE" && !column) return;
    const json& relation = Get(body, "relation");
    if (IsNew(relation)) {
      if (!column) {  // follow the new table under its new name
        std::string key = Key(relation);
        std::string renamed = key.substr(0, key.find('.') + 1) + Str(body, "newname");
        created_.insert(renamed);
        auto pending = rls_pending_.find(key);
        if (pending != rls_pending_.end()) {
          rls_pending_.emplace(renamed, pending->second);
          rls_pending_.erase(pending);
        }
      }
      return;
    }
    std::string what = column
                           ? fmt::format("column {}.{} to {}", Display(relation),
                                         Str(body, "subname"), Str(body, "newname"))
                           : fmt::format("table {} to {}", Display(relation), Str(body, "newname"));
    Add("rename",
        fmt::format("Renaming {} breaks every deployed client, query and Data API call still "
                    "using the old name the moment the migration commits; add the new name "
                    "alongside the old one (a new column kept in sync, or a view), move the code "
                    "over, then remove the old name in a later migration",
                    what));
    NeedLockTimeout("ALTER TABLE " + Display(relation) + " RENAME", kAccessExclusive);
  }

  // Rules that look inside the whole statement (CTEs, subqueries).
  void CheckNested(const json& tree) {
    bool cascade = false;
    Walk(tree, [&](const std::string& type, const json& body) {
      if (Str(body, "behavior") == "DROP_CASCADE") cascade = true;
      if ((type == "DeleteStmt" || type == "UpdateStmt") && Get(body, "whereClause").is_null()) {
        const json& relation = Get(body, "relation");
        if (IsNew(relation)) return;
        bool is_delete = type == "DeleteStmt";
        Add(is_delete ? "delete-without-where" : "update-without-where",
            is_delete
                ? fmt::format("DELETE FROM {} without WHERE deletes every row of the table; add "
                              "a WHERE clause that selects only the rows to remove (or TRUNCATE "
                              "deliberately, with an ignore comment)",
                              Display(relation))
                : fmt::format("UPDATE {} without WHERE rewrites every row of the table in one "
                              "transaction, locking them all and bloating the table; add a "
                              "WHERE clause, and backfill large tables in batches",
                              Display(relation)));
      }
      if (type == "FuncCall" && JoinNames(Get(body, "funcname")) == "set_config") {
        const json& args = Get(body, "args");
        if (args.is_array() && args.size() >= 2 &&
            Str(Get(Get(args[0], "A_Const"), "sval"), "sval") == "lock_timeout")
          lock_timeout_ = !IsZero(Get(args[1], "A_Const"));
      }
    });
    if (cascade)
      Add("cascade",
          "CASCADE also drops or empties every object that depends on the target (views, "
          "foreign keys, policies, other tables' rows), none of which the migration names; drop "
          "or change the dependent objects explicitly and leave CASCADE out");
  }

  const MigrationFile& file_;
  const std::vector<Statement>& statements_;
  const std::vector<json>& trees_;
  const LintOptions& options_;
  std::vector<StatementFinding> findings_;
  size_t current_ = 0;
  std::set<std::string> created_;                   // tables created in this file, "schema.name"
  std::set<std::string> created_indexes_;           // indexes created in this file, "schema.name"
  std::map<std::string, NewApiTable> rls_pending_;  // by key; erased once RLS is enabled
  bool lock_timeout_ = false;
  std::set<size_t> lock_timeout_reported_;
};

}  // namespace

std::vector<StatementFinding> CheckFile(const MigrationFile& file,
                                        const std::vector<Statement>& statements,
                                        const std::vector<nlohmann::json>& trees,
                                        const LintOptions& options) {
  return FileChecker(file, statements, trees, options).Run();
}

}  // namespace freshet::lint_internal
