// The file ends of a COPY pipeline: a snapshot data file read back as a
// source (decompressed in pieces of about 1 MB) and a SnapshotFileWriter as a
// sink. Both borrow their reader or writer, which must outlive them.
#pragma once

#include <optional>
#include <string>

#include "copy/copy_stream.h"
#include "copy/snapshot_file.h"

namespace freshet {

class FileCopySource final : public CopySource {
 public:
  explicit FileCopySource(SnapshotFileReader& reader) : reader_(reader) {}

  void Begin(const StopWaker&) override {}
  ReadStatus Read(std::string_view* piece) override;  // throws Error naming the file
  bool message_framed() const override { return false; }
  std::optional<uint64_t> End(const StopWaker&) override { return std::nullopt; }
  void Abort() noexcept override {}

 private:
  SnapshotFileReader& reader_;
  std::string piece_;
};

class FileCopySink final : public CopySink {
 public:
  explicit FileCopySink(SnapshotFileWriter& writer) : writer_(writer) {}

  void Begin(const StopWaker&) override {}
  void Write(std::string_view data) override { writer_.Write(data); }
  void EndStream() override { file_ = writer_.Finish(); }
  // A file reports no rows of its own: 0.
  uint64_t Finish(const StopWaker&) override { return 0; }
  // The writer stays unfinished; its destructor removes the file.
  void Abort(const char*, bool) noexcept override {}

  // After Finish: the file's sizes and checksums.
  const FileDigest& file() const { return file_; }

 private:
  SnapshotFileWriter& writer_;
  FileDigest file_;
};

}  // namespace freshet
