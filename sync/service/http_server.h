// The service's HTTP/1.1 server: Boost.Beast over Boost.Asio, plain or TLS
// (OpenSSL, TLS 1.2 or later, when a certificate and key are configured), one
// C++20 coroutine per connection, all on one io_context thread. It reads
// requests (size-limited), hands each to the handler and writes the answer,
// with keep-alive; a handler may take over the connection instead (Server-Sent
// Events) through a ResponseWriter, after which the connection closes.
// Refusals (400, 413, 431) and every other end of a connection close it
// gracefully, so a client that is still sending does not lose the answer.
//
// Thread-safety: everything runs on the io_context's thread; Stop may be
// called from it only (post to it from elsewhere).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "sync/service/response_writer.h"

namespace boost::asio::ssl {
class context;
}

namespace freshet {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

struct HttpPeer {
  std::string address;  // the client's IP, for rate limits and logs
};

// Answers a request. Returns the response to write, or nullopt when it wrote
// the answer itself through `writer` (the connection is then closed).
using HttpHandler = std::function<boost::asio::awaitable<std::optional<HttpResponse>>(
    const HttpRequest& request, ResponseWriter& writer, const HttpPeer& peer)>;

class HttpServer {
 public:
  struct Settings {
    std::string address = "127.0.0.1";
    uint16_t port = 7432;  // 0: any free port (tests)
    size_t body_limit = 64 * 1024;
    std::chrono::seconds idle_timeout{60};
    // Both set: HTTPS only (PEM certificate chain and its private key), both
    // empty: plain HTTP.
    std::string tls_cert;
    std::string tls_key;
  };

  // `io` and `handler` must outlive the server.
  HttpServer(boost::asio::io_context& io, Settings settings, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS certificate and key when set (throws Error naming the file
  // that is missing, unreadable or not the key of the certificate), binds and
  // listens (throws Error naming the address when it cannot). Returns the
  // port (the chosen one when settings.port was 0).
  uint16_t Listen();
  // "https" or "http", for what the service logs.
  const char* Scheme() const;
  // Starts accepting connections (after Listen).
  void Start();
  // Stops accepting and closes every open connection (socket and timer) that
  // is not inside its handler. Each closed connection's coroutine then ends
  // by itself: its pending read, write or TLS step fails at once, and it
  // does no more I/O. A connection inside its handler is closed when the
  // handler returns (its answer is written with Connection: close); a
  // handler that holds its connection (an event stream) must end on its own,
  // which lets it write its last event first. Once they have, the server
  // leaves no work in the io_context, so io_context::run returns without
  // io_context::stop.
  void Stop();

 private:
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket);
  template <class Stream>
  boost::asio::awaitable<void> Session(Stream& stream, const HttpPeer& peer);
  template <class Stream>
  boost::asio::awaitable<void> Converse(Stream& stream, const HttpPeer& peer);

  boost::asio::io_context& io_;
  Settings settings_;
  HttpHandler handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // set by Listen when TLS is configured
  std::set<boost::beast::tcp_stream*> open_;        // every connection's TCP layer
  std::set<boost::beast::tcp_stream*> busy_;        // those inside the handler
  bool stopping_ = false;
};

// A response with `status`, a JSON body and no caching.
HttpResponse JsonResponse(const HttpRequest& request, unsigned status, const std::string& body);
// {"error": message}
HttpResponse ErrorResponse(const HttpRequest& request, unsigned status, const std::string& message);

}  // namespace freshet
