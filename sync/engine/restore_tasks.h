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
  void AddTo(TaskGraph& graph,
             const std::function<std::vector<size_t>(const QualifiedName&)>& gate);

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
  const Relation& RelationOf(const QualifiedName& name) const;
  size_t AddStep(TaskGraph& graph, Task task, size_t entry, std::string failure_prefix);

  std::vector<JournalEntry> entries_;
  size_t target_ = 0;
  std::vector<std::pair<QualifiedName, Relation>> relations_;
  std::vector<Step> steps_;
  // notes_[i]: what step i restored (set by the step itself; read after Run).
  std::vector<std::string> notes_;
  std::mutex ddl_turns_;  // foreign key additions take turns
};

}  // namespace freshet
