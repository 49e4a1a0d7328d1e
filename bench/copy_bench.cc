// Throughput of the snapshot data path's pure stages, on synthetic COPY
// streams shaped like real tables (about 100-byte rows of ids, names,
// amounts, timestamps, e-mails, flags and NULLs): splitting a stream into
// rows, dropping columns, digesting rows, and zstd both ways. MB/s is of the
// raw COPY stream.
#include <benchmark/benchmark.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "copy/copy_pipeline.h"
#include "copy/copy_rows.h"
#include "copy/row_transforms.h"
#include "copy/zstd_codec.h"

namespace freshet {
namespace {

constexpr size_t kStreamBytes = 16 << 20;
constexpr size_t kPiece = 64 << 10;
const std::vector<bool> kDropTwoOfSeven = {true, true, false, true, true, false, true};

void AppendInt16(std::string& out, int value) {
  out.push_back(static_cast<char>((value >> 8) & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

void AppendInt32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

void AppendField(std::string& out, std::string_view value) {
  AppendInt32(out, static_cast<uint32_t>(value.size()));
  out.append(value);
}

std::string BigEndian(uint64_t value, int bytes) {
  std::string out;
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(value >> shift));
  return out;
}

// One synthetic customer row: its fields in binary and in text form.
struct SyntheticRow {
  std::vector<std::optional<std::string>> binary;
  std::vector<std::string> text;
};

SyntheticRow MakeRow(std::mt19937& random, uint32_t id) {
  static const char* kFirst[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace"};
  static const char* kDomain[] = {"example.com", "mail.example.org", "corp.example.net"};
  static const char* kLast[] = {"smith", "jones", "garcia", "miller", "davis", "martinez"};
  std::string name = std::string(kFirst[random() % 7]) + " " + kLast[random() % 6] + " " +
                     std::to_string(random() % 10000);
  std::string email =
      std::string(kFirst[random() % 7]) + "." + std::to_string(id) + "@" + kDomain[random() % 3];
  uint64_t cents = random() % 10000000;
  uint64_t micros = 757382400000000ull + uint64_t{random()} * 1000;  // 2024-ish
  bool active = random() % 4 != 0;
  bool has_note = random() % 3 == 0;
  std::string note = "note " + std::to_string(random() % 100);

  SyntheticRow row;
  row.binary = {BigEndian(id, 4),
                name,
                BigEndian(cents, 8),
                BigEndian(micros, 8),
                email,
                std::string(1, active ? '\1' : '\0'),
                has_note ? std::optional<std::string>(note) : std::nullopt};
  row.text = {std::to_string(id),
              name,
              std::to_string(cents / 100) + "." + std::to_string(cents % 100),
              "2024-01-" + std::to_string(10 + random() % 18) +
                  " 12:" + std::to_string(10 + random() % 50) + ":00+00",
              email,
              active ? "t" : "f",
              has_note ? note : "\\N"};
  return row;
}

struct Streams {
  std::string binary;
  std::string text;
  std::vector<std::string_view> binary_rows;
  std::vector<std::string_view> text_rows;
};

const Streams& SyntheticStreams() {
  static const Streams streams = [] {
    Streams s;
    std::mt19937 random(42);
    s.binary.append(BinaryCopyHeader());
    std::vector<size_t> binary_ends, text_ends;
    for (uint32_t id = 1; s.binary.size() < kStreamBytes; ++id) {
      SyntheticRow row = MakeRow(random, id);
      AppendInt16(s.binary, static_cast<int>(row.binary.size()));
      for (const auto& field : row.binary) {
        if (field)
          AppendField(s.binary, *field);
        else
          AppendInt32(s.binary, 0xffffffffu);
      }
      binary_ends.push_back(s.binary.size());
      for (size_t i = 0; i < row.text.size(); ++i) {
        if (i) s.text.push_back('\t');
        s.text += row.text[i];
      }
      s.text.push_back('\n');
      text_ends.push_back(s.text.size());
    }
    s.binary.append(BinaryCopyTrailer());
    size_t start = BinaryCopyHeader().size();
    for (size_t end : binary_ends) {
      s.binary_rows.push_back(std::string_view(s.binary).substr(start, end - start));
      start = end;
    }
    start = 0;
    for (size_t end : text_ends) {
      s.text_rows.push_back(std::string_view(s.text).substr(start, end - start));
      start = end;
    }
    return s;
  }();
  return streams;
}

void BM_CopyRowReader(benchmark::State& state, StreamFormat format) {
  const Streams& streams = SyntheticStreams();
  std::string_view stream = format == StreamFormat::kBinary ? streams.binary : streams.text;
  for (auto _ : state) {
    CopyRowReader reader(format, "bench");
    uint64_t bytes = 0;
    for (size_t i = 0; i < stream.size(); i += kPiece)
      reader.Feed(stream.substr(i, kPiece),
                  [&bytes](std::string_view row) { bytes += row.size(); });
    reader.Finish();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.counters["row_bytes"] =
      static_cast<double>(stream.size()) / static_cast<double>(format == StreamFormat::kBinary
                                                                   ? streams.binary_rows.size()
                                                                   : streams.text_rows.size());
}
BENCHMARK_CAPTURE(BM_CopyRowReader, binary, StreamFormat::kBinary)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CopyRowReader, text, StreamFormat::kText)->Unit(benchmark::kMillisecond);

void BM_RowProjector(benchmark::State& state, StreamFormat format) {
  const Streams& streams = SyntheticStreams();
  const auto& rows = format == StreamFormat::kBinary ? streams.binary_rows : streams.text_rows;
  RowProjector projector(format, kDropTwoOfSeven);
  std::string out;
  out.reserve(kStreamBytes);
  size_t bytes = 0;
  for (std::string_view row : rows) bytes += row.size();
  for (auto _ : state) {
    out.clear();
    for (std::string_view row : rows) projector.Project(row, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK_CAPTURE(BM_RowProjector, binary, StreamFormat::kBinary)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RowProjector, text, StreamFormat::kText)->Unit(benchmark::kMillisecond);

void BM_RowDigest(benchmark::State& state) {
  const auto& rows = SyntheticStreams().binary_rows;
  size_t bytes = 0;
  for (std::string_view row : rows) bytes += row.size();
  for (auto _ : state) {
    RowDigest digest;
    for (std::string_view row : rows) digest.Add(row);
    benchmark::DoNotOptimize(digest.sum());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_RowDigest)->Unit(benchmark::kMillisecond);

// Args: level, threads, piece size. The snapshot writer hands the compressor
// 128 KB batches; the 100-byte case is what one call per COPY row would cost.
void BM_ZstdCompress(benchmark::State& state) {
  const std::string& raw = SyntheticStreams().binary;
  ZstdOptions options{.level = static_cast<int>(state.range(0)),
                      .threads = static_cast<int>(state.range(1))};
  const size_t piece = static_cast<size_t>(state.range(2));
  std::string out;
  out.reserve(raw.size());
  for (auto _ : state) {
    out.clear();
    ZstdCompressor compressor(options);
    std::string_view input(raw);
    for (size_t i = 0; i < input.size(); i += piece)
      compressor.Compress(input.substr(i, piece), out);
    compressor.Finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
  state.counters["ratio"] = static_cast<double>(raw.size()) / static_cast<double>(out.size());
}
BENCHMARK(BM_ZstdCompress)
    ->ArgNames({"level", "threads", "piece"})
    ->Args({1, 0, 128 << 10})
    ->Args({3, 0, 128 << 10})
    ->Args({6, 0, 128 << 10})
    ->Args({1, 2, 128 << 10})
    ->Args({3, 2, 128 << 10})
    ->Args({6, 2, 128 << 10})
    ->Args({1, 0, 100})
    ->Args({3, 0, 100})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Decompression the way SnapshotFileReader does it: 1 MB compressed blocks
// into 1 MB output pieces.
void BM_ZstdDecompress(benchmark::State& state) {
  const std::string& raw = SyntheticStreams().binary;
  std::string compressed;
  ZstdCompressor compressor({.level = static_cast<int>(state.range(0))});
  compressor.Compress(raw, compressed);
  compressor.Finish(compressed);
  std::string piece(1 << 20, '\0');
  for (auto _ : state) {
    ZstdDecompressor decompressor;
    std::string_view input(compressed);
    size_t total = 0;
    for (;;) {
      std::string_view block = input.substr(0, 1 << 20);
      ZstdDecompressor::Progress progress = decompressor.DecompressSome(block, piece);
      input.remove_prefix(progress.consumed);
      total += progress.produced;
      if (progress.consumed == 0 && progress.produced == 0) break;
    }
    decompressor.Finish();
    if (total != raw.size()) state.SkipWithError("decompressed size differs");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
}
BENCHMARK(BM_ZstdDecompress)
    ->ArgName("level")
    ->Arg(1)
    ->Arg(3)
    ->Arg(6)
    ->Unit(benchmark::kMillisecond);

// The pipeline's own cost per row, without servers: a source yielding the
// synthetic stream as a server sends it (one message per row), into a sink
// that only counts bytes. "plain" moves messages untouched (sync's relay),
// "digest" frames and digests every row (capture), "project" also drops two
// of seven columns (restore into a narrower table; the shape of masking).
class MessageSource final : public CopySource {
 public:
  explicit MessageSource(const std::vector<std::string>& messages) : messages_(messages) {}
  void Begin(const StopWaker&) override { next_ = 0; }
  ReadStatus Read(std::string_view* piece) override {
    if (next_ == messages_.size()) return ReadStatus::kEnd;
    *piece = messages_[next_++];
    return ReadStatus::kData;
  }
  bool message_framed() const override { return true; }
  std::optional<uint64_t> End(const StopWaker&) override { return messages_.size() - 1; }
  void Abort() noexcept override {}

 private:
  const std::vector<std::string>& messages_;
  size_t next_ = 0;
};

class CountingSink final : public CopySink {
 public:
  void Begin(const StopWaker&) override {}
  void Write(std::string_view data) override { bytes_ += data.size(); }
  void EndStream() override {}
  uint64_t Finish(const StopWaker&) override { return bytes_; }
  void Abort(const char*, bool) noexcept override {}

 private:
  uint64_t bytes_ = 0;
};

const std::vector<std::string>& ServerMessages() {
  static const std::vector<std::string> messages = [] {
    const Streams& streams = SyntheticStreams();
    std::vector<std::string> out;
    for (std::string_view row : streams.binary_rows) out.emplace_back(row);
    out.front().insert(0, BinaryCopyHeader());
    out.emplace_back(BinaryCopyTrailer());
    return out;
  }();
  return messages;
}

enum class PipelineWork { kPlain, kDigest, kProject };

void BM_Pipeline(benchmark::State& state, PipelineWork work) {
  const std::vector<std::string>& messages = ServerMessages();
  ProjectRows projection(StreamFormat::kBinary, kDropTwoOfSeven);
  for (auto _ : state) {
    MessageSource source(messages);
    CountingSink sink;
    CopySink* const sinks[] = {&sink};
    RowDigest digest;
    CopyPipelineOptions options;
    if (work != PipelineWork::kPlain) options.digest = &digest;
    if (work == PipelineWork::kProject) options.transforms = {&projection};
    CopyPipelineResult result = RunCopyPipeline(source, sinks, options, {});
    if (result.failure) state.SkipWithError(result.failure->error.what());
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * SyntheticStreams().binary.size()));
}
BENCHMARK_CAPTURE(BM_Pipeline, plain, PipelineWork::kPlain)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Pipeline, digest, PipelineWork::kDigest)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Pipeline, project, PipelineWork::kProject)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace freshet
