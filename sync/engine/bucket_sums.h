// Bucket summaries of keys (incremental_sql.h): per bucket, the row count
// and the sum of one hash per row, as each side's SQL returns them; the
// comparison of two sides; and the summary a run keeps in its state.
//
// A watermark run that propagates deletes compares the source's key
// summary with the target's. Right after its merge, the target holds
// exactly the source's keys of that snapshot, so the run stores the
// source's summary (with its bucketing) in the state, and the next run
// takes the target's side from it instead of summarising every key of the
// target again (see TableStager::FindDiffering).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "copy/connection.h"
#include "sync/engine/incremental_sql.h"

namespace freshet {

// A bucket's sum of hashes (or of key values): PostgreSQL's sum() of
// bigints, which needs more than 64 bits.
using BucketSum = __int128;
// One side's bucket summaries: bucket -> (rows, sum).
struct BucketSums {
  std::map<uint32_t, std::pair<int64_t, BucketSum>> buckets;
  uint64_t added = 0;  // staged keys the target lacks, counted in
  uint64_t bytes = 0;  // result bytes read
};
// Runs `sql` (b, count, sum, added per row).
BucketSums ReadBucketSums(Connection& connection, const std::string& sql);
// A sum as sum() prints it; throws Error unless it is an integer of at most
// 38 digits.
BucketSum ParseBucketSum(std::string_view text);
// Buckets whose count or sum differ (missing on one side counts as empty).
std::vector<uint32_t> DifferingBuckets(const BucketSums& source, const BucketSums& target);
// The buckets of `buckets` whose count or sum differ between the sides.
std::vector<uint32_t> DifferingAmong(const BucketSums& source, const BucketSums& target,
                                     const std::vector<uint32_t>& buckets);
// The buckets of `differing` where `target` holds exactly one key more
// than `source` (bucket -> the difference of their sums). When that key is
// all the sides differ by there, the difference is its hash, and the key is
// found on the target alone. Differences outside int64 (no hash) are left
// out.
std::map<uint32_t, int64_t> OneKeyMore(const BucketSums& source, const BucketSums& target,
                                       const std::vector<uint32_t>& differing);
// `buckets` (in order) cut into at most `slices` runs of consecutive
// buckets, as even as they go, each of at least `least` buckets (or all of
// them in one); none when `buckets` is empty.
std::vector<std::vector<uint32_t>> SliceBuckets(const std::vector<uint32_t>& buckets, size_t slices,
                                                size_t least);
// Adds `more` into `base`, bucket by bucket (counts and sums); `added` and
// `bytes` too. Throws Error when a sum overflows 127 bits.
void AddBucketSums(BucketSums& base, const BucketSums& more);

// A summary with the bucketing it was taken under, as the state keeps it,
// and the xmin horizon of the run that took it: a later run uses it only
// when the state's horizon is still that one (so a summary an older freshet
// left behind, when it wrote the state without one, is never used).
struct StoredKeySums {
  Bucketing bucketing;
  BucketSums sums;
  uint64_t horizon = 0;
};
// The bytes of `stored` as the state's bytea holds them (compressed).
std::string EncodeKeySums(const StoredKeySums& stored);
// Decodes EncodeKeySums' bytes; nullopt when they are not such bytes
// (truncated, corrupt, another version).
std::optional<StoredKeySums> DecodeKeySums(std::string_view bytes);
// Whether `bytes` are a summary an earlier freshet stored (an older version
// of the form), which this one does not use.
bool OlderKeySums(std::string_view bytes);

// The bucketing of a table this run when it reuses `stored`'s (so the
// stored summary still counts every key in the same bucket): range buckets
// keep their low end and width and grow in number to reach `bounds`, the
// source's least and greatest key now (none: the table is empty); hash
// buckets stay as they were. Nullopt when the table has outgrown it: a
// bucket would average outside [keys_per_bucket / 4, keys_per_bucket * 4]
// of `estimated_rows` (ignored when unknown, <= 0), keys reach more than
// four buckets below the low end, or the count would not fit the SQL's int4.
std::optional<Bucketing> ReuseBucketing(const Bucketing& stored,
                                        std::optional<std::pair<int64_t, int64_t>> bounds,
                                        int64_t estimated_rows, int keys_per_bucket);

// bytea's text form ('\x' and hex digits) and back; FromByteaHex throws
// Error on anything else.
std::string ToByteaHex(std::string_view bytes);
std::string FromByteaHex(std::string_view text);

}  // namespace freshet
