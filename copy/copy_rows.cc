#include "copy/copy_rows.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "copy/big_endian.h"

namespace freshet {
namespace {

constexpr std::string_view kSignature("PGCOPY\n\377\r\n\0", 11);
constexpr std::string_view kHeader("PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
constexpr std::string_view kTrailer("\377\377", 2);
constexpr size_t kHeaderSize = 19;  // signature, flags, header extension length

void AppendInt16(std::string& out, size_t value) {
  out.push_back(static_cast<char>((value >> 8) & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

}  // namespace

std::string_view BinaryCopyHeader() { return kHeader; }
std::string_view BinaryCopyTrailer() { return kTrailer; }

CopyRowReader::CopyRowReader(StreamFormat format, std::string what)
    : format_(format), what_(std::move(what)) {}

void CopyRowReader::Fail(uint64_t offset, std::string_view reason) const {
  throw Error(fmt::format("{}: malformed {} COPY stream at byte {}: {}", what_,
                          format_ == StreamFormat::kBinary ? "binary" : "text", offset, reason));
}

void CopyRowReader::Feed(std::string_view data,
                         const std::function<void(std::string_view)>& on_row) {
  if (!pending_.empty()) {
    Step step = CompletePending(&data);
    if (step.length == 0) return;  // `data` was used up inside the step
    if (step.is_row) on_row(std::string_view(pending_));
    pending_.clear();
  }
  while (!data.empty()) {
    Step step = NextStep(data);
    if (step.length == 0) {
      pending_.assign(data);
      needed_ = step.needed;
      return;
    }
    if (step.is_row) on_row(data.substr(0, step.length));
    data.remove_prefix(step.length);
  }
}

CopyRowReader::Step CopyRowReader::NextStep(std::string_view data) {
  Step step;
  if (format_ == StreamFormat::kText) {
    const void* newline = std::memchr(data.data(), '\n', data.size());
    if (!newline) {
      step.needed = data.size() + 1;
      return step;
    }
    step.length = static_cast<size_t>(static_cast<const char*>(newline) - data.data()) + 1;
    step.is_row = true;
    consumed_ += step.length;
    ++rows_;
    return step;
  }

  if (trailer_seen_) Fail(consumed_, "data after the trailer");
  if (!header_done_) {
    size_t compared = std::min(data.size(), kSignature.size());
    for (size_t i = 0; i < compared; ++i) {
      if (data[i] != kSignature[i]) Fail(consumed_ + i, "bad signature (not a binary COPY stream)");
    }
    if (data.size() < kHeaderSize) {
      step.needed = kHeaderSize;
      return step;
    }
    uint32_t flags = static_cast<uint32_t>(ReadInt32(data.data() + 11));
    // Bits 16-31 are critical: a reader must refuse a stream that sets one it
    // does not know (bit 16, OIDs, is gone since PostgreSQL 12).
    if (flags & 0xffff0000u)
      Fail(consumed_ + 11, fmt::format("unsupported header flags 0x{:08x}", flags));
    int32_t extension = ReadInt32(data.data() + 15);
    if (extension < 0)
      Fail(consumed_ + 15, fmt::format("negative header extension length {}", extension));
    size_t length = kHeaderSize + static_cast<size_t>(extension);
    if (data.size() < length) {
      step.needed = length;
      return step;
    }
    header_done_ = true;
    step.length = length;
    consumed_ += length;
    return step;
  }

  if (data.size() < 2) {
    step.needed = 2;
    return step;
  }
  int fields = ReadInt16(data.data());
  if (fields == -1) {
    trailer_seen_ = true;
    step.length = 2;
    consumed_ += 2;
    return step;
  }
  if (fields < 0) Fail(consumed_, fmt::format("invalid field count {}", fields));
  size_t position = 2;
  for (int field = 0; field < fields; ++field) {
    if (data.size() < position + 4) {
      step.needed = position + 4;
      return step;
    }
    int32_t length = ReadInt32(data.data() + position);
    if (length < -1)
      Fail(consumed_ + position,
           fmt::format("invalid length {} of field {} of row {}", length, field + 1, rows_ + 1));
    position += 4;
    if (length > 0) {
      position += static_cast<size_t>(length);
      if (data.size() < position) {
        step.needed = position;
        return step;
      }
    }
  }
  step.length = position;
  step.is_row = true;
  consumed_ += position;
  ++rows_;
  return step;
}

CopyRowReader::Step CopyRowReader::CompletePending(std::string_view* data) {
  if (format_ == StreamFormat::kText) {
    const void* newline = std::memchr(data->data(), '\n', data->size());
    size_t take = newline
                      ? static_cast<size_t>(static_cast<const char*>(newline) - data->data()) + 1
                      : data->size();
    pending_.append(data->data(), take);
    data->remove_prefix(take);
    return newline ? NextStep(pending_) : Step{};
  }
  for (;;) {
    if (data->empty()) return Step{};
    // Take at least as much as pending_ holds, so a wide row split across
    // many small pieces is parsed again only a logarithmic number of times.
    size_t take = std::min(data->size(), std::max(needed_ - pending_.size(), pending_.size()));
    pending_.append(data->data(), take);
    data->remove_prefix(take);
    Step step = NextStep(pending_);
    if (step.length != 0) {
      // Bytes taken beyond the step belong to the next one: give them back.
      // They all came from `*data` in this call, since pending_ held only
      // part of the step before it.
      size_t extra = pending_.size() - step.length;
      *data = std::string_view(data->data() - extra, data->size() + extra);
      pending_.resize(step.length);
      return step;
    }
    needed_ = step.needed;
  }
}

void CopyRowReader::Finish() const {
  if (format_ == StreamFormat::kText) {
    if (!pending_.empty())
      Fail(consumed_ + pending_.size(),
           fmt::format("the stream ends inside row {} (no final newline)", rows_ + 1));
    return;
  }
  if (trailer_seen_) return;
  uint64_t end = consumed_ + pending_.size();
  if (!header_done_) Fail(end, "the stream ends before the end of the header");
  if (!pending_.empty())
    Fail(end, fmt::format("the stream ends inside row {}, which starts at byte {}", rows_ + 1,
                          consumed_));
  Fail(end, "the stream ends without the trailer");
}

RowProjector::RowProjector(StreamFormat format, std::vector<bool> keep)
    : format_(format), keep_(std::move(keep)) {
  kept_ = static_cast<size_t>(std::count(keep_.begin(), keep_.end(), true));
}

bool RowProjector::keeps_all() const { return kept_ == keep_.size(); }

void RowProjector::Project(std::string_view row, std::string& out) const {
  const size_t out_size = out.size();
  auto fail = [&](std::string_view reason) {
    out.resize(out_size);
    throw Error(fmt::format("cannot project a {} COPY row: {}",
                            format_ == StreamFormat::kBinary ? "binary" : "text", reason));
  };

  if (format_ == StreamFormat::kText) {
    if (row.empty() || row.back() != '\n') fail("the row does not end with a newline");
    std::string_view body = row.substr(0, row.size() - 1);
    if (keep_.empty() && body.empty()) {  // a row of a table without columns
      out.push_back('\n');
      return;
    }
    size_t field = 0;
    size_t start = 0;
    bool first = true;
    for (;;) {
      size_t tab = body.find('\t', start);
      size_t end = tab == std::string_view::npos ? body.size() : tab;
      if (field < keep_.size() && keep_[field]) {
        if (!first) out.push_back('\t');
        out.append(body.data() + start, end - start);
        first = false;
      }
      ++field;
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    if (field != keep_.size())
      fail(fmt::format("the row has {} fields, expected {}", field, keep_.size()));
    out.push_back('\n');
    return;
  }

  if (row.size() < 2) fail("the row is shorter than its field count");
  int fields = ReadInt16(row.data());
  if (fields < 0 || static_cast<size_t>(fields) != keep_.size())
    fail(fmt::format("the row has {} fields, expected {}", fields, keep_.size()));
  AppendInt16(out, kept_);
  size_t position = 2;
  size_t run_start = std::string_view::npos;  // start of kept fields not yet copied
  for (size_t field = 0; field < keep_.size(); ++field) {
    if (row.size() < position + 4) fail(fmt::format("field {} is truncated", field + 1));
    int32_t length = ReadInt32(row.data() + position);
    if (length < -1) fail(fmt::format("field {} has an invalid length {}", field + 1, length));
    size_t end = position + 4 + (length > 0 ? static_cast<size_t>(length) : 0);
    if (row.size() < end) fail(fmt::format("field {} is truncated", field + 1));
    if (keep_[field]) {
      if (run_start == std::string_view::npos) run_start = position;
    } else if (run_start != std::string_view::npos) {
      out.append(row.data() + run_start, position - run_start);
      run_start = std::string_view::npos;
    }
    position = end;
  }
  if (run_start != std::string_view::npos) out.append(row.data() + run_start, position - run_start);
  if (position != row.size())
    fail(fmt::format("{} bytes follow the last field", row.size() - position));
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the text-format field `raw` to `out` with its escapes resolved.
void Unescape(std::string_view raw, std::string& out) {
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\' || i + 1 == raw.size()) {
      out.push_back(c);
      continue;
    }
    c = raw[++i];
    constexpr std::string_view kLetters("bfnrtv"), kBytes("\b\f\n\r\t\v");
    if (size_t letter = kLetters.find(c); letter != std::string_view::npos) {
      out.push_back(kBytes[letter]);
    } else if (c == 'x') {  // \xh or \xhh; a bare \x is an x
      int value = 0, digits = 0;
      for (int h; digits < 2 && i + 1 < raw.size() && (h = HexValue(raw[i + 1])) >= 0; ++i)
        value = value * 16 + h, ++digits;
      out.push_back(digits ? static_cast<char>(value) : 'x');
    } else if (c >= '0' && c <= '7') {  // one to three octal digits
      int value = c - '0';
      for (int n = 1; n < 3 && i + 1 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '7'; ++n)
        value = value * 8 + (raw[++i] - '0');
      out.push_back(static_cast<char>(value & 0xff));
    } else {  // any other character stands for itself
      out.push_back(c);
    }
  }
}

}  // namespace

const std::vector<std::optional<std::string_view>>& FieldSplitter::Split(std::string_view row) {
  fields_.clear();
  auto fail = [&](std::string_view reason) {
    throw Error(fmt::format("cannot split a {} COPY row: {}",
                            format_ == StreamFormat::kBinary ? "binary" : "text", reason));
  };
  if (format_ == StreamFormat::kText) {
    if (row.empty() || row.back() != '\n') fail("the row does not end with a newline");
    std::string_view body = row.substr(0, row.size() - 1);
    decoded_.clear();
    // De-escaping never lengthens a field, so the views into decoded_ stay valid.
    decoded_.reserve(body.size());
    if (body.empty() && expected_ == 0) return fields_;  // a row of a table without columns
    for (size_t start = 0;;) {
      size_t tab = body.find('\t', start);
      std::string_view raw =
          body.substr(start, tab == std::string_view::npos ? body.npos : tab - start);
      if (raw == "\\N") {
        fields_.emplace_back(std::nullopt);
      } else {
        size_t offset = decoded_.size();
        Unescape(raw, decoded_);
        fields_.emplace_back(std::string_view(decoded_).substr(offset));
      }
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    return fields_;
  }
  if (row.size() < 2) fail("the row is shorter than its field count");
  int fields = ReadInt16(row.data());
  if (fields < 0) fail(fmt::format("invalid field count {}", fields));
  size_t position = 2;
  for (int field = 0; field < fields; ++field) {
    if (row.size() < position + 4) fail(fmt::format("field {} is truncated", field + 1));
    int32_t length = ReadInt32(row.data() + position);
    position += 4;
    if (length < -1) fail(fmt::format("field {} has an invalid length {}", field + 1, length));
    if (length == -1) {
      fields_.emplace_back(std::nullopt);
      continue;
    }
    if (row.size() < position + static_cast<size_t>(length))
      fail(fmt::format("field {} is truncated", field + 1));
    fields_.emplace_back(row.substr(position, static_cast<size_t>(length)));
    position += static_cast<size_t>(length);
  }
  if (position != row.size())
    fail(fmt::format("{} bytes follow the last field", row.size() - position));
  return fields_;
}

void RowDigest::Add(std::string_view row) {
  ++rows_;
  sum_ += XXH3_64bits(row.data(), row.size());
}

void RowDigest::Merge(const RowDigest& other) {
  rows_ += other.rows_;
  sum_ += other.sum_;
}

std::string RowDigest::ToString() const { return fmt::format("{}:{:016x}", rows_, sum_); }

RowDigest RowDigest::Parse(std::string_view text) {
  auto fail = [&]() -> Error {
    return Error(ErrorKind::kUsage,
                 fmt::format("invalid row digest '{}' (expected <rows>:<16 lowercase hex digits>)",
                             Abbreviate(text, 60)));
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) throw fail();
  RowDigest digest;
  const char* end = text.data() + colon;
  auto [rows_end, rows_error] = std::from_chars(text.data(), end, digest.rows_);
  if (rows_error != std::errc() || rows_end != end) throw fail();
  std::string_view hex = text.substr(colon + 1);
  auto [sum_end, sum_error] = std::from_chars(hex.data(), hex.data() + hex.size(), digest.sum_, 16);
  if (sum_error != std::errc() || sum_end != hex.data() + hex.size()) throw fail();
  // Exactly the canonical form: no sign, no leading zeros in the count,
  // lowercase and exactly 16 digits in the sum.
  if (digest.ToString() != text) throw fail();
  return digest;
}

}  // namespace freshet
