#include "copy/row_framer.h"

#include <fmt/format.h>

namespace freshet {

RowFramer::RowFramer(StreamFormat format, bool message_framed, std::string what) : format_(format) {
  if (!message_framed) reader_.emplace(format, std::move(what));
}

void RowFramer::Feed(std::string_view piece, const std::function<void(std::string_view)>& on_row) {
  if (reader_) {
    reader_->Feed(piece, on_row);
    return;
  }
  FeedMessage(piece, on_row);
}

void RowFramer::FeedMessage(std::string_view message,
                            const std::function<void(std::string_view)>& on_row) {
  ++messages_;
  if (format_ == StreamFormat::kText) {
    if (message.empty() || message.back() != '\n')
      throw Error(fmt::format("COPY message {} is not one whole text row", messages_));
  } else {
    if (messages_ == 1) {
      if (!message.starts_with(BinaryCopyHeader()))
        throw Error("the stream does not start with the binary COPY header");
      message.remove_prefix(BinaryCopyHeader().size());
    }
    if (trailer_seen_) throw Error("the stream continues after the binary COPY trailer");
    if (message == BinaryCopyTrailer()) {
      trailer_seen_ = true;
      return;
    }
  }
  ++rows_;
  on_row(message);
}

void RowFramer::Finish() const {
  if (reader_) {
    reader_->Finish();
    return;
  }
  if (format_ == StreamFormat::kBinary && !trailer_seen_)
    throw Error("the stream ends without the binary COPY trailer");
}

}  // namespace freshet
