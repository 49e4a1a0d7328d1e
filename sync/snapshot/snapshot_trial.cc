// SnapshotLoads::TrialLoad: the target's rules checked against the
// snapshot's rows before anything is written (see snapshot_loads.h).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "copy/identifiers.h"
#include "sync/engine/journal.h"
#include "sync/engine/target_rules.h"
#include "sync/snapshot/snapshot_loads.h"

namespace freshet {
namespace {

// Whether `sql` reads the staged table `temp` (its name not followed by a digit).
bool Reads(const std::string& sql, const std::string& temp) {
  for (size_t at = sql.find(temp); at != std::string::npos; at = sql.find(temp, at + 1)) {
    size_t end = at + temp.size();
    if (end == sql.size() || sql[end] < '0' || sql[end] > '9') return true;
  }
  return false;
}

// A failed COPY's message: the server's part on one line, without the values
// it quotes, naming the table instead of its temporary copy.
std::string TrialMessage(const Error& error, const std::string& temp,
                         const QualifiedName& relation) {
  std::string message = error.what();
  if (size_t server = message.find("ERROR:"); server != std::string::npos)
    message = message.substr(server + 6);
  message = WithoutValues(message);
  std::replace(message.begin(), message.end(), '\n', ' ');
  for (size_t at = message.find("  "); at != std::string::npos; at = message.find("  ", at))
    message.erase(at, 1);
  while (!message.empty() && message.front() == ' ') message.erase(0, 1);
  std::string temp_name = temp.substr(temp.find('.') + 1);
  for (size_t at = message.find(temp_name); at != std::string::npos;
       at = message.find(temp_name, at + 1))
    message.replace(at, temp_name.size(), relation.Display());
  return message;
}

void RollBackTo(Connection& connection, const char* savepoint) {
  connection.Exec(fmt::format("ROLLBACK TO SAVEPOINT {}", savepoint));
  connection.Exec(fmt::format("RELEASE SAVEPOINT {}", savepoint));
}

}  // namespace

// The files holding `stage`'s rows: every file of a captured table read with
// its partitions (or not partitioned), or the files of one captured
// partition. False when the rows are not in the snapshot as one relation.
bool SnapshotLoads::FindStageFiles(TrialStage& stage) const {
  for (const auto& table : manifest_.tables) {
    if (table.name == stage.relation) {
      const Table* source = manifest_.catalog.Find(table.name);
      bool partitioned = source && source->kind == TableKind::kPartitioned;
      if (partitioned && !stage.with_partitions) return false;
      stage.snapshot = &table;
      for (const auto& file : table.files) stage.files.push_back(&file);
      return true;
    }
    for (const auto& file : table.files)
      if (file.relation == stage.relation && !stage.with_partitions) {
        stage.snapshot = &table;
        stage.files.push_back(&file);
      }
    if (stage.snapshot) return true;
  }
  return false;
}

// Loads `stage`'s files into its temporary table (columns and types of the
// target's relation, NOT NULL only where the restore writes the column), in
// a savepoint, masked as the load will mask them. A row the target's types
// refuse is a plan error.
void SnapshotLoads::LoadStage(Connection& trial, TargetRun& target, const Catalog& target_catalog,
                              TrialStage& stage, std::stop_token stop) {
  const TableRoute* route = nullptr;
  for (const auto& [name, candidate] : FilesOf(target.index).routes)
    if (candidate.snapshot == stage.snapshot) route = &candidate;
  const Table* relation = target_catalog.Find(stage.relation);
  if (!route || !relation) return;
  const PlannedTable& planned = target.plan.tables[route->plan_index];
  trial.Exec("SAVEPOINT freshet_trial");
  trial.Exec(
      fmt::format("CREATE TEMPORARY TABLE {} (LIKE {})", stage.temp, stage.relation.Quoted()));
  for (const auto& column : relation->columns)
    if (column.not_null && std::find(planned.mapping.columns.begin(), planned.mapping.columns.end(),
                                     column.name) == planned.mapping.columns.end())
      trial.Exec(fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL", stage.temp,
                             QuoteIdent(column.name)));
  std::string sql =
      fmt::format("COPY {}{} FROM STDIN (FORMAT {})", stage.temp, route->column_list,
                  stage.snapshot->format == StreamFormat::kBinary ? "binary" : "text");
  for (const SnapshotFile* file : stage.files) {
    std::vector<RestoreTarget> outs{{&trial, sql}};
    SnapshotFileReader reader = SnapshotFileReader::Open(options_.dir / file->path);
    // Masked as the load will be: the rules see those values, and the
    // originals never reach the target, not even a temporary table.
    std::optional<MaskRows> masker;
    if (!route->masks.empty()) masker.emplace(StreamFormat::kBinary, route->masks);
    RestoreCopy(reader, stage.snapshot->format, route->keep, outs,
                fmt::format("{} ({})", stage.snapshot->name.Display(), file->path), nullptr, stop,
                nullptr, OnTargetFailure::kDropTarget,
                masker ? std::vector<RowTransform*>{&*masker} : std::vector<RowTransform*>{});
    if (outs.front().failure) {
      RollBackTo(trial, "freshet_trial");
      target.plan.errors.push_back(fmt::format(
          "table {}: rows in the snapshot (at least one) do not load into the target's {} ({}): "
          "change the target's schema, capture the snapshot again, or exclude the table",
          planned.name.Display(), stage.relation.Display(),
          TrialMessage(*outs.front().failure, stage.temp, stage.relation)));
      return;
    }
  }
  trial.Exec("RELEASE SAVEPOINT freshet_trial");
  stage.loaded = true;
}

void SnapshotLoads::TrialLoad(TargetRun& target, const Catalog& target_catalog,
                              std::stop_token stop, const RunLog& log) {
  std::map<std::pair<QualifiedName, bool>, TrialStage> stages;
  RowsOf rows = [&](const QualifiedName& name, bool with_partitions) {
    auto [it, added] = stages.try_emplace({name, with_partitions});
    if (added) {
      it->second.relation = name;
      it->second.with_partitions = with_partitions;
      it->second.temp = fmt::format("pg_temp.freshet_trial_{}", stages.size());
    }
    return it->second.temp;
  };
  std::vector<TargetRule> rules =
      TargetRulesToCheck(manifest_.catalog, target_catalog, target.plan, rows);
  // Values naming objects load only when the target has the objects.
  for (const ObjectNameColumn& column :
       ObjectNameColumns(manifest_.catalog, target_catalog, target.plan))
    for (const auto& planned : target.plan.tables)
      if (planned.name == column.table) rows(planned.name, planned.source_partitioned);
  if (stages.empty()) return;

  Connection trial = OpenRebuildTarget(target.url);
  CancelOnStop cancel(trial, stop);
  trial.Exec("BEGIN");
  std::set<std::string> unusable;  // staged tables the rules cannot read
  for (auto& [key, stage] : stages) {
    ThrowIfStopped(stop, "checking the snapshot's rows against the target's rules");
    if (!FindStageFiles(stage)) {
      unusable.insert(stage.temp);
      continue;
    }
    log.Info(
        "loading {}'s rows from the snapshot into a temporary table of {}, to check the "
        "target's rules",
        stage.relation.Display(), target.report->target);
    LoadStage(trial, target, target_catalog, stage, stop);
    if (!stage.loaded) unusable.insert(stage.temp);
  }
  for (const TargetRule& rule : rules) {
    auto reads_unusable = [&](const std::string& temp) { return Reads(rule.count_sql, temp); };
    if (std::any_of(unusable.begin(), unusable.end(), reads_unusable)) {
      if (target.plan.ok())
        target.plan.warnings.push_back(fmt::format(
            "table {}: could not check the snapshot against {} (its rows are not captured as "
            "one relation); rows that break it would fail the load",
            rule.table.Display(), rule.rule));
      continue;
    }
    RunTargetRule(trial, rule, "the snapshot", target.plan, log);
  }
  trial.Exec("ROLLBACK");
}

}  // namespace freshet
