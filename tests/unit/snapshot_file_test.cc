// Snapshot data files on disk: what is written reads back byte for byte in
// bounded pieces, writer and reader agree on sizes and checksums, an
// unfinished file never stays behind, an existing file is never overwritten,
// and a damaged file is an Error naming its path.
#include "copy/snapshot_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "copy/error.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string SampleData(size_t size, unsigned seed = 1) {
  std::mt19937 random(seed);
  std::string data;
  for (int id = 1; data.size() < size; ++id) {
    data += std::to_string(id) + "\tname " + std::to_string(random() % 100000) + "\t" +
            std::to_string(random()) + "\t2024-05-0" + std::to_string(1 + random() % 9) + "\n";
  }
  data.resize(size);
  return data;
}

std::string FileContents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteContents(const fs::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

std::string Hex(uint64_t value) {
  char text[17];
  snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "freshet-snapshot-file-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `raw` in pieces of `piece` bytes to a new file; returns its digest.
  FileDigest WriteFile(const fs::path& path, std::string_view raw, size_t piece = 100,
                       ZstdOptions options = {}) {
    SnapshotFileWriter writer = SnapshotFileWriter::Create(path, options);
    for (size_t i = 0; i < raw.size(); i += piece) writer.Write(raw.substr(i, piece));
    return writer.Finish();
  }

  // Reads the whole file; checks every piece is at most about 1 MB.
  std::string ReadFile(const fs::path& path, FileDigest* digest = nullptr) {
    SnapshotFileReader reader = SnapshotFileReader::Open(path);
    std::string all, piece;
    while (reader.Read(piece)) {
      EXPECT_FALSE(piece.empty());
      EXPECT_LE(piece.size(), size_t{1} << 20);
      all += piece;
    }
    EXPECT_TRUE(piece.empty());
    EXPECT_FALSE(reader.Read(piece));  // stays at the end
    if (digest) *digest = reader.digest();
    return all;
  }

  // The error reading `path` throws, or "" (with a test failure) if none.
  std::string ReadError(const fs::path& path) {
    try {
      ReadFile(path);
    } catch (const Error& error) {
      return error.what();
    }
    ADD_FAILURE() << "read " << path << " without an error";
    return "";
  }

  fs::path dir_;
};

TEST_F(SnapshotFileTest, WhatIsWrittenReadsBackInBoundedPieces) {
  std::string raw = SampleData(5 << 20);
  fs::path path = dir_ / "0001.copy.zst";
  FileDigest written = WriteFile(path, raw);
  FileDigest read;
  EXPECT_EQ(ReadFile(path, &read), raw);
  EXPECT_EQ(read, written);
  EXPECT_EQ(written.raw_bytes, raw.size());
  EXPECT_EQ(written.compressed_bytes, fs::file_size(path));
  EXPECT_LT(written.compressed_bytes, raw.size() / 2);
}

TEST_F(SnapshotFileTest, DigestsAreXxh3OfTheRawStreamAndOfTheFile) {
  std::string raw = SampleData(3 << 20, 2);
  fs::path path = dir_ / "data.zst";
  FileDigest written = WriteFile(path, raw, /*piece=*/300000);
  EXPECT_EQ(written.raw_xxh3, Hex(XXH3_64bits(raw.data(), raw.size())));
  std::string file = FileContents(path);
  EXPECT_EQ(written.file_xxh3, Hex(XXH3_64bits(file.data(), file.size())));
  EXPECT_THAT(written.raw_xxh3, ::testing::MatchesRegex("[0-9a-f]{16}"));
}

TEST_F(SnapshotFileTest, DigestFileBytesMatchesTheWriterWithoutDecompressing) {
  fs::path path = dir_ / "data.zst";
  FileDigest written = WriteFile(path, SampleData(2 << 20, 3));
  FileDigest bytes = DigestFileBytes(path);
  EXPECT_EQ(bytes.compressed_bytes, written.compressed_bytes);
  EXPECT_EQ(bytes.file_xxh3, written.file_xxh3);
  EXPECT_EQ(bytes.raw_bytes, 0u);
  EXPECT_TRUE(bytes.raw_xxh3.empty());
}

TEST_F(SnapshotFileTest, DigestFileBytesOfAnyFile) {
  fs::path path = dir_ / "plain";
  WriteContents(path, "abc");
  FileDigest digest = DigestFileBytes(path);
  EXPECT_EQ(digest.compressed_bytes, 3u);
  EXPECT_EQ(digest.file_xxh3, Hex(XXH3_64bits("abc", 3)));
  WriteContents(dir_ / "empty", "");
  EXPECT_EQ(DigestFileBytes(dir_ / "empty").file_xxh3, "2d06800538d394c2");  // XXH3 of nothing
}

TEST_F(SnapshotFileTest, DigestFileBytesOfAMissingFileNamesIt) {
  try {
    DigestFileBytes(dir_ / "missing.zst");
    FAIL() << "digested a missing file";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(),
                AllOf(HasSubstr((dir_ / "missing.zst").string()), HasSubstr("No such file")));
  }
}

TEST_F(SnapshotFileTest, EmptyStreamRoundTrips) {
  fs::path path = dir_ / "empty.zst";
  FileDigest written = WriteFile(path, "");
  FileDigest read;
  EXPECT_EQ(ReadFile(path, &read), "");
  EXPECT_EQ(read, written);
  EXPECT_EQ(written.raw_bytes, 0u);
  EXPECT_GT(written.compressed_bytes, 0u);
}

TEST_F(SnapshotFileTest, RoundTripsWithWorkerThreadsAndLargeWrites) {
  std::string raw = SampleData(6 << 20, 4);
  fs::path path = dir_ / "mt.zst";
  FileDigest written = WriteFile(path, raw, /*piece=*/raw.size(), {.level = 1, .threads = 2});
  FileDigest read;
  EXPECT_EQ(ReadFile(path, &read), raw);
  EXPECT_EQ(read, written);
}

TEST_F(SnapshotFileTest, FileIsAStandardZstdFrame) {
  std::string raw = SampleData(1 << 20, 5);
  fs::path path = dir_ / "standard.zst";
  WriteFile(path, raw);
  fs::path out = dir_ / "standard";
  std::string command = "zstd -q -d -o '" + out.string() + "' '" + path.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_EQ(FileContents(out), raw);
}

TEST_F(SnapshotFileTest, UnfinishedWriterRemovesItsFile) {
  fs::path path = dir_ / "unfinished.zst";
  {
    SnapshotFileWriter writer = SnapshotFileWriter::Create(path, {});
    writer.Write(SampleData(3 << 20, 6));
    EXPECT_TRUE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(SnapshotFileTest, MovedWriterKeepsItsFileUntilFinished) {
  fs::path path = dir_ / "moved.zst";
  SnapshotFileWriter first = SnapshotFileWriter::Create(path, {});
  first.Write("1\ta\n");
  SnapshotFileWriter second = std::move(first);
  second.Write("2\tb\n");
  second.Finish();
  EXPECT_EQ(ReadFile(path), "1\ta\n2\tb\n");
}

TEST_F(SnapshotFileTest, MoveAssigningOverAnUnfinishedWriterRemovesItsFile) {
  fs::path replaced = dir_ / "replaced.zst";
  SnapshotFileWriter writer = SnapshotFileWriter::Create(replaced, {});
  writer = SnapshotFileWriter::Create(dir_ / "other.zst", {});
  EXPECT_FALSE(fs::exists(replaced));
  writer.Finish();
  EXPECT_TRUE(fs::exists(dir_ / "other.zst"));
}

TEST_F(SnapshotFileTest, WriteAfterFinishIsAnError) {
  fs::path path = dir_ / "done.zst";
  SnapshotFileWriter writer = SnapshotFileWriter::Create(path, {});
  writer.Finish();
  EXPECT_THROW(writer.Write("x"), Error);
  EXPECT_THROW(writer.Finish(), Error);
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(SnapshotFileTest, CreateOnAnExistingPathFailsNamingItAndLeavesItAlone) {
  fs::path path = dir_ / "existing.zst";
  WriteContents(path, "precious");
  try {
    SnapshotFileWriter::Create(path, {});
    FAIL() << "overwrote an existing file";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("snapshot file " + path.string()),
                                    HasSubstr("cannot create"), HasSubstr("File exists")));
  }
  EXPECT_EQ(FileContents(path), "precious");
}

TEST_F(SnapshotFileTest, CreateInAMissingDirectoryFailsNamingThePath) {
  fs::path path = dir_ / "no-such-dir" / "0001.zst";
  try {
    SnapshotFileWriter::Create(path, {});
    FAIL() << "created a file in a missing directory";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr(path.string()));
  }
}

TEST_F(SnapshotFileTest, OpeningAMissingFileFailsNamingIt) {
  fs::path path = dir_ / "missing.zst";
  try {
    SnapshotFileReader::Open(path);
    FAIL() << "opened a missing file";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(),
                AllOf(HasSubstr("snapshot file " + path.string()), HasSubstr("No such file")));
  }
}

TEST_F(SnapshotFileTest, TruncatedFileIsAnErrorNamingThePath) {
  fs::path path = dir_ / "truncated.zst";
  WriteFile(path, SampleData(3 << 20, 7));
  std::string contents = FileContents(path);
  for (size_t keep : {size_t{0}, size_t{10}, contents.size() / 2, contents.size() - 1}) {
    WriteContents(path, std::string_view(contents).substr(0, keep));
    EXPECT_EQ(ReadError(path),
              "snapshot file " + path.string() + ": truncated (ends inside the zstd frame)")
        << "cut at " << keep;
  }
}

TEST_F(SnapshotFileTest, CorruptedFileIsAnErrorNamingThePath) {
  fs::path path = dir_ / "corrupt.zst";
  WriteFile(path, SampleData(3 << 20, 8));
  std::string contents = FileContents(path);
  for (size_t position : {contents.size() / 4, contents.size() / 2, contents.size() - 2}) {
    std::string corrupt = contents;
    corrupt[position] ^= 0x21;
    WriteContents(path, corrupt);
    EXPECT_THAT(ReadError(path),
                AllOf(HasSubstr("snapshot file " + path.string() + ": "),
                      ::testing::AnyOf(HasSubstr("corrupt (zstd: "), HasSubstr("truncated"))))
        << "byte " << position;
  }
  // A changed checksum is always reported as corruption.
  std::string bad_checksum = contents;
  bad_checksum.back() ^= 1;
  WriteContents(path, bad_checksum);
  EXPECT_THAT(ReadError(path), AllOf(HasSubstr("snapshot file " + path.string() + ": corrupt ("),
                                     HasSubstr("checksum")));
}

TEST_F(SnapshotFileTest, DataAfterTheFrameIsCorruption) {
  fs::path path = dir_ / "trailing.zst";
  WriteFile(path, SampleData(100000, 9));
  WriteContents(path, FileContents(path) + "trailing garbage");
  EXPECT_EQ(ReadError(path),
            "snapshot file " + path.string() + ": corrupt (zstd: data after the end of the frame)");
}

TEST_F(SnapshotFileTest, EmptyFileIsTruncated) {
  fs::path path = dir_ / "empty";
  WriteContents(path, "");
  EXPECT_THAT(ReadError(path), HasSubstr("truncated"));
}

}  // namespace
}  // namespace freshet
