// Snapshot data files on disk: a COPY stream compressed by ZstdCompressor,
// with sizes and checksums of both the file and the raw stream, so a manifest
// can record them and a reader can prove a file is the one that was written.
// Writer and reader are move-only and not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "copy/zstd_codec.h"

namespace freshet {

// Sizes and XXH3-64 checksums (16 lowercase hex digits) of a file.
struct FileDigest {
  uint64_t raw_bytes = 0;         // uncompressed stream
  uint64_t compressed_bytes = 0;  // the file
  std::string raw_xxh3;
  std::string file_xxh3;
  bool operator==(const FileDigest&) const = default;
};

class SnapshotFileWriter {
 public:
  // Creates `path`, which must not exist. Throws Error naming the path.
  static SnapshotFileWriter Create(const std::filesystem::path& path, const ZstdOptions& options);
  ~SnapshotFileWriter();  // unfinished: closes and removes the file
  SnapshotFileWriter(SnapshotFileWriter&&) noexcept;
  SnapshotFileWriter& operator=(SnapshotFileWriter&&) noexcept;

  // Appends raw stream bytes (buffered; written as compressed output grows).
  void Write(std::string_view raw);
  // Ends the frame, writes, fsyncs and closes the file. Returns its digest.
  FileDigest Finish();

 private:
  struct State;
  explicit SnapshotFileWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class SnapshotFileReader {
 public:
  // Opens `path`. Throws Error naming the path (missing, unreadable).
  static SnapshotFileReader Open(const std::filesystem::path& path);
  ~SnapshotFileReader();
  SnapshotFileReader(SnapshotFileReader&&) noexcept;
  SnapshotFileReader& operator=(SnapshotFileReader&&) noexcept;

  // Replaces `out` with the next piece of the raw stream (up to about 1 MB);
  // returns false at the end. Throws Error naming the path when the file is
  // corrupt or truncated.
  bool Read(std::string& out);
  // After Read returned false: the digest of everything read.
  FileDigest digest() const;

 private:
  struct State;
  explicit SnapshotFileReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Size and XXH3-64 of a file's bytes, without decompressing (raw_* empty).
// Throws Error naming the path.
FileDigest DigestFileBytes(const std::filesystem::path& path);

}  // namespace freshet
