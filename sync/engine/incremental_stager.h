// The steps that stage one table of an incremental run (incremental_stage.h)
// on one worker's two sessions. A diff or full table is staged by one task
// (Run). A watermark table's steps are tasks of their own, so one big table
// keeps every worker busy: Prepare (the staging table, the bucketing), then
// at once its changed rows chunk by chunk (CopyChunk: per leaf partition,
// and ctid ranges of big relations), each with the source's key summary of
// its rows, and the target's key summary (SumTargetKeys, unless the last run
// left one in the state), then FindDiffering (the buckets whose keys
// differ), CollectDeletedKeys on slices of those buckets at once (the keys
// to delete: by their hashes where the target has one key more, else from
// the source's keys), and Finish (the watermark reached, the source's key
// summary for the state).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "sync/engine/bucket_sums.h"
#include "sync/engine/incremental_rowdiff.h"
#include "sync/engine/incremental_sql.h"
#include "sync/engine/incremental_stage.h"
#include "sync/engine/task_graph.h"

namespace freshet {

// What the tasks of one table share. Prepare writes before the others
// start and Finish reads after they end (the task graph orders them);
// chunks and slices running at once add their counts under `mutex`.
struct TableWork {
  std::mutex mutex;
  TableStage result;
  std::optional<BucketSums> target_keys;  // the target's key summary (stored, or read)
  bool target_from_state = false;         // stored by the last run
  BucketSums source_keys;                 // the source's
  uint64_t run_horizon = 0;               // this run's source xmin horizon
  // The differing buckets, split by FindDiffering into at most slice_count
  // runs of buckets whose deleted keys are collected at once, one task each.
  size_t slice_count = 1;
  size_t slice_least = 1;  // buckets a slice holds at least
  std::vector<uint32_t> differing;
  std::vector<std::vector<uint32_t>> slices;
  // FindDiffering probed every staged key against the target's (else each
  // slice probes those of its own buckets).
  bool probed = false;
  std::once_flag started_once;
  std::chrono::steady_clock::time_point started;
};

class TableStager {
 public:
  // `index`: the table's place in the plan (names its staging tables).
  TableStager(const PlannedTable& table, const Table& target_table, const Catalog& catalog,
              size_t index, WorkerSession& session, std::stop_token stop, const RunLog& log,
              TableWork& work);

  // Every step of a diff or full table.
  void Run();

  // Watermark mode, step by step.
  void Prepare();
  void CopyChunk(const CopyUnit& unit);
  void SumTargetKeys();                   // nothing when Prepare took the last run's summary
  void FindDiffering();                   // after the chunks: the buckets whose keys differ
  void CollectDeletedKeys(size_t slice);  // one slice of them (TableWork::slice_count)
  void Finish();

 private:
  Connection& Target() { return session_.Target(0); }
  void Configure();
  void CopyRows(const std::string& copy_out);
  uint64_t AddRows(const std::string& copy_out);
  void CreateDeleteKeys();
  Bucketing BucketsFor(bool row_hash);
  std::optional<std::pair<int64_t, int64_t>> KeyBounds();
  bool DenseEnough(int64_t lo, int64_t hi) const;
  std::optional<StoredKeySums> StoredSums();
  BucketSums SumKeys(Connection& side, const std::string& sql);
  std::vector<uint32_t> Compare(bool row_hash);
  BucketSums WithStagedNew(const BucketSums& stored, const std::vector<uint32_t>& buckets);
  uint64_t DeleteKeysByHash(const std::map<uint32_t, int64_t>& hashes, std::vector<uint32_t>& rest);
  uint64_t DeleteKeysIn(const std::vector<uint32_t>& buckets, const QualifiedName& present);
  void Diff();
  std::vector<RowPrint> ReadPrints(Connection& connection, Side side);
  bool RowDiff();
  void ReachWatermark();

  const PlannedTable& table_;
  const TableMode& mode_;
  IncrementalSql sql_;
  StageTables stage_;
  WorkerSession& session_;
  std::stop_token stop_;
  const RunLog& log_;
  TableWork& work_;
  TableStage& result_;
  std::atomic<uint64_t> compared_bytes_{0};  // RowDiff's, added to result_ at the end
  std::atomic<bool> over_limit_{false};      // RowDiff met more rows than it holds
};

}  // namespace freshet
