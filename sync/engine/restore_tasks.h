// Turns journal entries into tasks of a TaskGraph that put them back, as soon
// as what they depend on is ready:
//  - an index (or the key constraint it backs) after its table's load; on a
//    partitioned table, each leaf partition's index first (in parallel), then
//    the parent index, which attaches them instead of building anything;
//  - a foreign key after both tables' indexes: re-added NOT VALID (instant;
//    these additions take turns, so they never deadlock each other), then
//    VALIDATEd in parallel. A partitioned table's key is added and validated
//    per leaf partition, then on the parent, which attaches them;
//  - a trigger re-enabled after its table's load and indexes.
// Every task deletes its journal row in the transaction that restores it; a
// foreign key waiting for validation is journaled as 'validate' meanwhile. So
// a run killed at any point leaves a journal that the next restore finishes.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sync/engine/journal.h"
#include "sync/engine/task_graph.h"

namespace freshet {

// Must outlive the Run of the graph it adds tasks to.
class RestoreTasks {
 public:
  // Reads from `control` (the target) which entry tables still exist, which
  // are partitioned and their leaf partitions. Tasks work on the sessions'
  // target number `target` (WorkerSession::Target).
  RestoreTasks(std::vector<JournalEntry> entries, Connection& control, size_t target = 0);

  // Adds the tasks to `graph`. `gate(relation)` names the tasks (loads) that
  // must finish before anything of `relation` is restored; pass an empty
  // function outside a load.
  using Gate = std::function<std::vector<size_t>(const QualifiedName&)>;
  void AddTo(TaskGraph& graph, const Gate& gate);

  // After graph.Run: what was restored, and what stays journaled and why.
  RestoreOutcome Outcome(const std::vector<TaskOutcome>& outcomes) const;

 private:
  struct Relation {
    std::string kind;                   // pg_class.relkind; empty: no longer exists
    std::vector<QualifiedName> leaves;  // partitioned tables: leaf partitions
  };
  struct Step {
    size_t task = 0;
    size_t entry = 0;
    std::string failure_prefix;  // problem text when the task fails
  };
  // What AddTo's steps share while they add tasks to one graph.
  struct Build {
    TaskGraph& graph;
    const Gate& gate;
    std::vector<std::pair<QualifiedName, size_t>> index_tasks;  // table -> task
    std::vector<size_t> all_index_tasks;
    std::map<QualifiedName, double> table_weight;  // bytes of the table's indexes

    std::vector<size_t> Gated(const QualifiedName& relation) const;
    std::vector<size_t> IndexesOf(const QualifiedName& table) const;
  };
  const Relation& RelationOf(const QualifiedName& name) const;
  size_t AddStep(TaskGraph& graph, Task task, size_t entry, std::string failure_prefix);
  // The steps of AddTo, in the order their tasks enter the graph. `entry` is
  // an index into entries_, whose elements the tasks refer to.
  void AddIndexTasks(Build& build);
  void AddLeafIndexTasks(Build& build, size_t entry, std::vector<size_t>& parent_after);
  void AddForeignKeyTasks(Build& build);
  void AddValidateTask(Build& build, size_t entry, const std::vector<size_t>& after, double weight);
  void AddPerLeafForeignKeyTasks(Build& build, size_t entry, const std::vector<size_t>& after,
                                 double weight, bool references_partitioned);
  void AddPlainForeignKeyTasks(Build& build, size_t entry, const std::vector<size_t>& after,
                               double weight, bool references_partitioned);
  void AddRowSecurityTasks(Build& build);
  void AddTriggerTasks(Build& build);

  std::vector<JournalEntry> entries_;
  size_t target_ = 0;
  std::vector<std::pair<QualifiedName, Relation>> relations_;
  std::vector<Step> steps_;
  // notes_[i]: what step i restored (set by the step itself; read after Run).
  std::vector<std::string> notes_;
  std::mutex ddl_turns_;  // foreign key additions take turns
};

// A constraint definition (pg_get_constraintdef) without its trailing
// " NOT VALID".
std::string WithoutNotValid(std::string definition);
// "ENABLE [ALWAYS | REPLICA] TRIGGER" for a pg_trigger.tgenabled state.
std::string EnableClause(char enabled);

}  // namespace freshet
