#include "sync/journal.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "sync/parallel.h"
#include "sync/source_snapshot.h"
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
  int64_t id = 0;
  std::string kind;
  QualifiedName table;
  std::string object;
  std::string definition;
  bool validate = false;
  char enabled = 'O';
  std::string constraint_name;
  std::string constraint_definition;
  bool clustered = false;
  int64_t bytes = 0;

  std::string Describe() const {
    return fmt::format("{} {} on {}", kind == "foreign_key" ? "foreign key" : kind, object,
                       table.Display());
  }
};

std::vector<Entry> ReadEntries(Connection& target) {
  std::vector<Entry> entries;
  Result rows = target.Exec(sql::kJournalEntries);
  for (int row = 0; row < rows.Rows(); ++row) {
    Entry entry;
    entry.id = rows.GetInt(row, 0);
    entry.kind = rows.Get(row, 2);
    entry.table = {rows.Get(row, 3), rows.Get(row, 4)};
    entry.object = rows.Get(row, 5);
    entry.definition = rows.GetOptional(row, 6).value_or("");
    entry.validate = rows.GetBool(row, 7);
    entry.enabled = rows.IsNull(row, 8) ? 'O' : rows.Text(row, 8).front();
    entry.constraint_name = rows.GetOptional(row, 9).value_or("");
    entry.constraint_definition = rows.GetOptional(row, 10).value_or("");
    entry.clustered = rows.GetBool(row, 11);
    entry.bytes = rows.GetInt(row, 12);
    entries.push_back(std::move(entry));
  }
  return entries;
}

// relkind of the entry's table, empty when the table no longer exists.
std::string RelationKind(Connection& target, const Entry& entry) {
  Result kind = target.Exec(sql::kRelationKind, {entry.table.schema, entry.table.name});
  return kind.Rows() ? kind.Get(0, 0) : "";
}

void DeleteEntries(Connection& target, const std::vector<int64_t>& ids) {
  if (!ids.empty())
    target.Exec(fmt::format("DELETE FROM _freshet.journal WHERE id IN ({})", fmt::join(ids, ", ")));
}

// Rebuilds one index (or its constraint) unless it already exists.
void RestoreIndex(Connection& target, const Entry& entry) {
  Params object{entry.table.schema, entry.table.name,
                entry.constraint_name.empty() ? entry.object : entry.constraint_name};
  if (!entry.constraint_name.empty()) {
    if (!target.Exec(sql::kConstraintExists, object).GetBool(0, 0))
      target.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", entry.table.Quoted(),
                              QuoteIdent(entry.constraint_name), entry.constraint_definition));
  } else if (target
                 .Exec("SELECT pg_catalog.to_regclass($1) IS NULL",
                       {QuoteIdent(entry.table.schema) + "." + QuoteIdent(entry.object)})
                 .GetBool(0, 0)) {
    target.Exec(entry.definition);
  }
  if (entry.clustered)
    target.Exec(fmt::format("ALTER TABLE {} CLUSTER ON {}", entry.table.Quoted(),
                            QuoteIdent(entry.object)));
}

// Fault-injection hook for the integration test that kills a sync during the
// rebuild: FRESHET_TEST_REBUILD_DELAY_MS sleeps before each index. Unset in use.
void RebuildDelay() {
  if (const char* value = std::getenv("FRESHET_TEST_REBUILD_DELAY_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(value)));
}

}  // namespace

void Journal::Ensure() {
  if (JournalExists(target_)) {
    bool current = target_
                       .Exec(
                           "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid "
                           "= '_freshet.journal'::pg_catalog.regclass AND attname = 'bytes')")
                       .GetBool(0, 0);
    if (!current) target_.Exec(sql::kJournalUpgrade);
    return;
  }
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

void Journal::DropIndex(const DeferredIndex& index) {
  target_.Exec(
      "INSERT INTO _freshet.journal (run_id, kind, table_schema, table_name, object_name, "
      "definition, constraint_name, constraint_definition, clustered, bytes) "
      "VALUES ($1, 'index', $2, $3, $4, $5, $6, $7, $8, $9)",
      {run_id_, index.table.schema, index.table.name, index.name, index.definition,
       index.constraint_name.empty() ? std::nullopt : std::optional(index.constraint_name),
       index.constraint_name.empty() ? std::nullopt : std::optional(index.constraint_definition),
       index.clustered ? "true" : "false", std::to_string(index.bytes)});
  if (index.constraint_name.empty())
    target_.Exec(
        fmt::format("DROP INDEX {}.{}", QuoteIdent(index.table.schema), QuoteIdent(index.name)));
  else
    target_.Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", index.table.Quoted(),
                             QuoteIdent(index.constraint_name)));
}

std::vector<std::pair<QualifiedName, std::string>> Journal::PendingValidations() {
  std::vector<std::pair<QualifiedName, std::string>> out;
  if (!JournalExists(target_)) return out;
  Result rows = target_.Exec(
      "SELECT table_schema, table_name, object_name FROM _freshet.journal WHERE kind = 'validate'");
  for (int row = 0; row < rows.Rows(); ++row)
    out.push_back({{rows.Get(row, 0), rows.Get(row, 1)}, rows.Get(row, 2)});
  return out;
}

RestoreOutcome Journal::Restore(const std::string& target_url, int jobs) {
  RestoreOutcome outcome;
  if (!JournalExists(target_)) return outcome;
  std::vector<Entry> entries = ReadEntries(target_);
  auto open = [&] {
    Connection connection = Connection::Open(target_url, "target");
    PinSyncSettings(connection);
    connection.Exec("SET maintenance_work_mem = '256MB'");
    return connection;
  };

  // 1. Indexes and key constraints, largest first, in parallel. Foreign keys
  //    come after: they need the referenced keys back.
  std::vector<Entry> indexes;
  for (const auto& entry : entries)
    if (entry.kind == "index") indexes.push_back(entry);
  std::stable_sort(indexes.begin(), indexes.end(),
                   [](const Entry& a, const Entry& b) { return a.bytes > b.bytes; });
  auto index_errors = ParallelFor(indexes.size(), jobs, open, [&](Connection& target, size_t i) {
    RebuildDelay();
    InTransaction(target, [&] {
      if (!RelationKind(target, indexes[i]).empty()) RestoreIndex(target, indexes[i]);
      DeleteEntries(target, {indexes[i].id});
    });
  });
  for (size_t i = 0; i < indexes.size(); ++i) {
    if (index_errors[i])
      outcome.problems.push_back(
          fmt::format("could not rebuild {} (kept in the journal for the "
                      "next run): {}",
                      indexes[i].Describe(), ExceptionMessage(index_errors[i])));
    else
      outcome.restored.push_back(indexes[i].Describe() + " rebuilt");
  }

  // 2. Foreign keys (NOT VALID: instant) and triggers, in one transaction.
  std::vector<Entry> to_validate;
  InTransaction(target_, [&] {
    std::vector<int64_t> done;
    for (const auto& entry : entries) {
      if (entry.kind == "index") continue;
      if (entry.kind == "validate") {
        to_validate.push_back(entry);  // its row goes when validation succeeds
        continue;
      }
      std::string kind = RelationKind(target_, entry);
      if (kind.empty()) {
        outcome.problems.push_back(entry.Describe() +
                                   ": the table no longer exists; journal "
                                   "entry dropped");
        done.push_back(entry.id);
        continue;
      }
      target_.Exec("SAVEPOINT freshet_restore");
      try {
        Params object{entry.table.schema, entry.table.name, entry.object};
        if (entry.kind == "foreign_key") {
          if (!target_.Exec(sql::kConstraintExists, object).GetBool(0, 0)) {
            // PostgreSQL 15 refuses NOT VALID foreign keys on partitioned tables.
            bool partitioned = kind == "p";
            target_.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}{}", entry.table.Quoted(),
                                     QuoteIdent(entry.object), WithoutNotValid(entry.definition),
                                     partitioned ? "" : " NOT VALID"));
            if (entry.validate && !partitioned) to_validate.push_back(entry);
          }
          outcome.restored.push_back(entry.Describe() + " re-added");
        } else if (target_.Exec(sql::kTriggerExists, object).GetBool(0, 0)) {
          target_.Exec(fmt::format("ALTER TABLE {} {} {}", entry.table.Quoted(),
                                   EnableClause(entry.enabled), QuoteIdent(entry.object)));
          outcome.restored.push_back(entry.Describe() + " re-enabled");
        }
        target_.Exec("RELEASE SAVEPOINT freshet_restore");
        done.push_back(entry.id);
      } catch (const Error& error) {
        target_.Exec("ROLLBACK TO SAVEPOINT freshet_restore");
        outcome.problems.push_back(
            fmt::format("could not restore {} (kept in the journal for the next run): {}",
                        entry.Describe(), error.what()));
      }
    }
    DeleteEntries(target_, done);
  });

  // 3. Validation scans the tables: in parallel, largest tables first is not
  //    known here, so journal order.
  auto validate_errors =
      ParallelFor(to_validate.size(), jobs, open, [&](Connection& target, size_t i) {
        const Entry& entry = to_validate[i];
        if (RelationKind(target, entry).empty()) {
          DeleteEntries(target, {entry.id});
          return;
        }
        target.Exec(fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", entry.table.Quoted(),
                                QuoteIdent(entry.object)));
        if (entry.kind == "validate") DeleteEntries(target, {entry.id});
      });
  for (size_t i = 0; i < to_validate.size(); ++i) {
    const Entry& entry = to_validate[i];
    if (!validate_errors[i]) continue;
    outcome.problems.push_back(
        fmt::format("foreign key {} on {} is back but NOT VALID (to be "
                    "validated by the next run): {}",
                    entry.object, entry.table.Display(), ExceptionMessage(validate_errors[i])));
    if (entry.kind != "validate")
      target_.Exec(
          "INSERT INTO _freshet.journal (run_id, kind, table_schema, table_name, object_name) "
          "VALUES ($1, 'validate', $2, $3, $4)",
          {run_id_, entry.table.schema, entry.table.name, entry.object});
  }
  return outcome;
}

}  // namespace freshet
