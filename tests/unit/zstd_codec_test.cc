// ZstdCompressor and ZstdDecompressor on bytes: what goes in comes out at any
// level, with worker threads, and however the input is cut; the frame carries
// a checksum; a corrupt, truncated or overlong input is an Error, never
// silently wrong data.
#include "copy/zstd_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <random>
#include <string>

#include "copy/error.h"

namespace freshet {
namespace {

using ::testing::HasSubstr;

// COPY-like text: repeated column patterns with varying values.
std::string SampleData(size_t size, unsigned seed = 1) {
  std::mt19937 random(seed);
  std::string data;
  for (int id = 1; data.size() < size; ++id) {
    data += std::to_string(id) + "\tcustomer_" + std::to_string(random() % 5000) + "\t" +
            std::to_string(random() % 100000) + "." + std::to_string(random() % 100) + "\t2024-0" +
            std::to_string(1 + random() % 9) + "-1" + std::to_string(random() % 10) +
            " 12:34:56+00\t{\"k\": " + std::to_string(random() % 7) + "}\n";
  }
  data.resize(size);
  return data;
}

// Compresses `raw` fed in pieces of `piece` bytes.
std::string Compress(std::string_view raw, const ZstdOptions& options, size_t piece = 65536) {
  ZstdCompressor compressor(options);
  std::string out;
  for (size_t i = 0; i < raw.size(); i += piece) compressor.Compress(raw.substr(i, piece), out);
  compressor.Finish(out);
  return out;
}

std::string Decompress(std::string_view compressed, size_t piece = 65536) {
  ZstdDecompressor decompressor;
  std::string out;
  for (size_t i = 0; i < compressed.size(); i += piece)
    decompressor.Decompress(compressed.substr(i, piece), out);
  decompressor.Finish();
  return out;
}

TEST(ZstdCodecTest, RoundTripsAtSeveralLevels) {
  std::string raw = SampleData(3 << 20);
  for (int level : {-5, 1, 3, 6, 12}) {
    std::string compressed = Compress(raw, {.level = level});
    EXPECT_LT(compressed.size(), raw.size() / 2) << "level " << level;
    EXPECT_EQ(Decompress(compressed), raw) << "level " << level;
  }
}

TEST(ZstdCodecTest, RoundTripsWithWorkerThreads) {
  std::string raw = SampleData(8 << 20, 2);
  std::string compressed = Compress(raw, {.level = 3, .threads = 2});
  EXPECT_EQ(Decompress(compressed), raw);
}

TEST(ZstdCodecTest, RoundTripsWhateverThePieceSizes) {
  std::string raw = SampleData(300000, 3);
  std::string compressed = Compress(raw, {.level = 3}, /*piece=*/97);
  EXPECT_EQ(Decompress(compressed, /*piece=*/1), raw);
  EXPECT_EQ(Decompress(compressed, /*piece=*/compressed.size()), raw);
}

TEST(ZstdCodecTest, EmptyInputIsAValidFrame) {
  std::string compressed = Compress("", {});
  EXPECT_FALSE(compressed.empty());
  EXPECT_EQ(Decompress(compressed), "");
}

TEST(ZstdCodecTest, FrameIsStandardAndCarriesAChecksum) {
  std::string compressed = Compress(SampleData(100000), {.level = 3});
  ASSERT_GT(compressed.size(), 8u);
  EXPECT_EQ(compressed.substr(0, 4), "\x28\xb5\x2f\xfd");  // the zstd magic number
  // Frame header descriptor, bit 2: Content_Checksum_flag (RFC 8878).
  EXPECT_NE(compressed[4] & 0x04, 0);
  EXPECT_EQ(ZSTD_findFrameCompressedSize(compressed.data(), compressed.size()), compressed.size());
}

TEST(ZstdCodecTest, DecompressSomeNeverWritesPastTheRoom) {
  std::string raw = SampleData(1 << 20, 4);
  std::string compressed = Compress(raw, {});
  ZstdDecompressor decompressor;
  std::string out;
  char room[1000];
  std::string_view input(compressed);
  for (;;) {
    ZstdDecompressor::Progress progress = decompressor.DecompressSome(input, room);
    ASSERT_LE(progress.produced, sizeof room);
    input.remove_prefix(progress.consumed);
    out.append(room, progress.produced);
    if (progress.produced == 0 && progress.consumed == 0) break;
  }
  EXPECT_TRUE(input.empty());
  decompressor.Finish();
  EXPECT_EQ(out, raw);
}

TEST(ZstdCodecTest, CorruptByteInTheMiddleIsAnError) {
  std::string raw = SampleData(1 << 20, 5);
  std::string compressed = Compress(raw, {});
  for (size_t position : {compressed.size() / 3, compressed.size() / 2, compressed.size() - 5,
                          compressed.size() - 2 /* in the checksum */}) {
    std::string corrupt = compressed;
    corrupt[position] ^= 0x5a;
    try {
      std::string out = Decompress(corrupt);
      ADD_FAILURE() << "decoded corrupt data (byte " << position << ")";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), HasSubstr("zstd")) << position;
    }
  }
}

TEST(ZstdCodecTest, TruncatedFrameIsAnErrorAtFinish) {
  std::string compressed = Compress(SampleData(500000, 6), {});
  for (size_t keep : {size_t{0}, size_t{3}, compressed.size() / 2, compressed.size() - 1}) {
    ZstdDecompressor decompressor;
    std::string out;
    decompressor.Decompress(std::string_view(compressed).substr(0, keep), out);
    try {
      decompressor.Finish();
      ADD_FAILURE() << "a frame cut at " << keep << " passed";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), HasSubstr("truncated")) << keep;
    }
  }
}

TEST(ZstdCodecTest, DataAfterTheFrameIsAnError) {
  std::string compressed = Compress(SampleData(100000, 7), {});
  try {
    Decompress(compressed + "garbage");
    ADD_FAILURE() << "trailing garbage accepted";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("after the end of the frame"));
  }
  // Also when it arrives in a later call, and when it is a second frame.
  ZstdDecompressor decompressor;
  std::string out;
  decompressor.Decompress(compressed, out);
  EXPECT_THROW(decompressor.Decompress("x", out), Error);
  EXPECT_THROW(Decompress(compressed + compressed), Error);
}

TEST(ZstdCodecTest, InvalidOptionsAreUsageErrors) {
  for (ZstdOptions options : {ZstdOptions{.level = 23}, ZstdOptions{.level = -200000},
                              ZstdOptions{.level = 3, .threads = -1}}) {
    try {
      ZstdCompressor compressor(options);
      ADD_FAILURE() << "accepted level " << options.level << " threads " << options.threads;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    }
  }
}

TEST(ZstdCodecTest, CompressAfterFinishIsAnError) {
  ZstdCompressor compressor({});
  std::string out;
  compressor.Finish(out);
  EXPECT_THROW(compressor.Compress("more", out), Error);
  EXPECT_THROW(compressor.Finish(out), Error);
}

TEST(ZstdCodecTest, MovedCodecsKeepTheirStream) {
  std::string raw = SampleData(200000, 8);
  ZstdCompressor first({});
  std::string compressed;
  first.Compress(std::string_view(raw).substr(0, 1000), compressed);
  ZstdCompressor second = std::move(first);
  second.Compress(std::string_view(raw).substr(1000), compressed);
  second.Finish(compressed);
  ZstdDecompressor decompressor;
  std::string out;
  decompressor.Decompress(std::string_view(compressed).substr(0, 10), out);
  ZstdDecompressor moved = std::move(decompressor);
  moved.Decompress(std::string_view(compressed).substr(10), out);
  moved.Finish();
  EXPECT_EQ(out, raw);
}

}  // namespace
}  // namespace freshet
