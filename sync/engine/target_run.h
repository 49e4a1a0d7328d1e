// The one orchestration of every run that writes to targets: `sync` (a live
// source into one target) and `snapshot restore` (snapshot files into one or
// more), and what comes after them. RunLoad takes each target through
//   1. checks before anything is opened: the targets' safety rules, then the
//      source's own (LoadSource::Check: files present, the source readable);
//   2. open and lock; put back what an interrupted run left in the journal,
//      or resume a run of the same load that died (LoadSource::ResumeKey);
//   3. plan against the target's catalog, with every check of the rows
//      (LoadSource::PlanTarget); a plan error on any target stops the run
//      before anything is written anywhere;
//   4. set aside (journaled) and truncate;
//   5. load and rebuild as one task graph: the source adds its load tasks,
//      and each target's rebuild (LoadRun::AddRebuild) follows its loads;
//   6. per target: what the rebuild could not restore, sequences,
//      verification.
// Targets fail alone: a failed target's journal puts back what was set aside
// while the others go on. A failure that stops every target (a stop request,
// a source that cannot be read) puts back each target's set-aside.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "schema/catalog.h"
#include "sync/engine/journal.h"
#include "sync/engine/plan.h"
#include "sync/engine/progress.h"
#include "sync/engine/report.h"
#include "sync/engine/restore_tasks.h"
#include "sync/engine/run_observer.h"
#include "sync/engine/safety.h"
#include "sync/engine/sequences.h"
#include "sync/engine/task_graph.h"

namespace freshet {

// One target of a run.
struct TargetRun {
  std::string url;
  SafetyOptions safety;
  RunReport* report = nullptr;  // owned by the caller
  size_t index = 0;             // among the run's targets: WorkerSession::Target(index)
  std::string server;           // the database server's identity (RunningServerKey)
  std::optional<Connection> control;
  std::unique_ptr<CancelOnStop> cancel_control;  // a stop cancels its queries
  std::unique_ptr<Journal> journal;
  Plan plan;
  std::unique_ptr<RestoreTasks> rebuild;
  // Resuming a run of the same load that died (its set-aside still
  // journaled): the units it loaded (key -> digest of the rows sent), which
  // are not loaded again.
  bool resume = false;
  std::map<std::string, std::string> loaded;
  // The first failure; the target's remaining work is skipped.
  std::optional<Error> failure;
};

// Thrown by RunLoad once writing has begun and some targets failed: each
// failed target's report holds its error and its journal has put back what
// was set aside (its tables are truncated and partly loaded: rerun); the
// other targets are done. The kind is the first failure's.
class TargetsFailed : public Error {
 public:
  using Error::Error;
};

// The run as its load tasks see it while the graph runs. Thread-safe.
class LoadRun {
 public:
  LoadRun(std::vector<TargetRun>& targets, Progress& progress, const RunLog& log)
      : targets_(targets), progress_(progress), log_(log) {}

  std::vector<TargetRun>& targets() { return targets_; }
  Progress& progress() { return progress_; }
  const RunLog& log() const { return log_; }

  // Records target `i`'s first failure and cancels its COPYs under way.
  void MarkFailed(size_t i, const Error& error);
  bool Failed(size_t i);
  // A connection of target `i` starts a COPY that its failure cancels; false
  // (and nothing registered) when the target has failed already.
  bool StartCopy(size_t i, Connection* connection);
  void EndCopy(size_t i, Connection* connection);

  // Adds target `i`'s rebuild (what PrepareTarget set aside) to `graph`:
  // what belongs to `relation` waits for the tasks `gate(relation)` names.
  // Its tasks load `resource` and are skipped once the target has failed.
  void AddRebuild(size_t i, TaskGraph& graph,
                  const std::function<std::vector<size_t>(const QualifiedName&)>& gate,
                  std::optional<size_t> resource = std::nullopt);

 private:
  std::vector<TargetRun>& targets_;
  Progress& progress_;
  RunLog log_;
  std::mutex mutex_;
  std::map<size_t, std::vector<Connection*>> copying_;
};

// Where the rows come from, and how they go into the targets.
class LoadSource {
 public:
  virtual ~LoadSource() = default;

  // For the reports: "snapshot DIR (...)", the source's description.
  virtual std::string Describe() const = 0;
  // "sync", "snapshot restore": the report's command.
  virtual std::string Command() const = 0;
  // What a failed target is told to rerun ("the sync", "the restore").
  virtual std::string Rerun() const = 0;

  // 1. Checks before any target is opened; throws Error.
  virtual void Check(std::stop_token /*stop*/) {}
  // 2. Names this load for resuming a run of it that died; empty: a run
  // that died is put back, never resumed.
  virtual std::string ResumeKey() const { return {}; }
  // Refuses a target just opened and locked (e.g. the source database itself).
  virtual void CheckTarget(TargetRun& /*target*/) {}
  // 3. Plans `target` (target.plan) against its catalog, plan errors and the
  // checks of the rows included, and fills what the report says of it.
  virtual void PlanTarget(TargetRun& target, const Catalog& target_catalog, std::stop_token stop,
                          const RunLog& log) = 0;
  // Throws Error (kPlan) when `target`'s plan has errors.
  virtual void ThrowIfRefused(const TargetRun& target) const = 0;

  // 5. Schedules the loads of `targets` (planned and prepared) and returns
  // the progress items AddLoads's tasks count on.
  virtual std::vector<Progress::Item> ScheduleLoads(std::vector<TargetRun>& targets) = 0;
  // Adds the load tasks of every target, and each target's rebuild
  // (LoadRun::AddRebuild) after them.
  virtual void AddLoads(LoadRun& run, TaskGraph& graph) = 0;
  // Worker threads of the graph, and how a worker opens its source session
  // (empty: its tasks use none).
  virtual int Workers() const = 0;
  virtual std::function<Connection()> SourceOpener() { return {}; }
  // After the graph: the target's table figures, and when the last load ended.
  virtual void LoadsDone(TargetRun& /*target*/) {}
  virtual std::chrono::steady_clock::time_point LastLoad() const = 0;

  // 6. The sequences of `target`'s plan, from the source.
  virtual SequenceOutcome Sequences(TargetRun& target) = 0;
  // After the sequences of a target whose load succeeded (before verifying).
  virtual void Loaded(TargetRun& /*target*/) {}
  // Compares `target` with the source; throws Error (kMismatch) naming the
  // tables that differ.
  virtual void Verify(TargetRun& target, std::stop_token stop) = 0;
  // The run succeeded on every target.
  virtual void Finish() {}
};

struct LoadOptions {
  int jobs = 4;  // to restore an interrupted run's journal
  bool verify = false;
  std::string lock_timeout = "30s";
};

// Runs `source` into `targets` (url, safety and report set; reports filled as
// the run goes, so a failure still reports). Throws TargetsFailed when
// targets failed once writing had begun, Error for a failure before it or
// one that stops every target (kRefused for safety rules, kPlan for plan
// errors, kMismatch when verification finds a difference).
void RunLoad(LoadSource& source, std::vector<TargetRun>& targets, const LoadOptions& options,
             std::stop_token stop, const RunLog& log);

}  // namespace freshet
