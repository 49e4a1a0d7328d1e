#include "sync/engine/restore_tasks.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "sync/engine/parallel.h"
#include "sync/engine/test_hooks.h"
#include "sync_sql.h"

namespace freshet {
namespace {

// Ends the failure texts of steps whose journal entry stays for the next run.
constexpr std::string_view kKeptNote = "(kept in the journal for the next run)";

void Append(std::vector<size_t>& to, const std::vector<size_t>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

void DeleteEntry(Connection& target, int64_t id) {
  target.Exec("DELETE FROM _freshet.journal WHERE id = $1", {std::to_string(id)});
}

bool RelationExists(Connection& target, const QualifiedName& table) {
  return !target.Exec("SELECT pg_catalog.to_regclass($1)", {table.Quoted()}).IsNull(0, 0);
}

bool ConstraintExists(Connection& target, const QualifiedName& table, const std::string& name) {
  return target.Exec(sql::kConstraintExists, {table.schema, table.name, name}).GetBool(0, 0);
}

// Builds an index (or adds the constraint it backs) unless it exists.
void BuildIndex(Connection& target, const QualifiedName& table, const std::string& name,
                const std::string& definition, const std::string& constraint_name,
                const std::string& constraint_definition, bool only) {
  if (!constraint_name.empty()) {
    if (!ConstraintExists(target, table, constraint_name))
      target.Exec(fmt::format("ALTER TABLE {}{} ADD CONSTRAINT {} {}", only ? "ONLY " : "",
                              table.Quoted(), QuoteIdent(constraint_name), constraint_definition));
  } else if (!RelationExists(target, {table.schema, name})) {
    target.Exec(definition);
  }
}

}  // namespace

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

RestoreTasks::RestoreTasks(std::vector<JournalEntry> entries, Connection& control, size_t target)
    : entries_(std::move(entries)), target_(target) {
  std::set<QualifiedName> seen;
  std::vector<QualifiedName> names;
  for (const auto& entry : entries_) {
    names.push_back(entry.table);
    if (entry.referenced) names.push_back(*entry.referenced);
  }
  for (const auto& name : names) {
    if (!seen.insert(name).second) continue;
    QualifiedName table = name;
    Relation relation;
    Result kind = control.Exec(sql::kRelationKind, {table.schema, table.name});
    if (kind.Rows()) relation.kind = kind.Get(0, 0);
    if (relation.kind == "p" && control.ServerVersion() >= 120000) {
      Result leaves = control.Exec(
          "SELECT n.nspname, c.relname FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass) "
          "t JOIN pg_catalog.pg_class c ON c.oid = t.relid JOIN pg_catalog.pg_namespace n ON "
          "n.oid = c.relnamespace WHERE t.isleaf ORDER BY 1, 2",
          {table.Quoted()});
      for (int row = 0; row < leaves.Rows(); ++row)
        relation.leaves.push_back({leaves.Get(row, 0), leaves.Get(row, 1)});
    }
    relations_.push_back({table, std::move(relation)});
  }
}

const RestoreTasks::Relation& RestoreTasks::RelationOf(const QualifiedName& name) const {
  static const Relation kGone;
  for (const auto& [table, relation] : relations_)
    if (table == name) return relation;
  return kGone;
}

size_t RestoreTasks::AddStep(TaskGraph& graph, Task task, size_t entry,
                             std::string failure_prefix) {
  auto body = std::move(task.run);
  task.run = [this, body](WorkerSession& session, std::stop_token stop) {
    CancelOnStop cancel(session.Target(target_), stop);
    body(session, stop);
  };
  size_t id = graph.Add(std::move(task));
  steps_.push_back({id, entry, std::move(failure_prefix)});
  notes_.emplace_back();
  return id;
}

std::vector<size_t> RestoreTasks::Build::Gated(const QualifiedName& relation) const {
  return gate ? gate(relation) : std::vector<size_t>{};
}

std::vector<size_t> RestoreTasks::Build::IndexesOf(const QualifiedName& table) const {
  std::vector<size_t> out;
  for (const auto& [name, id] : index_tasks)
    if (name == table) out.push_back(id);
  return out;
}

void RestoreTasks::AddTo(TaskGraph& graph, const Gate& gate) {
  Build build{graph, gate, {}, {}, {}};
  AddIndexTasks(build);
  AddForeignKeyTasks(build);
  AddRowSecurityTasks(build);
  AddTriggerTasks(build);
}

// 1. Indexes and key constraints.
void RestoreTasks::AddIndexTasks(Build& build) {
  for (size_t e = 0; e < entries_.size(); ++e) {
    const JournalEntry& entry = entries_[e];
    if (entry.kind != "index") continue;
    const Relation& relation = RelationOf(entry.table);
    build.table_weight[entry.table] += static_cast<double>(entry.bytes);
    std::vector<size_t> parent_after = build.Gated(entry.table);
    if (relation.kind == "p" && !entry.partitions.empty())
      AddLeafIndexTasks(build, e, parent_after);
    Task task;
    task.name = entry.Describe();
    task.weight = relation.kind == "p" && !entry.partitions.empty() ? 0 : entry.bytes;
    task.after = parent_after;
    size_t step = steps_.size();
    task.run = [this, &entry, step](WorkerSession& session, std::stop_token) {
      TestRebuildDelay();
      Connection& target = session.Target(target_);
      InTransaction(target, [&] {
        if (RelationExists(target, entry.table)) {
          BuildIndex(target, entry.table, entry.object, entry.definition, entry.constraint_name,
                     entry.constraint_definition, /*only=*/false);
          if (entry.clustered)
            target.Exec(fmt::format("ALTER TABLE {} CLUSTER ON {}", entry.table.Quoted(),
                                    QuoteIdent(entry.object)));
          notes_[step] = entry.Describe() + " rebuilt";
        } else {
          notes_[step] = entry.Describe() + ": the table no longer exists; journal entry dropped";
        }
        DeleteEntry(target, entry.id);
      });
    };
    size_t id = AddStep(build.graph, std::move(task), e,
                        fmt::format("could not rebuild {} (kept in the journal for the next run)",
                                    entry.Describe()));
    build.index_tasks.push_back({entry.table, id});
    build.all_index_tasks.push_back(id);
  }
}

// An index on a partitioned table: each leaf partition's index first (in
// parallel); the parent index, which waits for `parent_after`, attaches them.
void RestoreTasks::AddLeafIndexTasks(Build& build, size_t e, std::vector<size_t>& parent_after) {
  const JournalEntry& entry = entries_[e];
  double share = static_cast<double>(entry.bytes) / entry.partitions.size();
  for (const auto& leaf : entry.partitions) {
    Task task;
    task.name = fmt::format("index {} on {}", leaf.name, leaf.table.Display());
    task.weight = share;
    task.after = build.Gated(leaf.table);
    task.run = [this, leaf](WorkerSession& session, std::stop_token) {
      TestRebuildDelay();
      Connection& target = session.Target(target_);
      if (!RelationExists(target, leaf.table)) return;  // detached or dropped since
      BuildIndex(target, leaf.table, leaf.name, leaf.definition, leaf.constraint_name,
                 leaf.constraint_definition, /*only=*/true);
    };
    size_t id =
        AddStep(build.graph, std::move(task), e,
                fmt::format("could not build {} on partition {}", leaf.name, leaf.table.Display()));
    parent_after.push_back(id);
    build.index_tasks.push_back({entry.table, id});
    build.all_index_tasks.push_back(id);
  }
}

// 2. Foreign keys: add NOT VALID (taking turns), then validate.
void RestoreTasks::AddForeignKeyTasks(Build& build) {
  for (size_t e = 0; e < entries_.size(); ++e) {
    const JournalEntry& entry = entries_[e];
    if (entry.kind != "foreign_key" && entry.kind != "validate") continue;
    const Relation& relation = RelationOf(entry.table);
    std::vector<size_t> after = build.Gated(entry.table);
    Append(after, build.IndexesOf(entry.table));
    if (entry.referenced) {
      Append(after, build.Gated(*entry.referenced));
      Append(after, build.IndexesOf(*entry.referenced));
    } else {
      // Journals written before 0.2 lack the referenced table.
      Append(after, build.all_index_tasks);
    }
    double weight = std::max(build.table_weight[entry.table], 1e6) / 2;
    bool per_leaf = entry.kind == "foreign_key" && relation.kind == "p" && entry.validate &&
                    !relation.leaves.empty();
    // A key that references a partitioned table is added validated: added
    // NOT VALID and then validated, PostgreSQL 15 leaves the clones it makes
    // for the referenced partitions marked not validated.
    bool references_partitioned =
        entry.validate && entry.referenced && RelationOf(*entry.referenced).kind == "p";
    if (entry.kind == "validate")
      AddValidateTask(build, e, after, weight);
    else if (per_leaf)
      AddPerLeafForeignKeyTasks(build, e, after, weight, references_partitioned);
    else
      AddPlainForeignKeyTasks(build, e, after, weight, references_partitioned);
  }
}

// A foreign key an earlier run re-added NOT VALID: only its validation is left.
void RestoreTasks::AddValidateTask(Build& build, size_t e, const std::vector<size_t>& after,
                                   double weight) {
  const JournalEntry& entry = entries_[e];
  Task task;
  task.name = "validate " + entry.Describe();
  task.weight = weight;
  task.after = after;
  size_t step = steps_.size();
  task.run = [this, &entry, step](WorkerSession& session, std::stop_token) {
    Connection& target = session.Target(target_);
    if (RelationExists(target, entry.table) && ConstraintExists(target, entry.table, entry.object))
      target.Exec(fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", entry.table.Quoted(),
                              QuoteIdent(entry.object)));
    DeleteEntry(target, entry.id);
    notes_[step] = entry.Describe() + " validated";
  };
  AddStep(build.graph, std::move(task), e,
          fmt::format("foreign key {} on {} is back but NOT VALID (to be validated by the "
                      "next run)",
                      entry.object, entry.table.Display()));
}

// PostgreSQL refuses NOT VALID foreign keys on partitioned tables: add and
// validate one per leaf, then the parent's attaches them.
void RestoreTasks::AddPerLeafForeignKeyTasks(Build& build, size_t e,
                                             const std::vector<size_t>& after, double weight,
                                             bool references_partitioned) {
  const JournalEntry& entry = entries_[e];
  const Relation& relation = RelationOf(entry.table);
  std::vector<size_t> leaf_tasks;
  for (const auto& leaf : relation.leaves) {
    std::string leaf_name = fmt::format("foreign key {} on {}", entry.object, leaf.Display());
    Task add;
    add.name = leaf_name;
    add.after = after;
    Append(add.after, build.Gated(leaf));
    add.run = [this, &entry, leaf, references_partitioned](WorkerSession& session,
                                                           std::stop_token) {
      Connection& target = session.Target(target_);
      std::lock_guard turn(ddl_turns_);
      if (!ConstraintExists(target, leaf, entry.object))
        target.Exec(fmt::format("ALTER TABLE ONLY {} ADD CONSTRAINT {} {}{}", leaf.Quoted(),
                                QuoteIdent(entry.object), WithoutNotValid(entry.definition),
                                references_partitioned ? "" : " NOT VALID"));
    };
    size_t add_id = AddStep(build.graph, std::move(add), e,
                            fmt::format("could not add {} on partition {} {}", entry.object,
                                        leaf.Display(), kKeptNote));
    Task validate;
    validate.name = "validate " + leaf_name;
    validate.weight = weight / relation.leaves.size();
    validate.after = {add_id};
    validate.run = [this, &entry, leaf](WorkerSession& session, std::stop_token) {
      session.Target(target_).Exec(fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}",
                                               leaf.Quoted(), QuoteIdent(entry.object)));
    };
    leaf_tasks.push_back(AddStep(build.graph, std::move(validate), e,
                                 fmt::format("could not validate {} on partition {} {}",
                                             entry.object, leaf.Display(), kKeptNote)));
  }
  Task parent;
  parent.name = entry.Describe();
  parent.after = leaf_tasks;
  size_t step = steps_.size();
  parent.run = [this, &entry, step](WorkerSession& session, std::stop_token) {
    Connection& target = session.Target(target_);
    std::lock_guard turn(ddl_turns_);
    InTransaction(target, [&] {
      if (!ConstraintExists(target, entry.table, entry.object))
        target.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", entry.table.Quoted(),
                                QuoteIdent(entry.object), WithoutNotValid(entry.definition)));
      DeleteEntry(target, entry.id);
    });
    notes_[step] = entry.Describe() + " re-added";
  };
  AddStep(build.graph, std::move(parent), e,
          fmt::format("could not restore {} {}", entry.Describe(), kKeptNote));
}

// Any other foreign key: added NOT VALID (taking turns), then validated; on or
// referencing a partitioned table, added as it was at once.
void RestoreTasks::AddPlainForeignKeyTasks(Build& build, size_t e, const std::vector<size_t>& after,
                                           double weight, bool references_partitioned) {
  const JournalEntry& entry = entries_[e];
  Task add;
  add.name = entry.Describe();
  add.after = after;
  size_t step = steps_.size();
  bool partitioned = RelationOf(entry.table).kind == "p" || references_partitioned;
  add.run = [this, &entry, step, partitioned](WorkerSession& session, std::stop_token) {
    Connection& target = session.Target(target_);
    std::lock_guard turn(ddl_turns_);
    InTransaction(target, [&] {
      if (!RelationExists(target, entry.table)) {
        notes_[step] = entry.Describe() + ": the table no longer exists; journal entry dropped";
        DeleteEntry(target, entry.id);
        return;
      }
      if (!ConstraintExists(target, entry.table, entry.object))
        target.Exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}{}", entry.table.Quoted(),
                                QuoteIdent(entry.object), WithoutNotValid(entry.definition),
                                partitioned ? "" : " NOT VALID"));
      if (entry.validate && !partitioned)
        target.Exec("UPDATE _freshet.journal SET kind = 'validate' WHERE id = $1",
                    {std::to_string(entry.id)});
      else
        DeleteEntry(target, entry.id);
      notes_[step] = entry.Describe() + " re-added";
    });
  };
  size_t add_id = AddStep(build.graph, std::move(add), e,
                          fmt::format("could not restore {} {}", entry.Describe(), kKeptNote));
  if (!entry.validate || partitioned) return;
  Task validate;
  validate.name = "validate " + entry.Describe();
  validate.weight = weight;
  validate.after = {add_id};
  validate.run = [this, &entry](WorkerSession& session, std::stop_token) {
    Connection& target = session.Target(target_);
    if (!RelationExists(target, entry.table)) return;
    target.Exec(fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", entry.table.Quoted(),
                            QuoteIdent(entry.object)));
    DeleteEntry(target, entry.id);
  };
  AddStep(build.graph, std::move(validate), e,
          fmt::format("foreign key {} on {} is back but NOT VALID (to be validated by the next "
                      "run)",
                      entry.object, entry.table.Display()));
}

// 3. FORCE ROW LEVEL SECURITY, once the table is loaded.
void RestoreTasks::AddRowSecurityTasks(Build& build) {
  for (size_t e = 0; e < entries_.size(); ++e) {
    const JournalEntry& entry = entries_[e];
    if (entry.kind != "row_security") continue;
    Task task;
    task.name = entry.Describe();
    task.after = build.Gated(entry.table);
    size_t step = steps_.size();
    task.run = [this, &entry, step](WorkerSession& session, std::stop_token) {
      Connection& target = session.Target(target_);
      InTransaction(target, [&] {
        if (RelationExists(target, entry.table)) {
          target.Exec(fmt::format("ALTER TABLE {} FORCE ROW LEVEL SECURITY", entry.table.Quoted()));
          notes_[step] = entry.Describe() + " restored";
        }
        DeleteEntry(target, entry.id);
      });
    };
    AddStep(build.graph, std::move(task), e,
            fmt::format("could not restore {} (kept in the journal for the next run)",
                        entry.Describe()));
  }
}

// 4. Triggers, once their table is loaded and indexed.
void RestoreTasks::AddTriggerTasks(Build& build) {
  for (size_t e = 0; e < entries_.size(); ++e) {
    const JournalEntry& entry = entries_[e];
    if (entry.kind != "trigger") continue;
    Task task;
    task.name = entry.Describe();
    task.after = build.Gated(entry.table);
    Append(task.after, build.IndexesOf(entry.table));
    size_t step = steps_.size();
    task.run = [this, &entry, step](WorkerSession& session, std::stop_token) {
      Connection& target = session.Target(target_);
      InTransaction(target, [&] {
        if (RelationExists(target, entry.table) &&
            target.Exec(sql::kTriggerExists, {entry.table.schema, entry.table.name, entry.object})
                .GetBool(0, 0)) {
          target.Exec(fmt::format("ALTER TABLE {} {} {}", entry.table.Quoted(),
                                  EnableClause(entry.enabled), QuoteIdent(entry.object)));
          notes_[step] = entry.Describe() + " re-enabled";
        }
        DeleteEntry(target, entry.id);
      });
    };
    AddStep(build.graph, std::move(task), e,
            fmt::format("could not restore {} (kept in the journal for the next run)",
                        entry.Describe()));
  }
}

RestoreOutcome RestoreTasks::Outcome(const std::vector<TaskOutcome>& outcomes) const {
  RestoreOutcome outcome;
  std::set<size_t> failed_entries;
  for (size_t s = 0; s < steps_.size(); ++s) {
    const Step& step = steps_[s];
    const TaskOutcome& result = outcomes.at(step.task);
    if (result.state == TaskState::kDone) {
      if (!notes_[s].empty()) outcome.restored.push_back(notes_[s]);
    } else if (result.state == TaskState::kFailed) {
      outcome.problems.push_back(
          fmt::format("{}: {}", step.failure_prefix, ExceptionMessage(result.error)));
      failed_entries.insert(step.entry);
    } else if (result.state == TaskState::kSkipped && !failed_entries.count(step.entry)) {
      outcome.problems.push_back(fmt::format("{}: an earlier step failed ({})", step.failure_prefix,
                                             ExceptionMessage(result.error)));
      failed_entries.insert(step.entry);
    }
  }
  return outcome;
}

}  // namespace freshet
