// The target-side journal that makes interrupted runs recoverable. Before a
// run drops a foreign key or disables a trigger, it records how to restore it
// in _freshet.journal in the same transaction; the entry is deleted in the
// transaction that restores it. Restore() (run by `freshet repair` and at the
// start of every sync) puts back whatever an earlier run left behind.
// Not thread-safe: use one Journal per target control connection.
#pragma once

#include <string>
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

  // Restores every entry (any run): re-adds missing constraints NOT VALID and
  // re-enables triggers in one transaction that also deletes the entries, then
  // VALIDATEs the constraints that were valid. Validation failures are returned
  // as problems (the constraint stays, NOT VALID), never thrown.
  RestoreOutcome Restore();

 private:
  Connection& target_;
  std::string run_id_;
};

}  // namespace freshet
