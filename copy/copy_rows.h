// Pure codecs for COPY streams (no I/O): splitting a stream handed over in
// arbitrary pieces into rows, dropping columns from rows, and an
// order-independent digest of a table's rows. Formats are PostgreSQL's COPY
// binary and text (default delimiter and NULL). Not thread-safe; one instance
// per stream.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "copy/error.h"

namespace freshet {

enum class StreamFormat { kBinary, kText };

// The 19 bytes that open every binary COPY stream (signature, flags, empty
// header extension) and the 2 bytes (int16 -1) that close it.
std::string_view BinaryCopyHeader();
std::string_view BinaryCopyTrailer();

// Splits a COPY stream into rows. Binary: checks and skips the header, yields
// each tuple from its int16 field count to its last field, checks the trailer
// and that nothing follows it. Text: yields each line including its '\n'.
// Every read is bounds-checked; malformed input throws Error naming `what`
// and the byte offset.
class CopyRowReader {
 public:
  CopyRowReader(StreamFormat format, std::string what);

  // Appends `data` and calls `on_row(row)` for every row completed by it.
  // The view is valid only during the call. (Type-erased on purpose: on
  // ~100-byte rows the indirect call costs about 1% of the parse; see
  // bench/copy_bench.cc.)
  void Feed(std::string_view data, const std::function<void(std::string_view)>& on_row);

  // Throws Error unless the stream ended at a row boundary (binary: right
  // after the trailer; text: after a '\n' or with no data at all).
  void Finish() const;

  uint64_t rows() const { return rows_; }

 private:
  // What starts a buffer that begins at stream offset consumed_: the header,
  // a row or the trailer.
  struct Step {
    size_t length = 0;  // bytes of the step; 0 when the buffer holds only part of it
    size_t needed = 0;  // when incomplete: a buffer size that gets the parse further
    bool is_row = false;
  };
  // Parses the step at the start of `data`; when it is complete, advances
  // consumed_ (and rows_) past it. Throws Error on malformed input.
  Step NextStep(std::string_view data);
  // Moves bytes from the front of `*data` into pending_ until pending_ holds
  // one whole step (returned) or `*data` is used up (length 0 returned).
  Step CompletePending(std::string_view* data);
  [[noreturn]] void Fail(uint64_t offset, std::string_view reason) const;

  StreamFormat format_;
  std::string what_;
  std::string pending_;    // the start of a step carried over between Feed calls
  size_t needed_ = 0;      // a size of pending_ that gets its parse further
  uint64_t consumed_ = 0;  // stream offset of pending_ (or of the data being fed)
  uint64_t rows_ = 0;
  bool header_done_ = false;
  bool trailer_seen_ = false;
};

// Keeps the fields of a row whose positions are marked in `keep` (one flag per
// field of the input rows) and drops the others.
class RowProjector {
 public:
  RowProjector(StreamFormat format, std::vector<bool> keep);

  // Appends the projected `row` (as yielded by CopyRowReader) to `out`.
  // Throws Error if the row does not have keep.size() fields.
  void Project(std::string_view row, std::string& out) const;

  bool keeps_all() const;

 private:
  StreamFormat format_;
  std::vector<bool> keep_;
  size_t kept_ = 0;  // fields kept per row
};

// Splits a row (as yielded by CopyRowReader) of a table of `fields` columns
// into its fields: none for NULL, text fields de-escaped (\t, \n, \\, octal
// and hex escapes...). Throws Error on a malformed row. The views are valid
// until the next call.
class FieldSplitter {
 public:
  // `fields` tells a text row "\n" apart: no field, or one empty string.
  FieldSplitter(StreamFormat format, size_t fields) : format_(format), expected_(fields) {}
  const std::vector<std::optional<std::string_view>>& Split(std::string_view row);

 private:
  StreamFormat format_;
  size_t expected_;
  std::vector<std::optional<std::string_view>> fields_;
  std::string decoded_;
};

// Order-independent digest of a set of rows: the row count and the sum
// (mod 2^64) of XXH3-64 of each row's bytes. Two streams of the same rows in
// any order have equal digests.
class RowDigest {
 public:
  void Add(std::string_view row);
  void Merge(const RowDigest& other);
  uint64_t rows() const { return rows_; }
  uint64_t sum() const { return sum_; }
  // "<rows>:<16 hex digits>"; Parse accepts exactly that and throws Error.
  std::string ToString() const;
  static RowDigest Parse(std::string_view text);
  bool operator==(const RowDigest&) const = default;

 private:
  uint64_t rows_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace freshet
