// Rules about statements that lose data: DROP TABLE/SCHEMA/DATABASE,
// TRUNCATE, CASCADE, and DELETE/UPDATE without WHERE anywhere in a statement.
#include <fmt/format.h>

#include "apply/lint_context.h"
#include "apply/lint_tree.h"

namespace freshet::lint_internal {
namespace {

using nlohmann::json;

constexpr const char* kAccessExclusive = "an ACCESS EXCLUSIVE lock on the table";

void CheckDropTable(FileContext& context, const json& objects) {
  std::vector<std::string> names;
  for (const auto& object : Items(objects)) {
    if (context.created_tables.count(KeyOfNameList(object))) continue;
    names.push_back(JoinNames(Get(Get(object, "List"), "items")));
  }
  if (names.empty()) return;
  context.Add(
      "drop-table",
      fmt::format("DROP TABLE {} deletes the table and every row in it irreversibly and breaks "
                  "code still using it; first deploy code that no longer uses the table (and "
                  "back up the data if it may be needed), then drop it in a later migration",
                  fmt::join(names, ", ")));
  NeedLockTimeout(context, "DROP TABLE", kAccessExclusive);
}

void CheckDropSchema(FileContext& context, const json& objects) {
  std::vector<std::string> names;
  for (const auto& object : Items(objects)) names.push_back(Str(Get(object, "String"), "sval"));
  context.Add(
      "drop-schema",
      fmt::format("DROP SCHEMA {} deletes the schema (with CASCADE, every table, function and "
                  "row in it) and breaks code still using it; move or drop its objects "
                  "explicitly in earlier migrations, after the code stopped using them",
                  fmt::join(names, ", ")));
}

void CheckTruncate(FileContext& context, const json& body) {
  std::vector<std::string> names;
  for (const auto& relation : Items(Get(body, "relations"))) {
    const json& range_var = Get(relation, "RangeVar");
    if (!context.IsNew(range_var)) names.push_back(Display(range_var));
  }
  if (names.empty()) return;
  context.Add("truncate",
              fmt::format("TRUNCATE {} deletes every row of the table at once, with no WHERE and "
                          "no undo once committed; delete only the rows that must go with DELETE "
                          "... WHERE, or back the data up before emptying the table",
                          fmt::join(names, ", ")));
  NeedLockTimeout(context, "TRUNCATE", kAccessExclusive);
}

}  // namespace

void CheckDataLoss(FileContext& context, const std::string& type, const json& body) {
  if (type == "DropStmt") {
    std::string removed = Str(body, "removeType");
    if (removed == "OBJECT_TABLE") CheckDropTable(context, Get(body, "objects"));
    if (removed == "OBJECT_SCHEMA") CheckDropSchema(context, Get(body, "objects"));
  } else if (type == "DropdbStmt") {
    context.Add("drop-database",
                fmt::format("DROP DATABASE {} deletes a whole database and everything in it, and "
                            "cannot run inside a migration's transaction anyway; drop databases "
                            "by hand, outside the migration history",
                            Str(body, "dbname")));
  } else if (type == "TruncateStmt") {
    CheckTruncate(context, body);
  }
}

void CheckDataLossNested(FileContext& context, const json& tree) {
  bool cascade = false;
  Walk(tree, [&](const std::string& type, const json& body) {
    if (Str(body, "behavior") == "DROP_CASCADE") cascade = true;
    if ((type != "DeleteStmt" && type != "UpdateStmt") || !Get(body, "whereClause").is_null())
      return;
    const json& relation = Get(body, "relation");
    if (context.IsNew(relation)) return;
    if (type == "DeleteStmt")
      context.Add("delete-without-where",
                  fmt::format("DELETE FROM {} without WHERE deletes every row of the table; add "
                              "a WHERE clause that selects only the rows to remove (or TRUNCATE "
                              "deliberately, with an ignore comment)",
                              Display(relation)));
    else
      context.Add("update-without-where",
                  fmt::format("UPDATE {} without WHERE rewrites every row of the table in one "
                              "transaction, locking them all and bloating the table; add a "
                              "WHERE clause, and backfill large tables in batches",
                              Display(relation)));
  });
  if (cascade)
    context.Add("cascade",
                "CASCADE also drops or empties every object that depends on the target (views, "
                "foreign keys, policies, other tables' rows), none of which the migration names; "
                "drop or change the dependent objects explicitly and leave CASCADE out");
}

}  // namespace freshet::lint_internal
