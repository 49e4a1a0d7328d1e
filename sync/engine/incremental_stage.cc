#include "sync/engine/incremental_stage.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

#include "sync/engine/incremental_stager.h"
#include "sync/engine/run_steps.h"
#include "sync/engine/target_rules.h"
#include "sync/engine/task_graph.h"
#include "sync/engine/test_hooks.h"

namespace freshet {

namespace {

using Clock = std::chrono::steady_clock;

// A big table's deleted keys are collected in slices, one per this many of
// its rows (up to one per job), each of at least kLeastBucketsPerSlice
// differing buckets.
constexpr int64_t kRowsPerDeleteSlice = 250'000;
constexpr size_t kLeastBucketsPerSlice = 64;

// The plan's tables as StageChanges stages them: each table's tasks share a
// TableWork.
class StageGraph {
 public:
  StageGraph(const Plan& plan, const Catalog& target, const StageOptions& options,
             std::stop_token stop, const RunLog& log)
      : plan_(plan),
        target_(target),
        options_(options),
        stop_(stop),
        log_(log),
        works_(plan.tables.size()) {}

  void Add(size_t i) {
    const PlannedTable& table = plan_.tables[i];
    const Table* target_table = target_.Find(table.name);
    if (!table.incremental || !target_table) {
      if (options_.on_staged) options_.on_staged(i, TableStage{});
      return;
    }
    works_[i] = std::make_unique<TableWork>();
    works_[i]->run_horizon = options_.xmin_horizon;
    double weight = static_cast<double>(std::max<int64_t>(table.estimated_bytes, 1));
    if (table.incremental->mode != SyncMode::kWatermark) {
      AddTask(
          i, "stage", weight, {}, [](TableStager& stager) { stager.Run(); }, true);
      return;
    }
    size_t prepare = AddTask(i, "prepare", 1, {}, [](TableStager& s) { s.Prepare(); });
    std::vector<size_t> before_finish;
    for (const CopyUnit& unit : table.units)
      before_finish.push_back(
          AddTask(i, "rows of " + unit.source.Display(),
                  static_cast<double>(std::max<int64_t>(unit.estimated_bytes, 1)), {prepare},
                  [&unit](TableStager& s) { s.CopyChunk(unit); }));
    // A key summary reads about as much as a tenth of the table. The
    // source's is taken chunk by chunk (CopyChunk).
    bool deletes = table.incremental->deletes == DeletePolicy::kPropagate;
    if (deletes)
      before_finish.push_back(AddTask(i, "target keys", weight / 10, {prepare},
                                      [](TableStager& s) { s.SumTargetKeys(); }));
    size_t differing = AddTask(i, "differing buckets", weight / 10, before_finish,
                               [](TableStager& s) { s.FindDiffering(); });
    std::vector<size_t> slices{differing};
    if (deletes) slices = AddDeleteSlices(i, weight, differing);
    AddTask(
        i, "finish", 1, slices, [](TableStager& s) { s.Finish(); }, true);
  }

  // The tasks collecting table `i`'s deleted keys, a slice of its
  // differing buckets each: one per kRowsPerDeleteSlice rows, up to a
  // task per job, so that a big table's last step uses every worker.
  std::vector<size_t> AddDeleteSlices(size_t i, double weight, size_t differing) {
    TableWork& work = *works_[i];
    int64_t rows = plan_.tables[i].estimated_rows;
    int64_t wanted = std::clamp<int64_t>(rows / kRowsPerDeleteSlice, 1, options_.jobs);
    work.slice_count = static_cast<size_t>(TestSliceDeletes() ? options_.jobs : wanted);
    work.slice_least = TestSliceDeletes() ? 1 : kLeastBucketsPerSlice;
    std::vector<size_t> tasks;
    for (size_t k = 0; k < work.slice_count; ++k)
      tasks.push_back(AddTask(i, fmt::format("deleted keys {}/{}", k + 1, work.slice_count),
                              weight / 20 / static_cast<double>(work.slice_count), {differing},
                              [k](TableStager& s) { s.CollectDeletedKeys(k); }));
    return tasks;
  }

  std::vector<TableStage> Run() {
    std::function<Connection(size_t)> open_target = [this](size_t) {
      return OpenTarget(options_.target_url);
    };
    graph_.Run(options_.jobs, options_.open_source, open_target, stop_, log_);
    std::vector<TableStage> stages(plan_.tables.size());
    for (size_t i = 0; i < works_.size(); ++i)
      if (works_[i]) stages[i] = std::move(works_[i]->result);
    return stages;
  }

 private:
  // One step of table `i`; `last`: the step that ends the table's staging.
  size_t AddTask(size_t i, const std::string& step, double weight, std::vector<size_t> after,
                 std::function<void(TableStager&)> work, bool last = false) {
    Task task;
    task.name = fmt::format("stage {} ({})", plan_.tables[i].name.Display(), step);
    task.weight = weight;
    task.after = std::move(after);
    task.fatal = true;
    task.run = [this, i, work = std::move(work), last](WorkerSession& session,
                                                       std::stop_token token) {
      RunStep(i, session, token, work, last);
    };
    if (last && options_.on_staged)
      task.finished = [this, i] { options_.on_staged(i, works_[i]->result); };
    if (last && i < options_.merge_tails.size()) task.tail = options_.merge_tails[i];
    return graph_.Add(std::move(task));
  }

  void RunStep(size_t i, WorkerSession& session, std::stop_token token,
               const std::function<void(TableStager&)>& work, bool last) {
    const PlannedTable& planned = plan_.tables[i];
    TableWork& table_work = *works_[i];
    std::call_once(table_work.started_once, [&] {
      table_work.started = Clock::now();
      log_.observer().TableStarted(planned.name.Display());
    });
    CancelOnStop cancel_source(session.Source(), token);
    CancelOnStop cancel_target(session.Target(0), token);
    TableStager stager(planned, *target_.Find(planned.name), target_, i, session, token, log_,
                       table_work);
    try {
      work(stager);
    } catch (const Error& error) {
      // A server message can quote a value (a failed cast of an sql
      // rule's result): not for a table with masked columns.
      if (planned.masks.empty()) throw;
      throw Error(WithoutValues(error.what()), error.sqlstate(), error.kind());
    }
    if (!last) return;
    TableStage& staged = table_work.result;
    staged.seconds = std::chrono::duration<double>(Clock::now() - table_work.started).count();
    log_.Debug(
        "staged {}: {} rows, {} bytes, {} differing buckets of {}, {} with their deleted key "
        "found by its hash",
        planned.name.Display(), staged.rows, staged.bytes, staged.differing_buckets,
        staged.bucketing.count, staged.buckets_by_hash);
    log_.observer().TableDone(planned.name.Display(), staged.rows, staged.bytes);
  }

  const Plan& plan_;
  const Catalog& target_;
  const StageOptions& options_;
  std::stop_token stop_;
  const RunLog& log_;
  TaskGraph graph_;
  std::vector<std::unique_ptr<TableWork>> works_;
};

}  // namespace

std::vector<TableStage> StageChanges(const Plan& plan, const Catalog& target,
                                     const StageOptions& options, std::stop_token stop,
                                     const RunLog& log) {
  StageGraph graph(plan, target, options, stop, log);
  for (size_t i = 0; i < plan.tables.size(); ++i) graph.Add(i);
  return graph.Run();
}

void DropStaging(Connection& target) {
  if (!target.Exec("SELECT pg_catalog.to_regnamespace('_freshet') IS NOT NULL").GetBool(0, 0))
    return;
  Result leftovers = target.Exec(LeftoverStagingSql());
  std::vector<std::string> names;
  for (int i = 0; i < leftovers.Rows(); ++i) names.push_back(leftovers.Get(i, 0));
  // One statement, one commit: a run stages two or three tables per table.
  if (!names.empty()) target.Exec(fmt::format("DROP TABLE IF EXISTS {}", fmt::join(names, ", ")));
}

}  // namespace freshet
