#include "sync/engine/incremental_stage.h"

#include <fmt/format.h>

#include <chrono>
#include <mutex>

#include "copy/copy_relay.h"
#include "sync/engine/incremental_sql.h"
#include "sync/engine/run_steps.h"
#include "sync/engine/task_graph.h"
#include "sync/engine/test_hooks.h"

namespace freshet {

BucketSums ReadBucketSums(Connection& connection, const std::string& sql) {
  BucketSums sums;
  Result result = connection.Exec(sql);
  for (int i = 0; i < result.Rows(); ++i) {
    std::string_view sum = result.Text(i, 2);
    sums.buckets[static_cast<uint32_t>(result.GetInt(i, 0))] = {result.GetInt(i, 1),
                                                                std::string(sum)};
    sums.bytes += result.Text(i, 0).size() + result.Text(i, 1).size() + sum.size();
  }
  return sums;
}

std::vector<uint32_t> DifferingBuckets(const BucketSums& source, const BucketSums& target) {
  std::vector<uint32_t> differing;
  auto s = source.buckets.begin();
  auto t = target.buckets.begin();
  while (s != source.buckets.end() || t != target.buckets.end()) {
    if (t == target.buckets.end() || (s != source.buckets.end() && s->first < t->first)) {
      differing.push_back(s++->first);
    } else if (s == source.buckets.end() || t->first < s->first) {
      differing.push_back(t++->first);
    } else {
      if (s->second != t->second) differing.push_back(s->first);
      ++s;
      ++t;
    }
  }
  return differing;
}

namespace {

// Rows per bucket: smaller buckets find scattered differences with fewer
// rows re-read, larger ones keep the summaries small.
constexpr int kKeysPerBucket = 32;
constexpr int kRowsPerBucket = 4;

// Stages one table on a worker's two sessions.
class TableStager {
 public:
  TableStager(const PlannedTable& table, const Table& target_table, const Catalog& catalog,
              size_t index, WorkerSession& session, std::stop_token stop)
      : table_(table),
        mode_(*table.incremental),
        sql_(table, target_table, catalog),
        stage_(StageTablesFor(index)),
        session_(session),
        stop_(stop) {}

  TableStage Run() {
    switch (mode_.mode) {
      case SyncMode::kWatermark:
        CopyRows(sql_.ChangedPredicate(mode_));
        if (mode_.deletes == DeletePolicy::kPropagate) FindDeletedKeys();
        break;
      case SyncMode::kDiff:
        Diff();
        break;
      case SyncMode::kFull:
        CopyRows("");
        if (!sql_.keyed()) {
          result_.replace_all = true;
        } else if (mode_.deletes == DeletePolicy::kPropagate) {
          CreateDeleteKeys();
          result_.delete_keys =
              Target().Exec(sql_.CollectAllDeletes(stage_.delete_keys, stage_.rows)).AffectedRows();
        }
        break;
    }
    if (result_.staged_deletes) Target().Exec("ANALYZE " + stage_.delete_keys.Quoted());
    if (!mode_.watermark.empty() && result_.staged_rows) ReachWatermark();
    return result_;
  }

 private:
  Connection& Target() { return session_.Target(0); }

  void CopyRows(const std::string& where) {
    Target().Exec(sql_.CreateStageRows(stage_.rows));
    RelayResult relayed =
        RelayCopy(session_.Source(), sql_.CopyChangedRows(where), Target(),
                  sql_.CopyIntoStage(stage_.rows, false), table_.name.Display(), nullptr, stop_);
    Target().Exec("ANALYZE " + stage_.rows.Quoted());  // the merge's joins need its size
    result_.staged_rows = true;
    result_.rows += relayed.rows;
    result_.bytes += relayed.bytes;
  }

  void CreateDeleteKeys() {
    Target().Exec(sql_.CreateStageKeys(stage_.delete_keys));
    result_.staged_deletes = true;
  }

  // Both sides' bucket summaries: `row_hash` for diff, keys only otherwise.
  std::vector<uint32_t> Compare(bool row_hash, const QualifiedName* plus_staged_new) {
    result_.buckets =
        BucketCount(table_.estimated_rows, row_hash ? kRowsPerBucket : kKeysPerBucket);
    BucketSums source = ReadBucketSums(session_.Source(),
                                       sql_.BucketSums(Side::kSource, result_.buckets, row_hash));
    BucketSums target = ReadBucketSums(
        Target(), sql_.BucketSums(Side::kTarget, result_.buckets, row_hash, plus_staged_new));
    result_.compared_bytes += source.bytes + target.bytes;
    std::vector<uint32_t> differing = DifferingBuckets(source, target);
    result_.differing_buckets = differing.size();
    return differing;
  }

  // Keys on the target that the source no longer has: the buckets of keys
  // (the target's plus the staged ones it lacks) that differ, then the
  // source's keys of those buckets against the target's.
  void FindDeletedKeys() {
    std::vector<uint32_t> differing = Compare(false, &stage_.rows);
    if (differing.empty()) return;
    std::string bitmap = BucketBitmap(differing, result_.buckets);
    Target().Exec(sql_.CreateStageKeys(stage_.source_keys));
    RelayResult keys =
        RelayCopy(session_.Source(),
                  sql_.CopySourceKeys(sql_.InBuckets(Side::kSource, bitmap, result_.buckets)),
                  Target(), sql_.CopyIntoStage(stage_.source_keys, true),
                  table_.name.Display() + " keys", nullptr, stop_);
    result_.compared_bytes += keys.bytes;
    Target().Exec("ANALYZE " + stage_.source_keys.Quoted());
    CreateDeleteKeys();
    result_.delete_keys = Target()
                              .Exec(sql_.CollectDeletes(stage_.delete_keys, bitmap, result_.buckets,
                                                        stage_.source_keys))
                              .AffectedRows();
  }

  void Diff() {
    std::vector<uint32_t> differing = Compare(true, nullptr);
    std::string bitmap = BucketBitmap(differing, result_.buckets);
    if (differing.empty()) return;
    CopyRows(sql_.InBuckets(Side::kSource, bitmap, result_.buckets));
    if (!sql_.keyed()) {
      result_.replace_bitmap = bitmap;
    } else if (mode_.deletes == DeletePolicy::kPropagate) {
      CreateDeleteKeys();
      result_.delete_keys =
          Target()
              .Exec(sql_.CollectDeletes(stage_.delete_keys, bitmap, result_.buckets, stage_.rows))
              .AffectedRows();
    }
  }

  // The watermark reached: the greatest of the last run's and the staged
  // rows' (every row at or above the last one is staged).
  void ReachWatermark() {
    Result max = Target().Exec(fmt::format("SELECT max({})::pg_catalog.text FROM {}",
                                           QuoteIdent(mode_.watermark), stage_.rows.Quoted()));
    std::optional<std::string> staged = max.GetOptional(0, 0);
    result_.watermark_reached = mode_.watermark_from;
    if (!staged) return;
    if (!mode_.watermark_from) {
      result_.watermark_reached = staged;
      return;
    }
    Result greater = Target().Exec(
        fmt::format("SELECT greatest($1::{0}, $2::{0})::pg_catalog.text", mode_.watermark_type),
        {*mode_.watermark_from, *staged});
    result_.watermark_reached = greater.Get(0, 0);
  }

  const PlannedTable& table_;
  const TableMode& mode_;
  IncrementalSql sql_;
  StageTables stage_;
  WorkerSession& session_;
  std::stop_token stop_;
  TableStage result_;
};

}  // namespace

std::vector<TableStage> StageChanges(const Plan& plan, const Catalog& target,
                                     const StageOptions& options, std::stop_token stop,
                                     const RunLog& log) {
  std::vector<TableStage> stages(plan.tables.size());
  TaskGraph graph;
  for (size_t i = 0; i < plan.tables.size(); ++i) {
    const PlannedTable& table = plan.tables[i];
    const Table* target_table = target.Find(table.name);
    if (!table.incremental || !target_table) continue;
    Task task;
    task.name = "stage " + table.name.Display();
    task.weight = static_cast<double>(std::max<int64_t>(table.estimated_bytes, 1));
    task.fatal = true;
    task.run = [&, i, target_table](WorkerSession& session, std::stop_token token) {
      const PlannedTable& planned = plan.tables[i];
      auto started = std::chrono::steady_clock::now();
      log.observer().TableStarted(planned.name.Display());
      CancelOnStop cancel_source(session.Source(), token);
      CancelOnStop cancel_target(session.Target(0), token);
      TableStager stager(planned, *target_table, target, i, session, token);
      TableStage staged = stager.Run();
      staged.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      log.Debug("staged {}: {} rows, {} bytes, {} differing buckets of {}", planned.name.Display(),
                staged.rows, staged.bytes, staged.differing_buckets, staged.buckets);
      log.observer().TableDone(planned.name.Display(), staged.rows, staged.bytes);
      stages[i] = std::move(staged);
    };
    graph.Add(std::move(task));
  }
  std::function<Connection(size_t)> open_target = [&options](size_t) {
    return OpenTarget(options.target_url);
  };
  graph.Run(options.jobs, options.open_source, open_target, stop, log);
  return stages;
}

void DropStaging(Connection& target) {
  if (!target.Exec("SELECT pg_catalog.to_regnamespace('_freshet') IS NOT NULL").GetBool(0, 0))
    return;
  Result leftovers = target.Exec(LeftoverStagingSql());
  for (int i = 0; i < leftovers.Rows(); ++i)
    target.Exec("DROP TABLE IF EXISTS " + leftovers.Get(i, 0));
}

}  // namespace freshet
