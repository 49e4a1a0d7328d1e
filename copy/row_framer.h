// Pure (no I/O): finds the rows of a COPY stream for the transforms and
// digests of a pipeline. A server's COPY OUT sends one row per message (the
// binary header in front of the first, the trailer alone in the last), so
// message-framed pieces are checked for that shape and taken whole; any
// other stream (a file read in pieces) is parsed by CopyRowReader. Rows are
// yielded without the binary header and trailer. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "copy/copy_rows.h"

namespace freshet {

class RowFramer {
 public:
  // `what` names a parsed stream in errors ("the snapshot file"); errors about
  // a message-framed stream's shape leave naming it to the caller.
  RowFramer(StreamFormat format, bool message_framed, std::string what);

  // Calls `on_row` for every row completed by `piece`. Throws Error on a
  // malformed stream.
  void Feed(std::string_view piece, const std::function<void(std::string_view)>& on_row);
  // Throws Error unless the stream ended where a stream may end.
  void Finish() const;
  uint64_t rows() const { return reader_ ? reader_->rows() : rows_; }

 private:
  void FeedMessage(std::string_view message, const std::function<void(std::string_view)>& on_row);

  StreamFormat format_;
  std::optional<CopyRowReader> reader_;  // streams that are not message-framed
  uint64_t messages_ = 0;
  uint64_t rows_ = 0;
  bool trailer_seen_ = false;
};

}  // namespace freshet
