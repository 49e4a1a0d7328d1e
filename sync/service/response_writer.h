// How a handler that keeps its connection (Server-Sent Events) writes to it
// without knowing the transport: a response header, then bytes as they come,
// each write bounded in time. The HTTP server implements it once for plain
// TCP and once for TLS (http_server.cc).
//
// Thread-safety: on the io_context's thread only, one write at a time, and
// only while the handler it was given to runs.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <string_view>

namespace freshet {

class ResponseWriter {
 public:
  using Duration = std::chrono::steady_clock::duration;

  virtual ~ResponseWriter() = default;

  // Writes `bytes` in full. Fails, as a value, when the client went away,
  // the server stopped (HttpServer::Stop) or `timeout` passed first; the
  // connection is then unusable and later writes fail too.
  virtual boost::asio::awaitable<boost::system::error_code> Write(std::string_view bytes,
                                                                  Duration timeout) = 0;

  // Writes the status line and fields of `header`; the body follows through
  // Write. Fails as Write does.
  boost::asio::awaitable<boost::system::error_code> WriteHeader(
      const boost::beast::http::response_header<>& header, Duration timeout);
};

}  // namespace freshet
