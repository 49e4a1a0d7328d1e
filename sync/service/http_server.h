// The service's HTTP/1.1 server: Boost.Beast over Boost.Asio, one C++20
// coroutine per connection, all on one io_context thread. It reads requests
// (size-limited), hands each to the handler and writes the answer, with
// keep-alive; a handler may take over the stream instead (Server-Sent
// Events), after which the connection closes.
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

namespace freshet {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

struct HttpPeer {
  std::string address;  // the client's IP, for rate limits and logs
};

// Answers a request. Returns the response to write, or nullopt when it wrote
// to `stream` itself (the connection is then closed).
using HttpHandler = std::function<boost::asio::awaitable<std::optional<HttpResponse>>(
    const HttpRequest& request, boost::beast::tcp_stream& stream, const HttpPeer& peer)>;

class HttpServer {
 public:
  struct Settings {
    std::string address = "127.0.0.1";
    uint16_t port = 7432;  // 0: any free port (tests)
    size_t body_limit = 64 * 1024;
    std::chrono::seconds idle_timeout{60};
  };

  // `io` and `handler` must outlive the server.
  HttpServer(boost::asio::io_context& io, Settings settings, HttpHandler handler);
  ~HttpServer();

  // Binds and listens; throws Error naming the address when it cannot.
  // Returns the port (the chosen one when settings.port was 0).
  uint16_t Listen();
  // Starts accepting connections (after Listen).
  void Start();
  // Stops accepting and closes every open connection.
  void Stop();

 private:
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  Settings settings_;
  HttpHandler handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::set<boost::beast::tcp_stream*> open_;
  bool stopping_ = false;
};

// A response with `status`, a JSON body and no caching.
HttpResponse JsonResponse(const HttpRequest& request, unsigned status, const std::string& body);
// {"error": message}
HttpResponse ErrorResponse(const HttpRequest& request, unsigned status, const std::string& message);

}  // namespace freshet
