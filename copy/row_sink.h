// A sink that hands each row of a COPY stream to a function instead of a
// server or a file, and the read built on it: a server's `COPY ... TO STDOUT`
// read row by row (small result sets such as per-row hashes, streamed rather
// than buffered by libpq as a query result would be).
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

#include "copy/connection.h"
#include "copy/copy_rows.h"
#include "copy/copy_stream.h"

namespace freshet {

class RowCallbackSink final : public CopySink {
 public:
  // `on_row` gets each row as CopyRowReader yields it (a binary row from its
  // field count on); the view is valid only during the call. Whatever it
  // throws fails the stream.
  RowCallbackSink(StreamFormat format, std::string what,
                  std::function<void(std::string_view)> on_row)
      : reader_(format, std::move(what)), on_row_(std::move(on_row)) {}

  void Begin(const StopWaker&) override {}
  void Write(std::string_view data) override { reader_.Feed(data, on_row_); }
  void EndStream() override {}
  uint64_t Finish(const StopWaker&) override;
  void Abort(const char*, bool) noexcept override {}

 private:
  CopyRowReader reader_;
  std::function<void(std::string_view)> on_row_;
};

struct ReadRowsResult {
  uint64_t rows = 0;
  uint64_t bytes = 0;  // stream bytes read
};

// Runs `copy_out_sql` (COPY ... TO STDOUT, binary) on `connection` and calls
// `on_row` for each row. A stop cancels the query. Throws Error naming `what`
// on failure; the connection is idle afterwards.
ReadRowsResult ReadCopyRows(Connection& connection, const std::string& copy_out_sql,
                            const std::string& what, std::stop_token stop,
                            const std::function<void(std::string_view)>& on_row);

}  // namespace freshet
