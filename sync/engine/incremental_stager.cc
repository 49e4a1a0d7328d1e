#include "sync/engine/incremental_stager.h"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <memory>
#include <set>

#include "copy/copy_relay.h"
#include "copy/row_sink.h"
#include "sync/engine/mask_plan.h"
#include "sync/engine/target_rules.h"
#include "sync/engine/test_hooks.h"

namespace freshet {
namespace {

// Rows per bucket: smaller buckets find scattered differences with fewer
// rows re-read, larger ones keep the summaries small.
constexpr int kKeysPerBucket = 32;
constexpr int kRowsPerBucket = 4;
// Diff tables up to this many rows are compared row by row (32 bytes a row
// on each side in freshet's memory: 128 MB a side at the limit, for each
// job); larger ones by buckets.
constexpr int64_t kRowDiffLimit = 4'000'000;
// A side found holding more rows than this (the estimate was stale) stops
// the row diff, which then falls back to buckets.
constexpr size_t kRowDiffHardLimit = 2 * kRowDiffLimit;
// Rows a statement selects by location.
constexpr size_t kRowsPerStatement = 20'000;

}  // namespace

TableStager::TableStager(const PlannedTable& table, const Table& target_table,
                         const Catalog& catalog, size_t index, WorkerSession& session,
                         std::stop_token stop, const RunLog& log, TableWork& work)
    : table_(table),
      mode_(*table.incremental),
      sql_(table, target_table, catalog),
      stage_(StageTablesFor(index)),
      session_(session),
      stop_(stop),
      log_(log),
      work_(work),
      result_(work.result) {}

void TableStager::Run() {
  Configure();
  switch (mode_.mode) {
    case SyncMode::kWatermark:  // staged by its steps (Prepare ... Finish)
      throw Error(fmt::format("{}: watermark mode is staged step by step", table_.name.Display()));
    case SyncMode::kDiff:
      Diff();
      break;
    case SyncMode::kFull:
      CopyRows(sql_.CopyChangedRows(""));
      if (!sql_.keyed()) {
        result_.replace_all = true;
      } else if (mode_.deletes == DeletePolicy::kPropagate) {
        CreateDeleteKeys();
        result_.delete_keys =
            Target().Exec(sql_.CollectAllDeletes(stage_.delete_keys, stage_.rows)).AffectedRows();
      }
      break;
  }
  if (result_.staged_deletes) Target().Exec(sql_.AnalyzeStage(stage_.delete_keys));
  if (!mode_.watermark.empty() && result_.staged_rows) ReachWatermark();
  result_.compared_bytes += compared_bytes_;
}

void TableStager::Prepare() {
  Configure();
  Target().Exec(sql_.CreateStageRows(stage_.rows));
  result_.staged_rows = true;
  if (mode_.deletes != DeletePolicy::kPropagate) return;
  std::optional<StoredKeySums> stored = StoredSums();
  result_.bucketing = stored ? stored->bucketing : BucketsFor(false);
  if (stored) work_.target_keys = std::move(stored->sums);
  work_.target_from_state = stored.has_value();
}

// The changed rows of `unit`, then (deletes propagating) the source's key
// summary of the same rows on the same session: it reads the pages the
// copy has just read, where a separate pass over the whole table would
// read them all again from another server process.
void TableStager::CopyChunk(const CopyUnit& unit) {
  Configure();
  AddRows(sql_.CopyChangedRowsOf(unit, sql_.ChangedPredicate(mode_)));
  if (mode_.deletes != DeletePolicy::kPropagate) return;
  BucketSums sums = SumKeys(session_.Source(), sql_.KeySumsOf(unit, result_.bucketing));
  std::lock_guard lock(work_.mutex);
  AddBucketSums(work_.source_keys, sums);
}

void TableStager::SumTargetKeys() {
  if (mode_.deletes != DeletePolicy::kPropagate || work_.target_keys) return;
  Configure();
  work_.target_keys = SumKeys(Target(), sql_.BucketSums(Side::kTarget, result_.bucketing, false));
}

// The buckets whose keys differ between the source and the target; the
// keys the target has there and the source lacks are deletes, collected
// by CollectDeletedKeys slice by slice.
//
// The target's side is its keys plus the staged keys it lacks (read by
// probing its key index for each staged key), so that only deletes make a
// bucket differ. Except on range buckets summarised by the last run: the
// target's keys are then the source's of that run, new keys fall mostly in
// buckets of their own above the old ones (serial ids), and the source's
// summary is compared with the stored one directly; each slice probes the
// staged keys in its own buckets only.
void TableStager::FindDiffering() {
  Configure();
  Target().Exec(sql_.AnalyzeStage(stage_.rows));  // the merge's joins need its size
  if (mode_.deletes != DeletePolicy::kPropagate) return;
  BucketSums& target = *work_.target_keys;
  work_.probed = !(work_.target_from_state && result_.bucketing.range);
  if (work_.probed)
    AddBucketSums(target, SumKeys(Target(), sql_.StagedNewSums(result_.bucketing, stage_.rows)));
  result_.new_rows = work_.probed ? target.added : 0;  // else each slice adds its own
  result_.compared_bytes += work_.source_keys.bytes + target.bytes;
  work_.differing = DifferingBuckets(work_.source_keys, target);
  result_.differing_buckets = work_.differing.size();
  work_.slices = SliceBuckets(work_.differing, work_.slice_count, work_.slice_least);
  if (!work_.differing.empty()) CreateDeleteKeys();
}

// The stored summary of `buckets` with the staged keys the target lacks
// there added in (`added` counts them: the inserts, since every new key
// makes its bucket differ).
BucketSums TableStager::WithStagedNew(const BucketSums& stored,
                                      const std::vector<uint32_t>& buckets) {
  BucketSums sums;
  for (uint32_t bucket : buckets)
    if (auto it = stored.buckets.find(bucket); it != stored.buckets.end()) sums.buckets.insert(*it);
  AddBucketSums(
      sums, SumKeys(Target(), sql_.StagedNewSums(result_.bucketing, stage_.rows,
                                                 BucketBitmap(buckets, result_.bucketing.count))));
  return sums;
}

// The deleted keys of one slice of the differing buckets. Compared with
// the stored summary, the slice's buckets first count the staged keys the
// target lacks: those the new keys alone made differ are settled. Where
// the target holds one key more than the source (OneKeyMore), the key whose
// hash is the difference of the sums is found on the target alone, when
// exactly one is. The other buckets' keys are read from the source into a
// staging table of the slice's own, and the target's keys there it lacks
// are the deletes. On hash buckets, each way reads the whole target: the
// hashes are used only when they settle every bucket of the slice. Slices
// hold disjoint buckets, so they run at once.
void TableStager::CollectDeletedKeys(size_t slice) {
  if (slice >= work_.slices.size()) return;
  Configure();
  std::optional<BucketSums> probed_here;
  if (!work_.probed) probed_here = WithStagedNew(*work_.target_keys, work_.slices[slice]);
  const BucketSums& target = probed_here ? *probed_here : *work_.target_keys;
  std::vector<uint32_t> buckets = DifferingAmong(work_.source_keys, target, work_.slices[slice]);
  std::map<uint32_t, int64_t> one_more = OneKeyMore(work_.source_keys, target, buckets);
  if (!result_.bucketing.range && one_more.size() < buckets.size()) one_more.clear();
  std::vector<uint32_t> rest;
  for (uint32_t bucket : buckets)
    if (!one_more.count(bucket)) rest.push_back(bucket);
  uint64_t by_hash = one_more.empty() ? 0 : DeleteKeysByHash(one_more, rest);
  RelayResult keys;
  uint64_t deleted = 0;
  if (!rest.empty()) {
    QualifiedName present{stage_.source_keys.schema,
                          fmt::format("{}_{}", stage_.source_keys.name, slice)};
    Target().Exec(sql_.CreateStageKeys(present));
    keys = RelayCopy(session_.Source(),
                     sql_.CopySourceKeys(sql_.FromBuckets(Side::kSource, rest, result_.bucketing)),
                     Target(), sql_.CopyIntoStage(present, true), table_.name.Display() + " keys",
                     nullptr, stop_);
    Target().Exec(sql_.AnalyzeStage(present));
    deleted = DeleteKeysIn(rest, present);
  }
  std::lock_guard lock(work_.mutex);
  if (probed_here) {
    result_.compared_bytes += probed_here->bytes;
    *result_.new_rows += probed_here->added;
  }
  result_.compared_bytes += keys.bytes;
  result_.delete_keys += deleted + by_hash;
  result_.buckets_by_hash += by_hash;
}

// The deleted key of each of `hashes`' buckets found by its hash; the
// buckets where no single key has it (the target drifted from the stored
// summary, or the sums met by chance) join `rest`, in order.
uint64_t TableStager::DeleteKeysByHash(const std::map<uint32_t, int64_t>& hashes,
                                       std::vector<uint32_t>& rest) {
  Result found = Target().Exec(sql_.CollectDeletesByHash(
      stage_.delete_keys, {hashes.begin(), hashes.end()}, result_.bucketing));
  std::set<uint32_t> resolved;
  for (int i = 0; i < found.Rows(); ++i) resolved.insert(static_cast<uint32_t>(found.GetInt(i, 0)));
  for (const auto& [bucket, hash] : hashes)
    if (!resolved.count(bucket)) rest.push_back(bucket);
  std::sort(rest.begin(), rest.end());
  return resolved.size();
}

// The source's key summary goes to the state for the next run
// (bucket_sums.h).
void TableStager::Finish() {
  Configure();
  if (mode_.deletes == DeletePolicy::kPropagate) {
    if (result_.staged_deletes) Target().Exec(sql_.AnalyzeStage(stage_.delete_keys));
    result_.key_sums =
        EncodeKeySums({result_.bucketing, std::move(work_.source_keys), work_.run_horizon});
  }
  if (!mode_.watermark.empty()) ReachWatermark();
}

// Session settings for this table's statements, on whichever worker runs
// the step. Staging joins small sets of keys to the target's key indexes
// (see the merge). JIT compiles tuple deforming for the big scans planned
// here, and the compiled code deforms every row the scan filters (the xmin
// test keeps about 1%): 6x slower than interpreted on the reference
// workload. And the stagers are the run's parallelism: a parallel plan per
// query only adds worker processes, each paying for its first touch of the
// tables.
void TableStager::Configure() {
  // The modes are chosen so that no masked column is compared with the
  // target's; a mode that would compare one must not stage anything.
  if (auto masked = MaskedComparison(table_, mode_))
    throw Error(fmt::format("{}: cannot run in {} mode: {}", table_.name.Display(),
                            SyncModeName(mode_.mode), *masked));
  Target().Exec(
      "SET random_page_cost = 1.1; SET jit = off; SET max_parallel_workers_per_gather = 0");
  session_.Source().Exec("SET jit = off; SET max_parallel_workers_per_gather = 0");
}

void TableStager::CopyRows(const std::string& copy_out) {
  Target().Exec(sql_.CreateStageRows(stage_.rows));
  AddRows(copy_out);
  Target().Exec(sql_.AnalyzeStage(stage_.rows));  // the merge's joins need its size
  result_.staged_rows = true;
}

// Streams rows into the staging table, masked as a full sync masks them:
// the SELECT's masks are in `copy_out` (IncrementalSql), the stream's
// are this transform, on the same relay as a full sync's.
uint64_t TableStager::AddRows(const std::string& copy_out) {
  std::unique_ptr<MaskRows> masker = StreamMasker(table_.mapping.columns, table_.masks);
  std::vector<RowTransform*> transforms;
  if (masker) transforms.push_back(masker.get());
  RelayResult relayed =
      RelayCopy(session_.Source(), copy_out, Target(), sql_.CopyIntoStage(stage_.rows, false),
                table_.name.Display(), nullptr, stop_, std::move(transforms));
  std::lock_guard lock(work_.mutex);  // chunks of one table run at once
  result_.rows += relayed.rows;
  result_.bytes += relayed.bytes;
  return relayed.rows;
}

void TableStager::CreateDeleteKeys() {
  Target().Exec(sql_.CreateStageKeys(stage_.delete_keys));
  result_.staged_deletes = true;
}

// How this table's rows are put in buckets: ranges of the key's leading
// integer column when it has one (bounds read in the run's snapshot),
// else key hashes.
Bucketing TableStager::BucketsFor(bool row_hash) {
  Bucketing bucketing;
  bucketing.count = BucketCount(table_.estimated_rows, row_hash ? kRowsPerBucket : kKeysPerBucket);
  auto bounds = KeyBounds();
  if (!bounds || !DenseEnough(bounds->first, bounds->second)) return bucketing;
  return RangeBuckets(bounds->first, bounds->second, bucketing.count).value_or(bucketing);
}

// The least and greatest value of the key's leading integer column on the
// source; nullopt without one, or when the table is empty.
std::optional<std::pair<int64_t, int64_t>> TableStager::KeyBounds() {
  std::string bounds = sql_.RangeBounds();
  if (bounds.empty()) return std::nullopt;
  Result result = session_.Source().Exec(bounds);
  std::optional<std::string> lo = result.GetOptional(0, 0), hi = result.GetOptional(0, 1);
  if (!lo || !hi) return std::nullopt;
  return std::pair(std::stoll(*lo), std::stoll(*hi));
}

// The last run's key summary, when this run can take the target's side
// from it (bucket_sums.h): its bucketing still fits the table.
std::optional<StoredKeySums> TableStager::StoredSums() {
  if (mode_.stored_key_sums.empty()) return std::nullopt;
  std::optional<StoredKeySums> stored = DecodeKeySums(mode_.stored_key_sums);
  if (!stored && OlderKeySums(mode_.stored_key_sums)) {
    log_.Debug(
        "{}: the key summary the last run recorded is of an earlier freshet; "
        "summarising the target's keys this once",
        table_.name.Display());
    return std::nullopt;
  }
  if (!stored) {
    log_.Warn(
        "{}: the key summary the last run recorded cannot be read; summarising the "
        "target's keys instead",
        table_.name.Display());
    return std::nullopt;
  }
  if (stored->horizon != mode_.xmin_horizon) return std::nullopt;  // not the last run's
  std::optional<std::pair<int64_t, int64_t>> bounds;
  if (stored->bucketing.range) bounds = KeyBounds();
  std::optional<Bucketing> bucketing =
      ReuseBucketing(stored->bucketing, bounds, table_.estimated_rows, kKeysPerBucket);
  if (!bucketing) return std::nullopt;  // outgrown: summarised afresh
  stored->bucketing = *bucketing;
  return stored;
}

// Equal-width ranges balance only keys spread evenly enough: a leading
// column with far fewer values than rows (a tenant id) or a span far
// wider than the rows (one outlier id) would put most rows in a few
// buckets, so those keys are bucketed by hash.
bool TableStager::DenseEnough(int64_t lo, int64_t hi) const {
  if (table_.estimated_rows <= 0 || hi < lo) return false;
  long double span = static_cast<long double>(hi) - lo + 1;
  long double rows = static_cast<long double>(table_.estimated_rows);
  return span >= rows / 4 && span <= rows * 64;
}

// One side's key summary, with room to aggregate in memory.
BucketSums TableStager::SumKeys(Connection& side, const std::string& sql) {
  side.Exec("SET work_mem = '64MB'");
  BucketSums sums = ReadBucketSums(side, sql);
  side.Exec("RESET work_mem");
  return sums;
}

// Both sides' bucket summaries of whole rows (diff), read at once, each on
// this stager's own session.
std::vector<uint32_t> TableStager::Compare(bool row_hash) {
  result_.bucketing = BucketsFor(row_hash);
  std::future<BucketSums> target_sums = std::async(std::launch::async, [&] {
    return SumKeys(Target(), sql_.BucketSums(Side::kTarget, result_.bucketing, row_hash));
  });
  BucketSums source;
  try {
    source =
        SumKeys(session_.Source(), sql_.BucketSums(Side::kSource, result_.bucketing, row_hash));
  } catch (...) {
    target_sums.wait();  // its session is this stager's; let it finish first
    throw;
  }
  BucketSums target = target_sums.get();
  result_.compared_bytes += source.bytes + target.bytes;
  std::vector<uint32_t> differing = DifferingBuckets(source, target);
  result_.differing_buckets = differing.size();
  return differing;
}

// The target's keys of `buckets` that `present` lacks, added to the delete
// keys; how many.
uint64_t TableStager::DeleteKeysIn(const std::vector<uint32_t>& buckets,
                                   const QualifiedName& present) {
  return Target()
      .Exec(sql_.CollectDeletes(
          stage_.delete_keys, sql_.FromBuckets(Side::kTarget, buckets, result_.bucketing), present))
      .AffectedRows();
}

void TableStager::Diff() {
  if (table_.estimated_rows <= kRowDiffLimit) {
    if (RowDiff()) return;
    log_.Info("{}: more rows than a row-by-row diff holds; comparing by buckets",
              table_.name.Display());
  }
  std::vector<uint32_t> differing = Compare(true);
  if (differing.empty()) return;
  CopyRows(sql_.CopyRowsFrom(sql_.FromBuckets(Side::kSource, differing, result_.bucketing)));
  if (!sql_.keyed()) {
    result_.replace_where = {
        {sql_.InBuckets(Side::kTarget, BucketBitmap(differing, result_.bucketing.count),
                        result_.bucketing),
         std::nullopt}};
  } else if (mode_.deletes == DeletePolicy::kPropagate) {
    CreateDeleteKeys();
    result_.delete_keys = DeleteKeysIn(differing, stage_.rows);
  }
}

// One side's row fingerprints, in memory (32 bytes a row). Called for
// both sides at once: touches only its own connection and an atomic.
std::vector<RowPrint> TableStager::ReadPrints(Connection& connection, Side side) {
  static const size_t hard_limit = TestRowDiffLimit(kRowDiffHardLimit);
  std::vector<RowPrint> prints;
  prints.reserve(static_cast<size_t>(std::max<int64_t>(table_.estimated_rows, 0)));
  std::string what = table_.name.Display() +
                     (side == Side::kSource ? " row hashes (source)" : " row hashes (target)");
  ReadRowsResult read =
      ReadCopyRows(connection, sql_.RowPrints(side), what, stop_, [&](std::string_view row) {
        if (prints.size() >= hard_limit || over_limit_) {
          over_limit_ = true;
          throw Error(what + ": more rows than a row diff holds");
        }
        prints.push_back(ParseRowPrint(row, sql_.keyed(), what));
      });
  compared_bytes_ += read.bytes;
  return prints;
}

// Diff row by row (incremental_rowdiff.h): the differing source rows are
// staged by location; the target's rows the source lacks become delete
// keys (with a key) or rows to replace (without one). False (nothing
// staged) when a side holds more rows than a row diff keeps in memory.
bool TableStager::RowDiff() {
  // Both sides at once, on their own sessions: the servers hash in parallel.
  std::future<std::vector<RowPrint>> target_prints =
      std::async(std::launch::async, [this] { return ReadPrints(Target(), Side::kTarget); });
  // A read stopped for too many rows aborts the source's snapshot
  // transaction unless it ran in a savepoint.
  Connection& source_session = session_.Source();
  source_session.Exec("SAVEPOINT freshet_row_diff");
  std::vector<RowPrint> source, target;
  try {
    source = ReadPrints(source_session, Side::kSource);
    source_session.Exec("RELEASE SAVEPOINT freshet_row_diff");
  } catch (...) {
    target_prints.wait();  // its session is this stager's; let it finish first
    if (!over_limit_) throw;
    source_session.Exec("ROLLBACK TO SAVEPOINT freshet_row_diff");
    source_session.Exec("RELEASE SAVEPOINT freshet_row_diff");
    return false;
  }
  try {
    target = target_prints.get();
  } catch (...) {
    if (over_limit_) return false;
    throw;
  }
  RowDifference difference = CompareRowPrints(std::move(source), std::move(target), sql_.keyed());
  result_.differing_buckets = difference.copy.size() + difference.remove.size();
  bool removing =
      !difference.remove.empty() && (!sql_.keyed() || mode_.deletes == DeletePolicy::kPropagate);
  if (difference.copy.empty() && !removing) return true;
  Target().Exec(sql_.CreateStageRows(stage_.rows));
  result_.staged_rows = true;
  for (const auto& located :
       LocationPredicates(difference.copy, sql_.Partitioned(Side::kSource), kRowsPerStatement)) {
    // In the run's snapshot the rows cannot move: a shortfall is a bug.
    uint64_t relayed = AddRows(sql_.CopyRowsFrom(sql_.Where(Side::kSource, located.predicate)));
    if (relayed != located.rows)
      throw Error(fmt::format("{}: {} rows located on the source, {} read", table_.name.Display(),
                              located.rows, relayed));
  }
  Target().Exec(sql_.AnalyzeStage(stage_.rows));
  if (sql_.keyed()) result_.new_rows = difference.new_keys;
  if (!removing) return true;
  std::vector<LocatedRows> removes =
      LocationPredicates(difference.remove, sql_.Partitioned(Side::kTarget), kRowsPerStatement);
  if (!sql_.keyed()) {
    for (auto& located : removes)
      result_.replace_where.push_back({std::move(located.predicate), located.rows});
    return true;
  }
  CreateDeleteKeys();
  for (const auto& located : removes) {
    std::string rows = sql_.Where(Side::kTarget, located.predicate);
    uint64_t found =
        static_cast<uint64_t>(Target().Exec("SELECT count(*) FROM " + rows).GetInt(0, 0));
    if (found != located.rows)
      throw Error(
          fmt::format("{}: {} of the target's rows read by this run changed before they could be "
                      "compared (something else writes it); nothing was changed, run again",
                      table_.name.Display(), located.rows - std::min(found, located.rows)));
    result_.delete_keys +=
        Target().Exec(sql_.CollectDeletes(stage_.delete_keys, rows, stage_.rows)).AffectedRows();
  }
  return true;
}

// The watermark reached: the greatest of the last run's and the staged
// rows' (every row at or above the last one is staged).
void TableStager::ReachWatermark() {
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

}  // namespace freshet
