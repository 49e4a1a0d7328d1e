#include "sync/engine/bucket_sums.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <string_view>
#include <type_traits>

#include "copy/error.h"
#include "copy/zstd_codec.h"

namespace freshet {
namespace {

using Int128 = BucketSum;

Int128 AddChecked(Int128 a, Int128 b) {
  Int128 sum;
  if (__builtin_add_overflow(a, b, &sum)) throw Error("bucket sum overflows 127 bits");
  return sum;
}

// freshet key sums, version 3: range buckets sum a hash of each key (version
// 2 summed the key values, which a delete and an insert in one bucket can
// leave unchanged). The versions share their first three bytes.
constexpr std::string_view kMagic = "FKS3";
constexpr std::string_view kFamily = "FKS";

// Integers little-endian, whatever the machine that wrote them.
template <typename T>
void Put(std::string& out, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

template <typename T>
bool Take(std::string_view& in, T& value) {
  if (in.size() < sizeof(T)) return false;
  std::make_unsigned_t<T> bits = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    bits |= static_cast<std::make_unsigned_t<T>>(static_cast<unsigned char>(in[i])) << (8 * i);
  value = static_cast<T>(bits);
  in.remove_prefix(sizeof(T));
  return true;
}

}  // namespace

BucketSum ParseBucketSum(std::string_view text) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.size() > 38)
    throw Error(fmt::format("bucket sum out of range: {}", text));
  Int128 value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') throw Error(fmt::format("bucket sum is not an integer: {}", text));
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

BucketSums ReadBucketSums(Connection& connection, const std::string& sql) {
  BucketSums sums;
  Result result = connection.Exec(sql);
  for (int i = 0; i < result.Rows(); ++i) {
    std::string_view sum = result.Text(i, 2);
    sums.buckets[static_cast<uint32_t>(result.GetInt(i, 0))] = {result.GetInt(i, 1),
                                                                ParseBucketSum(sum)};
    sums.added += static_cast<uint64_t>(result.GetInt(i, 3));
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

std::vector<uint32_t> DifferingAmong(const BucketSums& source, const BucketSums& target,
                                     const std::vector<uint32_t>& buckets) {
  const std::pair<int64_t, BucketSum> empty{0, 0};
  std::vector<uint32_t> differing;
  for (uint32_t bucket : buckets) {
    auto s = source.buckets.find(bucket);
    auto t = target.buckets.find(bucket);
    if ((s == source.buckets.end() ? empty : s->second) !=
        (t == target.buckets.end() ? empty : t->second))
      differing.push_back(bucket);
  }
  return differing;
}

std::map<uint32_t, int64_t> OneKeyMore(const BucketSums& source, const BucketSums& target,
                                       const std::vector<uint32_t>& differing) {
  std::map<uint32_t, int64_t> more;
  const std::pair<int64_t, BucketSum> empty{0, 0};
  for (uint32_t bucket : differing) {
    auto s = source.buckets.find(bucket);
    auto t = target.buckets.find(bucket);
    const auto& [source_rows, source_sum] = s == source.buckets.end() ? empty : s->second;
    const auto& [target_rows, target_sum] = t == target.buckets.end() ? empty : t->second;
    BucketSum difference = 0;
    if (target_rows - source_rows == 1 &&
        !__builtin_sub_overflow(target_sum, source_sum, &difference) &&
        difference >= std::numeric_limits<int64_t>::min() &&
        difference <= std::numeric_limits<int64_t>::max())
      more.emplace(bucket, static_cast<int64_t>(difference));
  }
  return more;
}

std::vector<std::vector<uint32_t>> SliceBuckets(const std::vector<uint32_t>& buckets, size_t slices,
                                                size_t least) {
  size_t count = std::min(slices, buckets.size() / std::max<size_t>(least, 1));
  count = std::max<size_t>(count, buckets.empty() ? 0 : 1);
  std::vector<std::vector<uint32_t>> out;
  for (size_t k = 0; k < count; ++k)  // slice k: [k * n / count, (k + 1) * n / count)
    out.emplace_back(buckets.begin() + static_cast<ptrdiff_t>(k * buckets.size() / count),
                     buckets.begin() + static_cast<ptrdiff_t>((k + 1) * buckets.size() / count));
  return out;
}

void AddBucketSums(BucketSums& base, const BucketSums& more) {
  for (const auto& [bucket, summary] : more.buckets) {
    auto [it, inserted] = base.buckets.try_emplace(bucket, summary);
    if (inserted) continue;
    it->second.first += summary.first;
    it->second.second = AddChecked(it->second.second, summary.second);
  }
  base.added += more.added;
  base.bytes += more.bytes;
}

std::string EncodeKeySums(const StoredKeySums& stored) {
  std::string raw(kMagic);
  Put(raw, stored.horizon);
  const Bucketing& b = stored.bucketing;
  Put<uint8_t>(raw, b.range ? 1 : 0);
  Put(raw, b.lo);
  Put(raw, b.hi);
  Put(raw, b.width);
  Put(raw, b.count);
  Put(raw, static_cast<uint64_t>(stored.sums.buckets.size()));
  for (const auto& [bucket, summary] : stored.sums.buckets) {
    Int128 sum = summary.second;
    Put(raw, bucket);
    Put(raw, summary.first);
    Put(raw, static_cast<uint64_t>(static_cast<unsigned __int128>(sum)));
    Put(raw, static_cast<uint64_t>(static_cast<unsigned __int128>(sum) >> 64));
  }
  std::string out;
  ZstdCompressor compressor(ZstdOptions{});
  compressor.Compress(raw, out);
  compressor.Finish(out);
  return out;
}

namespace {

std::optional<std::string> Decompressed(std::string_view bytes) {
  std::string raw;
  try {
    ZstdDecompressor decompressor;
    decompressor.Decompress(bytes, raw);
    decompressor.Finish();
  } catch (const Error&) {
    return std::nullopt;
  }
  return raw;
}

}  // namespace

bool OlderKeySums(std::string_view bytes) {
  std::optional<std::string> raw = Decompressed(bytes);
  return raw && raw->size() >= kMagic.size() && raw->starts_with(kFamily) &&
         raw->substr(0, kMagic.size()) < kMagic;
}

std::optional<StoredKeySums> DecodeKeySums(std::string_view bytes) {
  std::optional<std::string> raw = Decompressed(bytes);
  if (!raw) return std::nullopt;
  std::string_view in = *raw;
  if (in.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  in.remove_prefix(kMagic.size());
  StoredKeySums stored;
  Bucketing& b = stored.bucketing;
  uint8_t range = 0;
  uint64_t entries = 0;
  if (!Take(in, stored.horizon) || !Take(in, range) || !Take(in, b.lo) || !Take(in, b.hi) ||
      !Take(in, b.width) || !Take(in, b.count) || !Take(in, entries) || range > 1 || b.width < 1 ||
      b.count < 1)
    return std::nullopt;
  b.range = range == 1;
  for (uint64_t i = 0; i < entries; ++i) {
    uint32_t bucket = 0;
    int64_t count = 0;
    uint64_t low = 0, high = 0;
    if (!Take(in, bucket) || !Take(in, count) || !Take(in, low) || !Take(in, high))
      return std::nullopt;
    auto sum = static_cast<Int128>((static_cast<unsigned __int128>(high) << 64) | low);
    stored.sums.buckets[bucket] = {count, sum};
  }
  if (!in.empty()) return std::nullopt;
  return stored;
}

std::optional<Bucketing> ReuseBucketing(const Bucketing& stored,
                                        std::optional<std::pair<int64_t, int64_t>> bounds,
                                        int64_t estimated_rows, int keys_per_bucket) {
  Bucketing bucketing = stored;
  if (stored.range && bounds) {
    auto [lo, hi] = *bounds;
    if (static_cast<Int128>(lo) < static_cast<Int128>(stored.lo) - Int128{4} * stored.width)
      return std::nullopt;
    Int128 reach = (static_cast<Int128>(hi) - stored.lo + stored.width) / stored.width;
    Int128 count = std::max<Int128>(stored.count, reach);
    if (count > std::numeric_limits<int32_t>::max()) return std::nullopt;
    bucketing.count = static_cast<uint32_t>(count);
    bucketing.hi = static_cast<int64_t>(
        std::min<Int128>(static_cast<Int128>(stored.lo) + count * stored.width - 1,
                         std::numeric_limits<int64_t>::max()));
  }
  if (estimated_rows > 0) {
    long double per_bucket = static_cast<long double>(estimated_rows) / bucketing.count;
    if (per_bucket < keys_per_bucket / 4.0L || per_bucket > keys_per_bucket * 4.0L)
      return std::nullopt;
  }
  return bucketing;
}

std::string ToByteaHex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string text = "\\x";
  text.reserve(2 + bytes.size() * 2);
  for (unsigned char byte : bytes) {
    text += digits[byte >> 4];
    text += digits[byte & 15];
  }
  return text;
}

std::string FromByteaHex(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.substr(0, 2) != "\\x" || text.size() % 2 != 0) throw Error("not a bytea in hex form");
  std::string bytes;
  bytes.reserve(text.size() / 2 - 1);
  for (size_t i = 2; i < text.size(); i += 2) {
    int high = nibble(text[i]), low = nibble(text[i + 1]);
    if (high < 0 || low < 0) throw Error("not a bytea in hex form");
    bytes.push_back(static_cast<char>(high << 4 | low));
  }
  return bytes;
}

}  // namespace freshet
