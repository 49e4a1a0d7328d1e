#include "copy/snapshot_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "copy/error.h"

namespace freshet {
namespace {

constexpr size_t kFileBlock = 1 << 20;  // file reads and writes
constexpr size_t kRawBlock = 1 << 17;   // raw bytes handed to the compressor at once
constexpr size_t kRawPiece = 1 << 20;   // most raw bytes one Read returns

[[noreturn]] void ThrowFileError(const std::filesystem::path& path, std::string_view reason) {
  throw Error(fmt::format("snapshot file {}: {}", path.string(), reason));
}

[[noreturn]] void ThrowErrno(const std::filesystem::path& path, std::string_view doing) {
  ThrowFileError(path, fmt::format("{}: {}", doing, std::strerror(errno)));
}

// A file descriptor closed on destruction (errors ignored: the paths that
// care close explicitly and check).
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~FileDescriptor() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes and reports the result (a failing close can mean lost writes).
  int Close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_ = -1;
};

FileDescriptor OpenForReading(const std::filesystem::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) ThrowErrno(path, "cannot open");
  return fd;
}

// Reads up to `size` bytes (fewer only at the end of the file).
size_t ReadFully(const FileDescriptor& fd, const std::filesystem::path& path, char* data,
                 size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd.get(), data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowErrno(path, "cannot read");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void WriteFully(const FileDescriptor& fd, const std::filesystem::path& path,
                std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowErrno(path, "cannot write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// A streaming XXH3-64 state.
class Xxh3 {
 public:
  Xxh3() : state_(XXH3_createState()) {
    if (!state_) throw Error("cannot allocate an XXH3 state (out of memory)");
    XXH3_64bits_reset(state_.get());
  }
  void Update(std::string_view data) { XXH3_64bits_update(state_.get(), data.data(), data.size()); }
  std::string Hex() const { return fmt::format("{:016x}", XXH3_64bits_digest(state_.get())); }

 private:
  struct Deleter {
    void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
  };
  std::unique_ptr<XXH3_state_t, Deleter> state_;
};

}  // namespace

struct SnapshotFileWriter::State {
  State(std::filesystem::path file_path, const ZstdOptions& options)
      : path(std::move(file_path)), compressor(options) {}
  ~State() {
    fd.Reset();
    if (created && !finished) ::unlink(path.c_str());
  }

  // Compresses `raw` and writes the output once a block of it is ready.
  void CompressRaw(std::string_view raw) {
    raw_hash.Update(raw);
    raw_bytes += raw.size();
    try {
      compressor.Compress(raw, compressed);
    } catch (const Error& error) {
      ThrowFileError(path, error.what());
    }
    if (compressed.size() >= kFileBlock) WriteCompressed();
  }
  void WriteCompressed() {
    WriteFully(fd, path, compressed);
    file_hash.Update(compressed);
    file_bytes += compressed.size();
    compressed.clear();
  }

  std::filesystem::path path;
  FileDescriptor fd;     // open from creation until Finish closes it
  bool created = false;  // by this writer, so it removes the file unless finished
  ZstdCompressor compressor;
  // Raw bytes not yet compressed. COPY hands over one row at a time, and zstd
  // called per ~100-byte row is 30% slower at level 1 than per 128 KB batch
  // (bench/copy_bench.cc, BM_ZstdCompress piece:100).
  std::string raw;
  std::string compressed;  // compressed bytes not yet written
  Xxh3 raw_hash;
  Xxh3 file_hash;
  uint64_t raw_bytes = 0;
  uint64_t file_bytes = 0;
  bool finished = false;
};

SnapshotFileWriter SnapshotFileWriter::Create(const std::filesystem::path& path,
                                              const ZstdOptions& options) {
  auto state = std::make_unique<State>(path, options);
  state->fd = FileDescriptor(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!state->fd.valid()) ThrowErrno(path, "cannot create");
  state->created = true;
  state->raw.reserve(kRawBlock);
  state->compressed.reserve(2 * kFileBlock);
  return SnapshotFileWriter(std::move(state));
}

SnapshotFileWriter::SnapshotFileWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
SnapshotFileWriter::~SnapshotFileWriter() = default;
SnapshotFileWriter::SnapshotFileWriter(SnapshotFileWriter&&) noexcept = default;
SnapshotFileWriter& SnapshotFileWriter::operator=(SnapshotFileWriter&&) noexcept = default;

void SnapshotFileWriter::Write(std::string_view raw) {
  State& s = *state_;
  if (!s.fd.valid()) ThrowFileError(s.path, "written after Finish");
  if (s.raw.size() + raw.size() < kRawBlock) {
    s.raw.append(raw);
    return;
  }
  if (!s.raw.empty()) {
    s.CompressRaw(s.raw);
    s.raw.clear();
  }
  if (raw.size() < kRawBlock)
    s.raw.append(raw);
  else
    s.CompressRaw(raw);
}

FileDigest SnapshotFileWriter::Finish() {
  State& s = *state_;
  if (!s.fd.valid()) ThrowFileError(s.path, "finished twice (or after a failed Finish)");
  s.CompressRaw(s.raw);
  s.raw.clear();
  try {
    s.compressor.Finish(s.compressed);
  } catch (const Error& error) {
    ThrowFileError(s.path, error.what());
  }
  s.WriteCompressed();
  if (::fsync(s.fd.get()) != 0) ThrowErrno(s.path, "cannot fsync");
  if (s.fd.Close() != 0) ThrowErrno(s.path, "cannot close");
  // Make the new directory entry durable too.
  std::filesystem::path dir = s.path.parent_path();
  if (dir.empty()) dir = ".";
  FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0)
    ThrowErrno(s.path, "cannot fsync its directory");
  s.finished = true;
  return FileDigest{s.raw_bytes, s.file_bytes, s.raw_hash.Hex(), s.file_hash.Hex()};
}

struct SnapshotFileReader::State {
  explicit State(std::filesystem::path file_path) : path(std::move(file_path)) {}

  // Reads the next block of the file into `block`; false at the end.
  bool FillBlock() {
    block.resize(kFileBlock);
    size_t n = ReadFully(fd, path, block.data(), block.size());
    block.resize(n);
    position = 0;
    file_hash.Update(block);
    file_bytes += n;
    return n > 0;
  }

  std::filesystem::path path;
  FileDescriptor fd;
  ZstdDecompressor decompressor;
  std::string block;    // compressed bytes read from the file
  size_t position = 0;  // of the next byte of `block` to decompress
  bool end_of_file = false;
  bool done = false;
  Xxh3 raw_hash;
  Xxh3 file_hash;
  uint64_t raw_bytes = 0;
  uint64_t file_bytes = 0;
};

SnapshotFileReader SnapshotFileReader::Open(const std::filesystem::path& path) {
  auto state = std::make_unique<State>(path);
  state->fd = OpenForReading(path);
  return SnapshotFileReader(std::move(state));
}

SnapshotFileReader::SnapshotFileReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
SnapshotFileReader::~SnapshotFileReader() = default;
SnapshotFileReader::SnapshotFileReader(SnapshotFileReader&&) noexcept = default;
SnapshotFileReader& SnapshotFileReader::operator=(SnapshotFileReader&&) noexcept = default;

bool SnapshotFileReader::Read(std::string& out) {
  State& s = *state_;
  if (s.done) {
    out.clear();
    return false;
  }
  // Decompress straight into `out`; a caller that passes the same string
  // every time pays for zero-filling it once.
  out.resize(kRawPiece);
  size_t filled = 0;
  while (filled < out.size()) {
    if (s.position == s.block.size() && !s.end_of_file) s.end_of_file = !s.FillBlock();
    ZstdDecompressor::Progress progress;
    try {
      progress = s.decompressor.DecompressSome(std::string_view(s.block).substr(s.position),
                                               std::span<char>(out).subspan(filled));
    } catch (const Error& error) {
      ThrowFileError(s.path, fmt::format("corrupt ({})", error.what()));
    }
    s.position += progress.consumed;
    filled += progress.produced;
    if (progress.consumed == 0 && progress.produced == 0) {
      if (s.end_of_file) break;
      // zstd always progresses given input and room; never spin if not.
      if (s.position < s.block.size()) ThrowFileError(s.path, "corrupt (zstd made no progress)");
    }
  }
  out.resize(filled);
  if (filled == 0) {
    try {
      s.decompressor.Finish();
    } catch (const Error&) {
      ThrowFileError(s.path, "truncated (ends inside the zstd frame)");
    }
    s.done = true;
    s.fd.Reset();
    return false;
  }
  s.raw_hash.Update(out);
  s.raw_bytes += filled;
  return true;
}

FileDigest SnapshotFileReader::digest() const {
  const State& s = *state_;
  return FileDigest{s.raw_bytes, s.file_bytes, s.raw_hash.Hex(), s.file_hash.Hex()};
}

FileDigest DigestFileBytes(const std::filesystem::path& path) {
  FileDescriptor fd = OpenForReading(path);
  Xxh3 hash;
  std::string block(kFileBlock, '\0');
  FileDigest digest;
  for (;;) {
    size_t n = ReadFully(fd, path, block.data(), block.size());
    if (n == 0) break;
    hash.Update(std::string_view(block.data(), n));
    digest.compressed_bytes += n;
  }
  digest.file_xxh3 = hash.Hex();
  return digest;
}

}  // namespace freshet
