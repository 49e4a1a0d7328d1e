// The target-side journal that makes interrupted runs recoverable. Before a
// run drops a foreign key or an index or disables a trigger, it records how to
// restore it in _freshet.journal in the same transaction; the entry is deleted
// in the transaction that restores it. Restore() (run at the end of every
// sync, at the start of the next one if a run died, and by `freshet repair`)
// puts back whatever is recorded. Not thread-safe: one Journal per target
// control connection (Restore opens its own extra connections).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "copy/connection.h"
#include "sync/plan.h"

namespace freshet {

struct RestoreOutcome {
  std::vector<std::string> restored;  // human-readable, one per entry
  std::vector<std::string> problems;  // constraints that could not be validated, etc.
};

class Journal {
 public:
  // `target` must outlive the Journal.
  Journal(Connection& target, std::string run_id) : target_(target), run_id_(std::move(run_id)) {}

  // Creates _freshet.journal if missing (needs CREATE on the database).
  void Ensure();
  // True when entries from any run are waiting to be restored.
  bool HasEntries();

  // In the caller's open transaction: records, then drops the constraint.
  void DropConstraint(const DeferredConstraint& constraint);
  // In the caller's open transaction: records, then disables the trigger.
  void DisableTrigger(const TriggerToDisable& trigger);
  // In the caller's open transaction: records, then drops the index (or the
  // constraint it backs).
  void DropIndex(const DeferredIndex& index);

  // Foreign keys that are back but NOT VALID only because an earlier
  // validation failed: the next load must validate them again.
  std::vector<std::pair<QualifiedName, std::string>> PendingValidations();

  // Restores every entry (any run), in three steps: (1) indexes and key
  // constraints are rebuilt, largest first, on up to `jobs` connections to
  // `target_url`, each in a transaction that deletes its entry; (2) foreign
  // keys are re-added NOT VALID and triggers re-enabled in one transaction
  // that deletes their entries; (3) foreign keys that were valid are
  // VALIDATEd in parallel (a failed validation is journaled as 'validate' and
  // retried by the next restore). What cannot be restored stays journaled and
  // is returned as a problem, never thrown.
  RestoreOutcome Restore(const std::string& target_url, int jobs);

 private:
  Connection& target_;
  std::string run_id_;
};

}  // namespace freshet
