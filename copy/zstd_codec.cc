#include "copy/zstd_codec.h"

#include <fmt/format.h>
#include <zstd.h>

#include <algorithm>

#include "copy/error.h"

namespace freshet {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

// Returns `code` unless it is a zstd error, which is thrown with zstd's
// reason (after `doing`, if given).
size_t Check(size_t code, std::string_view doing = {}) {
  if (!ZSTD_isError(code)) return code;
  if (doing.empty()) throw Error(fmt::format("zstd: {}", ZSTD_getErrorName(code)));
  throw Error(fmt::format("zstd: {}: {}", doing, ZSTD_getErrorName(code)));
}

}  // namespace

struct ZstdCompressor::State {
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> context;
  // Compressed output lands here first, so a call that produces nothing (most
  // small inputs) touches no output memory at all.
  std::unique_ptr<char[]> scratch;
  size_t scratch_size = 0;
  bool finished = false;

  void Run(std::string_view raw, std::string& out, ZSTD_EndDirective mode) {
    if (finished) throw Error("zstd: the frame is already finished");
    ZSTD_inBuffer input{raw.data(), raw.size(), 0};
    for (;;) {
      ZSTD_outBuffer output{scratch.get(), scratch_size, 0};
      size_t remaining =
          Check(ZSTD_compressStream2(context.get(), &output, &input, mode), "compression failed");
      out.append(scratch.get(), output.pos);
      // e_continue: done once the input is in; e_end: once nothing remains
      // to flush (the frame, with its checksum, is complete).
      if (mode == ZSTD_e_continue ? input.pos == input.size : remaining == 0) break;
    }
    if (mode == ZSTD_e_end) finished = true;
  }
};

ZstdCompressor::ZstdCompressor(const ZstdOptions& options) : state_(std::make_unique<State>()) {
  if (options.level < ZSTD_minCLevel() || options.level > ZSTD_maxCLevel())
    throw Error(ErrorKind::kUsage, fmt::format("zstd: compression level {} is outside {}..{}",
                                               options.level, ZSTD_minCLevel(), ZSTD_maxCLevel()));
  if (options.threads < 0)
    throw Error(ErrorKind::kUsage,
                fmt::format("zstd: negative number of threads {}", options.threads));
  state_->context.reset(ZSTD_createCCtx());
  if (!state_->context) throw Error("zstd: cannot create a compression context (out of memory)");
  ZSTD_CCtx* context = state_->context.get();
  Check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, options.level),
        fmt::format("cannot set compression level {}", options.level));
  Check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1), "cannot enable the checksum");
  if (options.threads > 0)
    Check(ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, options.threads),
          fmt::format("cannot use {} worker threads", options.threads));
  state_->scratch_size = ZSTD_CStreamOutSize();
  state_->scratch = std::make_unique_for_overwrite<char[]>(state_->scratch_size);
}

ZstdCompressor::~ZstdCompressor() = default;
ZstdCompressor::ZstdCompressor(ZstdCompressor&&) noexcept = default;
ZstdCompressor& ZstdCompressor::operator=(ZstdCompressor&&) noexcept = default;

void ZstdCompressor::Compress(std::string_view raw, std::string& out) {
  if (raw.empty()) return;
  state_->Run(raw, out, ZSTD_e_continue);
}

void ZstdCompressor::Finish(std::string& out) { state_->Run({}, out, ZSTD_e_end); }

struct ZstdDecompressor::State {
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> context;
  bool started = false;     // some input was given
  bool frame_done = false;  // the frame was decoded, checksum verified, output flushed
};

ZstdDecompressor::ZstdDecompressor() : state_(std::make_unique<State>()) {
  state_->context.reset(ZSTD_createDCtx());
  if (!state_->context) throw Error("zstd: cannot create a decompression context (out of memory)");
}

ZstdDecompressor::~ZstdDecompressor() = default;
ZstdDecompressor::ZstdDecompressor(ZstdDecompressor&&) noexcept = default;
ZstdDecompressor& ZstdDecompressor::operator=(ZstdDecompressor&&) noexcept = default;

ZstdDecompressor::Progress ZstdDecompressor::DecompressSome(std::string_view compressed,
                                                            std::span<char> out) {
  ZSTD_inBuffer input{compressed.data(), compressed.size(), 0};
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  if (!compressed.empty()) state_->started = true;
  while (output.pos < output.size) {
    if (state_->frame_done) {
      if (input.pos < input.size) throw Error("zstd: data after the end of the frame");
      break;
    }
    size_t in_before = input.pos;
    size_t out_before = output.pos;
    size_t hint = Check(ZSTD_decompressStream(state_->context.get(), &output, &input));
    if (hint == 0) state_->frame_done = true;
    if (input.pos == in_before && output.pos == out_before) break;  // needs more input
  }
  return {input.pos, output.pos};
}

void ZstdDecompressor::Decompress(std::string_view compressed, std::string& out) {
  const size_t start = out.size();
  size_t size = start;
  for (;;) {
    // The room grows with the output, so zero-filling it costs one pass.
    size_t room = std::max(ZSTD_DStreamOutSize(), size - start);
    out.resize(size + room);
    Progress progress = DecompressSome(compressed, std::span<char>(out).subspan(size));
    compressed.remove_prefix(progress.consumed);
    size += progress.produced;
    // Room left over: the input is used up or the frame is complete.
    if (progress.produced < room) break;
  }
  out.resize(size);
}

void ZstdDecompressor::Finish() const {
  if (!state_->frame_done)
    throw Error(state_->started ? "zstd: truncated (the input ends inside the frame)"
                                : "zstd: truncated (no frame at all)");
}

}  // namespace freshet
