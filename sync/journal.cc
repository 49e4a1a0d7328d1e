#include "sync/journal.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "sync_sql.h"

namespace freshet {
namespace {

bool JournalExists(Connection& target) {
  return !target.Exec("SELECT pg_catalog.to_regclass('_freshet.journal')").IsNull(0, 0);
}

// pg_get_constraintdef ends with " NOT VALID" for constraints never validated.
std::string WithoutNotValid(std::string definition) {
  constexpr std::string_view kSuffix = " NOT VALID";
  if (definition.size() >= kSuffix.size() &&
      definition.compare(definition.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0)
    definition.resize(definition.size() - kSuffix.size());
  return definition;
}

std::string EnableClause(char enabled) {
  switch (enabled) {
    case 'A':
      return "ENABLE ALWAYS TRIGGER";
    case 'R':
      return "ENABLE REPLICA TRIGGER";
    default:
      return "ENABLE TRIGGER";
  }
}

struct Entry {
  int64_t id;
  std::string kind;
  QualifiedName table;
  std::string object;
  std::string definition;
  bool validate;
  char enabled;
};

}  // namespace

void Journal::Ensure() {
  if (JournalExists(target_)) return;
  try {
    target_.Exec(sql::kJournalCreate);
  } catch (const Error& error) {
    throw Error(fmt::format("cannot create freshet's journal (schema _freshet) on the target: the "
                            "role needs CREATE on the database the first time ({})",
                            error.what()),
                error.sqlstate());
  }
}

bool Journal::HasEntries() {
  if (!JournalExists(target_)) return false;
  return target_.Exec("SELECT EXISTS (SELECT 1 FROM _freshet.journal)").GetBool(0, 0);
}

void Journal::DropConstraint(const DeferredConstraint& constraint) {
  target_.Exec(
      "INSERT INTO _freshet.journal (run_id, kind, table_schema, table_name, object_name, "
      "definition, validate) VALUES ($1, 'foreign_key', $2, $3, $4, $5, $6)",
      {run_id_, constraint.table.schema, constraint.table.name, constraint.name,
       constraint.definition, constraint.validate ? "true" : "false"});
  target_.Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", constraint.table.Quoted(),
                           QuoteIdent(constraint.name)));
}

void Journal::DisableTrigger(const TriggerToDisable& trigger) {
  target_.Exec(
      "INSERT INTO _freshet.journal (run_id, kind, table_schema, table_name, object_name, "
      "trigger_enabled) VALUES ($1, 'trigger', $2, $3, $4, $5)",
      {run_id_, trigger.table.schema, trigger.table.name, trigger.name,
       std::string(1, trigger.enabled)});
  target_.Exec(fmt::format("ALTER TABLE {} DISABLE TRIGGER {}", trigger.table.Quoted(),
                           QuoteIdent(trigger.name)));
}

RestoreOutcome Journal::Restore() {
  RestoreOutcome outcome;
  if (!JournalExists(target_)) return outcome;
  std::vector<Entry> to_validate;
  InTransaction(target_, [&] {
    Result rows = target_.Exec(sql::kJournalEntries);
    std::vector<std::string> done_ids;
    for (int row = 0; row < rows.Rows(); ++row) {
      Entry entry{rows.GetInt(row, 0),
                  rows.Get(row, 2),
                  {rows.Get(row, 3), rows.Get(row, 4)},
                  rows.Get(row, 5),
                  rows.IsNull(row, 6) ? std::string() : rows.Get(row, 6),
                  rows.GetBool(row, 7),
                  rows.IsNull(row, 8) ? 'O' : rows.Text(row, 8).front()};
      Params key{entry.table.schema, entry.table.name};
      Result kind = target_.Exec(sql::kRelationKind, key);
      if (kind.Rows() == 0) {
        outcome.problems.push_back(
            fmt::format("{} {} of {}: the table no longer exists; journal entry dropped",
                        entry.kind, entry.object, entry.table.Display()));
        done_ids.push_back(std::to_string(entry.id));
        continue;
      }
      target_.Exec("SAVEPOINT freshet_restore");
      try {
        Params object{entry.table.schema, entry.table.name, entry.object};
        if (entry.kind == "foreign_key") {
          if (!target_.Exec(sql::kConstraintExists, object).GetBool(0, 0)) {
            // PostgreSQL 15 refuses NOT VALID foreign keys on partitioned tables.
            bool partitioned = kind.Text(0, 0) == "p";
            target_.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}{}", entry.table.Quoted(),
                                     QuoteIdent(entry.object), WithoutNotValid(entry.definition),
                                     partitioned ? "" : " NOT VALID"));
            if (entry.validate && !partitioned) to_validate.push_back(entry);
          }
          outcome.restored.push_back(
              fmt::format("foreign key {} on {} re-added", entry.object, entry.table.Display()));
        } else if (target_.Exec(sql::kTriggerExists, object).GetBool(0, 0)) {
          target_.Exec(fmt::format("ALTER TABLE {} {} {}", entry.table.Quoted(),
                                   EnableClause(entry.enabled), QuoteIdent(entry.object)));
          outcome.restored.push_back(
              fmt::format("trigger {} on {} re-enabled", entry.object, entry.table.Display()));
        }
        target_.Exec("RELEASE SAVEPOINT freshet_restore");
        done_ids.push_back(std::to_string(entry.id));
      } catch (const Error& error) {
        target_.Exec("ROLLBACK TO SAVEPOINT freshet_restore");
        outcome.problems.push_back(
            fmt::format("could not restore {} {} on {} (kept in the journal "
                        "for the next run): {}",
                        entry.kind, entry.object, entry.table.Display(), error.what()));
      }
    }
    if (!done_ids.empty())
      target_.Exec(
          fmt::format("DELETE FROM _freshet.journal WHERE id IN ({})", fmt::join(done_ids, ", ")));
  });
  for (const auto& entry : to_validate) {
    try {
      target_.Exec(fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", entry.table.Quoted(),
                               QuoteIdent(entry.object)));
    } catch (const Error& error) {
      outcome.problems.push_back(fmt::format("foreign key {} on {} is back but NOT VALID: {}",
                                             entry.object, entry.table.Display(), error.what()));
    }
  }
  return outcome;
}

}  // namespace freshet
