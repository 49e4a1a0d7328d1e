// Steps every run that writes to a target shares (sync, snapshot restore):
// opening and locking the target, planning errors, the report's plan part,
// and setting aside (journaled) what the load must not maintain.
#pragma once

#include <chrono>
#include <string>

#include "copy/connection.h"
#include "sync/engine/journal.h"
#include "sync/engine/plan.h"
#include "sync/engine/report.h"
#include "sync/engine/run_observer.h"
#include "sync/engine/sequences.h"

namespace freshet {

// "20261122T041219-4815941b": a run's id in logs and the journal.
std::string NewRunId();
// The current UTC time, ISO 8601.
std::string NowIso();

// A target connection with sync settings pinned.
Connection OpenTarget(const std::string& url);
// Takes the per-database advisory lock. If another run holds it, waits up
// to `wait` for it to end (0: not at all), then throws Error naming the
// database.
void LockTarget(Connection& target, std::chrono::seconds wait = std::chrono::seconds(0));

// Whose set-aside work a journal restore put back.
enum class RestoreCause {
  kInterruptedRun,  // an earlier run died and left its journal
  kThisRunFailed,   // this run failed and puts back what it set aside
};
// Logs and records what a journal restore did.
void RecordRestore(const RestoreOutcome& outcome, RunReport& report, RestoreCause cause,
                   const RunLog& log = DefaultLog());
// Logs what sequence syncing did; its warnings go into the report too.
void RecordSequences(const SequenceOutcome& outcome, RunReport& report,
                     const RunLog& log = DefaultLog());
// Throws Error (kPlan) listing the plan's errors, if any.
void ThrowIfPlanErrors(const Plan& plan);
// The plan's part of the report: strategy, tables, deferred constraints.
void FillPlanReport(const Plan& plan, RunReport& report);

// Journals and applies everything that is not data (foreign keys, indexes,
// triggers, FORCE ROW LEVEL SECURITY set aside), then truncates the planned
// tables. In one transaction, so a failure leaves the target as it was,
// unless that would take more locks than the server can spare (thousands of
// tables): then in several, each journaled, and a failure restores (over
// `target_url`) what the earlier ones set aside.
void PrepareTarget(Connection& target, Journal& journal, const Plan& plan,
                   const std::string& lock_timeout, const std::string& target_url,
                   const RunLog& log = DefaultLog());

}  // namespace freshet
