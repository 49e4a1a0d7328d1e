// Rules about changing existing tables: ALTER TABLE subcommands (column
// drops, type changes, NOT NULL, added columns and their defaults and inline
// constraints, added and validated constraints) and renames.
#include <fmt/format.h>

#include <set>

#include "apply/lint_context.h"
#include "apply/lint_tree.h"
#include "apply/lint_volatility.h"

namespace freshet::lint_internal {
namespace {

using nlohmann::json;

constexpr const char* kAccessExclusive = "an ACCESS EXCLUSIVE lock on the table";

bool IsSerial(const json& column) {
  static const std::set<std::string> kSerial = {"serial",  "serial4",     "bigserial",
                                                "serial8", "smallserial", "serial2"};
  return kSerial.count(JoinNames(Get(Get(column, "typeName"), "names"))) > 0;
}

void CheckNotNullWithoutDefault(FileContext& context, const std::string& table,
                                const json& column) {
  bool not_null = false, filled = IsSerial(column);
  for (const auto& entry : Items(Get(column, "constraints"))) {
    const json& constraint = Get(entry, "Constraint");
    std::string type = Str(constraint, "contype");
    not_null = not_null || type == "CONSTR_NOTNULL" || type == "CONSTR_PRIMARY";
    bool null_default = Flag(Get(Get(constraint, "raw_expr"), "A_Const"), "isnull");
    filled = filled || (type == "CONSTR_DEFAULT" && !null_default) || type == "CONSTR_IDENTITY" ||
             type == "CONSTR_GENERATED";
  }
  if (!not_null || filled) return;
  context.Add("add-column-not-null-without-default",
              fmt::format("ADD COLUMN {}.{} NOT NULL without a DEFAULT fails as soon as the table "
                          "has rows, and deployed code that inserts without the column breaks; "
                          "give it a DEFAULT (a constant default is instant since PostgreSQL 11), "
                          "or add it nullable, backfill it, then make it NOT NULL",
                          table, Str(column, "colname")));
}

// Why filling the new column rewrites the table, or "" when it does not.
std::string RewriteReason(const json& column, bool* certain) {
  *certain = true;
  if (IsSerial(column))
    return fmt::format("its {} type fills every row from a sequence (nextval() is volatile)",
                       JoinNames(Get(Get(column, "typeName"), "names")));
  std::string reason;
  for (const auto& entry : Items(Get(column, "constraints"))) {
    const json& constraint = Get(entry, "Constraint");
    std::string type = Str(constraint, "contype");
    if (type == "CONSTR_GENERATED")
      return "a GENERATED ... STORED column is computed and written for every row";
    if (type == "CONSTR_IDENTITY")
      return "an identity column fills every row from its sequence (nextval() is volatile)";
    if (type != "CONSTR_DEFAULT") continue;
    DefaultVerdict verdict = ClassifyDefault(Get(constraint, "raw_expr"));
    if (verdict.cost == DefaultCost::kRewrite)
      return fmt::format(
          "its DEFAULT calls {}(), which is volatile, so it is evaluated for "
          "every row",
          verdict.function);
    if (verdict.cost == DefaultCost::kPossiblyRewrites) {
      *certain = false;
      reason = fmt::format(
          "its DEFAULT calls {}(), which freshet cannot tell is stable; if that "
          "function is VOLATILE it is evaluated for every row",
          verdict.function);
    }
  }
  return reason;
}

void CheckRewritingColumn(FileContext& context, const std::string& table, const json& column) {
  bool certain = true;
  std::string reason = RewriteReason(column, &certain);
  if (reason.empty()) return;
  context.Add(
      "adding-field-with-default",
      fmt::format("ADD COLUMN {}.{} {} the whole table under an ACCESS EXCLUSIVE lock, "
                  "blocking reads and writes for as long as that takes: {}; add the column "
                  "without it (nullable, or with a constant default), backfill in "
                  "batches, then SET DEFAULT for new rows{}",
                  table, Str(column, "colname"), certain ? "rewrites" : "may rewrite", reason,
                  certain ? "" : " (or ignore this if the function is STABLE/IMMUTABLE)"));
}

void CheckInlineConstraints(FileContext& context, const std::string& table, const json& column) {
  std::string name = table + "." + Str(column, "colname");
  for (const auto& entry : Items(Get(column, "constraints"))) {
    const json& constraint = Get(entry, "Constraint");
    std::string type = Str(constraint, "contype");
    if (type == "CONSTR_FOREIGN")
      context.Add(
          "adding-foreign-key-constraint",
          fmt::format("ADD COLUMN {} REFERENCES {} adds a foreign key that cannot be NOT VALID: "
                      "it is validated at once, holding a SHARE ROW EXCLUSIVE lock on {} (and "
                      "the ADD COLUMN's ACCESS EXCLUSIVE lock on {}); add the column alone, then "
                      "`ALTER TABLE {} ADD CONSTRAINT ... FOREIGN KEY ({}) REFERENCES {} NOT "
                      "VALID` and VALIDATE it in a later migration",
                      name, Display(Get(constraint, "pktable")),
                      Display(Get(constraint, "pktable")), table, table, Str(column, "colname"),
                      Display(Get(constraint, "pktable"))));
    if (type == "CONSTR_CHECK")
      context.Add("adding-check-constraint",
                  fmt::format("ADD COLUMN {} with an inline CHECK cannot be NOT VALID: every row "
                              "is checked while the ADD COLUMN's ACCESS EXCLUSIVE lock blocks "
                              "reads and writes; add the column alone, then `ALTER TABLE {} ADD "
                              "CONSTRAINT ... CHECK (...) NOT VALID` and VALIDATE it in a later "
                              "migration",
                              name, table));
  }
}

void CheckAddConstraint(FileContext& context, const json& relation, const json& constraint) {
  std::string table = Display(relation);
  std::string type = Str(constraint, "contype");
  std::string name = Str(constraint, "conname");
  if (Flag(constraint, "skip_validation")) {
    if (!name.empty()) context.not_valid_added[Key(relation) + "." + name] = context.current;
    return;
  }
  if (type != "CONSTR_FOREIGN" && type != "CONSTR_CHECK") return;
  context.Add("constraint-not-valid",
              fmt::format("ADD CONSTRAINT {}{} on {} checks every existing row while holding a "
                          "lock that blocks writes{}; add it with NOT VALID (new rows are still "
                          "checked), then run `ALTER TABLE {} VALIDATE CONSTRAINT {}` in a later "
                          "migration, which takes a weaker lock",
                          name.empty() ? "" : name + " ",
                          type == "CONSTR_FOREIGN" ? "(FOREIGN KEY)" : "(CHECK)", table,
                          type == "CONSTR_FOREIGN" ? " on both tables" : "", table,
                          name.empty() ? "<name>" : name));
}

void CheckValidate(FileContext& context, const json& relation, const std::string& name) {
  auto added = context.not_valid_added.find(Key(relation) + "." + name);
  if (added == context.not_valid_added.end()) return;
  context.Add("validate-in-same-transaction",
              fmt::format("VALIDATE CONSTRAINT {} on {} runs in the same transaction as the ADD "
                          "CONSTRAINT ... NOT VALID at line {} of this file, so the lock that ADD "
                          "took is held through the whole validation scan and NOT VALID gains "
                          "nothing; move the VALIDATE to a later migration",
                          name, Display(relation), context.statements[added->second].line));
}

void CheckColumnCommand(FileContext& context, const json& relation, const json& cmd) {
  std::string table = Display(relation);
  std::string subtype = Str(cmd, "subtype");
  std::string column = table + "." + Str(cmd, "name");
  if (subtype == "AT_DropColumn") {
    context.Add("drop-column",
                fmt::format("DROP COLUMN {} removes data immediately and breaks code still "
                            "reading the column; deploy code that stops using it first, then "
                            "drop it in a later migration",
                            column));
  } else if (subtype == "AT_AlterColumnType") {
    context.Add("alter-column-type",
                fmt::format("ALTER COLUMN {} TYPE usually rewrites the whole table and its "
                            "indexes under an ACCESS EXCLUSIVE lock (blocking reads and writes) "
                            "and can break code expecting the old type; add a new column, "
                            "backfill it in batches and switch the code over instead (a change "
                            "known to need no rewrite, such as varchar(n) to text, can be "
                            "ignored)",
                            column));
  } else if (subtype == "AT_SetNotNull") {
    context.Add("set-not-null",
                fmt::format("SET NOT NULL on {} scans the whole table under an ACCESS EXCLUSIVE "
                            "lock; instead add `CHECK ({} IS NOT NULL) NOT VALID`, VALIDATE it in "
                            "a later migration, then SET NOT NULL (PostgreSQL 12+ then skips the "
                            "scan) and drop the check",
                            column, Str(cmd, "name")));
  } else if (subtype == "AT_AddColumn") {
    const json& definition = Get(Get(cmd, "def"), "ColumnDef");
    CheckNotNullWithoutDefault(context, table, definition);
    CheckRewritingColumn(context, table, definition);
    CheckInlineConstraints(context, table, definition);
  } else if (subtype == "AT_AddConstraint") {
    CheckAddConstraint(context, relation, Get(Get(cmd, "def"), "Constraint"));
  } else if (subtype == "AT_ValidateConstraint") {
    CheckValidate(context, relation, Str(cmd, "name"));
  }
}

void CheckRename(FileContext& context, const json& body) {
  std::string type = Str(body, "renameType");
  bool column = type == "OBJECT_COLUMN" && Str(body, "relationType") == "OBJECT_TABLE";
  if (type != "OBJECT_TABLE" && !column) return;
  const json& relation = Get(body, "relation");
  if (context.IsNew(relation)) return;
  std::string what = column
                         ? fmt::format("column {}.{} to {}", Display(relation),
                                       Str(body, "subname"), Str(body, "newname"))
                         : fmt::format("table {} to {}", Display(relation), Str(body, "newname"));
  context.Add("rename",
              fmt::format("Renaming {} breaks every deployed client, query and Data API call "
                          "still using the old name the moment the migration commits; add the new "
                          "name alongside the old one (a new column kept in sync, or a view), "
                          "move the code over, then remove the old name in a later migration",
                          what));
  NeedLockTimeout(context, "ALTER TABLE " + Display(relation) + " RENAME", kAccessExclusive);
}

}  // namespace

void CheckTableChanges(FileContext& context, const std::string& type, const json& body) {
  if (type == "RenameStmt") return CheckRename(context, body);
  if (type != "AlterTableStmt" || Str(body, "objtype") != "OBJECT_TABLE") return;
  const json& relation = Get(body, "relation");
  if (context.IsNew(relation)) return;
  for (const auto& entry : Items(Get(body, "cmds")))
    CheckColumnCommand(context, relation, Get(entry, "AlterTableCmd"));
  NeedLockTimeout(context, "ALTER TABLE " + Display(relation),
                  "an ACCESS EXCLUSIVE lock on the table (for most subcommands)");
}

}  // namespace freshet::lint_internal
