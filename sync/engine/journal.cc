#include "sync/engine/journal.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "sync/engine/parallel.h"
#include "sync/engine/restore_tasks.h"
#include "sync/engine/source_snapshot.h"
#include "sync_sql.h"

namespace freshet {
namespace {

bool RestoredFilesExist(Connection& target) {
  return !target.Exec("SELECT pg_catalog.to_regclass('_freshet.restored_files')").IsNull(0, 0);
}

bool JournalExists(Connection& target) {
  return !target.Exec("SELECT pg_catalog.to_regclass('_freshet.journal')").IsNull(0, 0);
}

std::string PartitionIndexesJson(const std::vector<PartitionIndex>& partitions) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& leaf : partitions)
    list.push_back({{"schema", leaf.table.schema},
                    {"table", leaf.table.name},
                    {"name", leaf.name},
                    {"definition", leaf.definition},
                    {"constraint_name", leaf.constraint_name},
                    {"constraint_definition", leaf.constraint_definition}});
  return list.dump();
}

std::vector<PartitionIndex> ParsePartitionIndexes(const std::string& text) {
  std::vector<PartitionIndex> out;
  nlohmann::json list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return out;  // unreadable: the parent index builds them itself
  for (const auto& leaf : list) {
    if (!leaf.is_object()) return {};
    out.push_back({{leaf.value("schema", ""), leaf.value("table", "")},
                   leaf.value("name", ""),
                   leaf.value("definition", ""),
                   leaf.value("constraint_name", ""),
                   leaf.value("constraint_definition", "")});
  }
  return out;
}

}  // namespace

std::string JournalEntry::Describe() const {
  if (kind == "row_security") return fmt::format("FORCE ROW LEVEL SECURITY on {}", table.Display());
  return fmt::format("{} {} on {}", kind == "index" || kind == "trigger" ? kind : "foreign key",
                     object, table.Display());
}

void Journal::Ensure() {
  if (JournalExists(target_)) {
    bool current =
        target_
            .Exec(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid "
                "= '_freshet.journal'::pg_catalog.regclass AND conname = 'journal_kind_check' "
                "AND pg_catalog.pg_get_constraintdef(oid) LIKE '%row_security%') AND "
                "pg_catalog.to_regclass('_freshet.restored_files') IS NOT NULL")
            .GetBool(0, 0);
    if (!current) {
      target_.Exec(sql::kJournalUpgrade);
      target_.Exec(sql::kRestoredFilesCreate);
    }
    return;
  }
  try {
    target_.Exec(sql::kJournalCreate);
    target_.Exec(sql::kRestoredFilesCreate);
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

void Journal::RecordConstraint(const DeferredConstraint& constraint) {
  target_.Exec(
      "INSERT INTO _freshet.journal (run_id, kind, table_schema, table_name, object_name, "
      "definition, validate, referenced_schema, referenced_name) "
      "VALUES ($1, 'foreign_key', $2, $3, $4, $5, $6, $7, $8)",
      {run_id_, constraint.table.schema, constraint.table.name, constraint.name,
       constraint.definition, constraint.validate ? "true" : "false", constraint.referenced.schema,
       constraint.referenced.name});
}

void Journal::RecordTrigger(const TriggerToDisable& trigger) {
  target_.Exec(
      "INSERT INTO _freshet.journal (run_id, kind, table_schema, table_name, object_name, "
      "trigger_enabled) VALUES ($1, 'trigger', $2, $3, $4, $5)",
      {run_id_, trigger.table.schema, trigger.table.name, trigger.name,
       std::string(1, trigger.enabled)});
}

void Journal::RecordForceRowSecurity(const QualifiedName& table) {
  target_.Exec(
      "INSERT INTO _freshet.journal (run_id, kind, table_schema, table_name, object_name) "
      "VALUES ($1, 'row_security', $2, $3, 'force')",
      {run_id_, table.schema, table.name});
}

void Journal::RecordIndex(const DeferredIndex& index) {
  target_.Exec(
      "INSERT INTO _freshet.journal (run_id, kind, table_schema, table_name, object_name, "
      "definition, constraint_name, constraint_definition, clustered, bytes, partition_indexes) "
      "VALUES ($1, 'index', $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)",
      {run_id_, index.table.schema, index.table.name, index.name, index.definition,
       index.constraint_name.empty() ? std::nullopt : std::optional(index.constraint_name),
       index.constraint_name.empty() ? std::nullopt : std::optional(index.constraint_definition),
       index.clustered ? "true" : "false", std::to_string(index.bytes),
       index.partitions.empty() ? std::nullopt
                                : std::optional(PartitionIndexesJson(index.partitions))});
}

bool Journal::HasSetAsideEntries() {
  if (!JournalExists(target_)) return false;
  return target_.Exec("SELECT EXISTS (SELECT 1 FROM _freshet.journal WHERE kind <> 'validate')")
      .GetBool(0, 0);
}

std::map<std::string, std::string> Journal::RestoredFiles(const std::string& snapshot) {
  std::map<std::string, std::string> files;
  if (!RestoredFilesExist(target_)) return files;
  Result rows = target_.Exec(
      "SELECT path, row_digest FROM _freshet.restored_files WHERE snapshot = $1", {snapshot});
  for (int row = 0; row < rows.Rows(); ++row) files[rows.Get(row, 0)] = rows.Get(row, 1);
  return files;
}

void Journal::ClearRestoredFiles() {
  if (!RestoredFilesExist(target_)) return;
  target_.Exec("DELETE FROM _freshet.restored_files");
}

void RecordRestoredFile(Connection& target, const std::string& snapshot, const std::string& path,
                        const std::string& row_digest) {
  target.Exec(
      "INSERT INTO _freshet.restored_files (snapshot, path, row_digest) VALUES ($1, $2, $3) "
      "ON CONFLICT (snapshot, path) DO UPDATE SET row_digest = EXCLUDED.row_digest, "
      "recorded_at = now()",
      {snapshot, path, row_digest});
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

std::vector<JournalEntry> Journal::Entries() {
  std::vector<JournalEntry> entries;
  if (!JournalExists(target_)) return entries;
  Result rows = target_.Exec(sql::kJournalEntries);
  for (int row = 0; row < rows.Rows(); ++row) {
    JournalEntry entry;
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
    if (!rows.IsNull(row, 13) && !rows.IsNull(row, 14))
      entry.referenced = QualifiedName{rows.Get(row, 13), rows.Get(row, 14)};
    if (!rows.IsNull(row, 15)) entry.partitions = ParsePartitionIndexes(rows.Get(row, 15));
    entries.push_back(std::move(entry));
  }
  return entries;
}

RestoreOutcome Journal::Restore(const std::string& target_url, int jobs) {
  RestoreOutcome outcome;
  if (!JournalExists(target_)) return outcome;
  RestoreTasks tasks(Entries(), target_);
  TaskGraph graph;
  tasks.AddTo(graph, {});
  try {
    return tasks.Outcome(
        graph.Run(jobs, {}, [&](size_t) { return OpenRebuildTarget(target_url); }, {}));
  } catch (const Error& error) {
    outcome.problems.push_back(
        fmt::format("could not restore the journal (kept for the next run): {}", error.what()));
  }
  return outcome;
}

Connection OpenRebuildTarget(const std::string& target_url) {
  Connection connection = Connection::Open(target_url, "target");
  PinSyncSettings(connection);
  connection.Exec("SET application_name = 'freshet worker'");
  connection.Exec("SET maintenance_work_mem = '256MB'");
  connection.Exec("SET synchronous_commit = off");
  return connection;
}

}  // namespace freshet
