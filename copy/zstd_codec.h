// Pure zstd streaming codec (no I/O) for snapshot data files: one zstd frame
// per file, with the frame's content checksum on, so a decoder detects a
// corrupt or truncated frame by itself. Move-only; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace freshet {

struct ZstdOptions {
  int level = 3;    // 1..19 (negative levels allowed: faster, larger)
  int threads = 0;  // zstd worker threads; 0 compresses in the calling thread
};

class ZstdCompressor {
 public:
  explicit ZstdCompressor(const ZstdOptions& options);  // throws Error
  ~ZstdCompressor();
  ZstdCompressor(ZstdCompressor&&) noexcept;
  ZstdCompressor& operator=(ZstdCompressor&&) noexcept;

  // Compresses `raw`, appending whatever compressed output is ready to `out`.
  void Compress(std::string_view raw, std::string& out);
  // Ends the frame (checksum included), appending the rest to `out`.
  void Finish(std::string& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class ZstdDecompressor {
 public:
  ZstdDecompressor();  // throws Error
  ~ZstdDecompressor();
  ZstdDecompressor(ZstdDecompressor&&) noexcept;
  ZstdDecompressor& operator=(ZstdDecompressor&&) noexcept;

  // Decompresses `compressed`, appending the output to `out`. Throws Error
  // (with zstd's reason) on corrupt data or a checksum mismatch, and on data
  // after the end of the frame.
  void Decompress(std::string_view compressed, std::string& out);

  struct Progress {
    size_t consumed = 0;  // bytes of `compressed` used
    size_t produced = 0;  // bytes written at the start of `out`
  };
  // Like Decompress, but writes at most out.size() bytes into `out`, for a
  // caller that wants bounded pieces; stops when `out` is full or no progress
  // is possible. Call again with the unconsumed rest (even when empty: zstd
  // may hold output back) until it produces nothing. Throws like Decompress.
  Progress DecompressSome(std::string_view compressed, std::span<char> out);
  // Throws Error unless a whole frame was decoded ("truncated").
  void Finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace freshet
