#include "sync/service/http_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "copy/error.h"
#include "sync/service/tls_context.h"

namespace freshet {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// A graceful close waits this long for the client's side of a TLS close and
// then for it to stop sending, discarding at most kDrainBytes.
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(2);
constexpr auto kDrainTimeout = std::chrono::seconds(5);
constexpr size_t kDrainBytes = 1024 * 1024;

// Writes to the connection a handler took over, plain or TLS.
template <class Stream>
class StreamWriter final : public ResponseWriter {
 public:
  explicit StreamWriter(Stream& stream) : stream_(stream) {}

  asio::awaitable<boost::system::error_code> Write(std::string_view bytes,
                                                   Duration timeout) override {
    beast::tcp_stream& tcp = beast::get_lowest_layer(stream_);
    tcp.expires_after(timeout);
    auto [error, written] =
        co_await asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()), kTuple);
    tcp.expires_never();
    co_return error;
  }

 private:
  Stream& stream_;
};

// Keeps a connection's TCP layer in one of the server's sets while it is
// open (or inside its handler), for Stop.
class OpenConnection {
 public:
  OpenConnection(std::set<beast::tcp_stream*>& open, beast::tcp_stream& stream)
      : open_(open), stream_(&stream) {
    open_.insert(stream_);
  }
  ~OpenConnection() { open_.erase(stream_); }
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;

 private:
  std::set<beast::tcp_stream*>& open_;
  beast::tcp_stream* stream_;
};

asio::awaitable<bool> Handshake(beast::tcp_stream&, const HttpPeer&) { co_return true; }

asio::awaitable<bool> Handshake(TlsStream& stream, const HttpPeer& peer) {
  beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
  auto [error] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
  beast::get_lowest_layer(stream).expires_never();
  if (error) spdlog::debug("http: TLS handshake with {} failed: {}", peer.address, error.message());
  co_return !error;
}

// Ends a connection so that its last answer arrives: the TLS close (when the
// session is up), then shutdown(send), then what the client still sends is
// read and discarded, within bounds, before the socket closes. Closing with
// unread bytes would make the kernel reset the connection, and the client
// could lose the answer.
template <class Stream>
asio::awaitable<void> CloseGracefully(Stream& stream, bool secured) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    if (secured) {
      tcp.expires_after(kTlsShutdownTimeout);
      co_await stream.async_shutdown(kTuple);
    }
  }
  boost::system::error_code ignored;
  tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
  tcp.expires_after(kDrainTimeout);
  std::array<char, 16 * 1024> sink;
  for (size_t drained = 0; drained < kDrainBytes;) {
    auto [error, read] = co_await tcp.async_read_some(asio::buffer(sink), kTuple);
    if (error) break;
    drained += read;
  }
  tcp.close();
}

// The answer to a request that could not be read, or nullopt when there is
// none to give (the client went away, the connection timed out).
std::optional<std::pair<unsigned, std::string>> Refusal(const boost::system::error_code& error,
                                                        size_t body_limit) {
  if (error == http::error::body_limit)
    return std::pair(413u, fmt::format("the request body is larger than {} bytes", body_limit));
  if (error == http::error::header_limit)
    return std::pair(431u, "the request headers are too large");
  if (error.category() == make_error_code(http::error::bad_target).category() &&
      error != http::error::end_of_stream && error != http::error::partial_message)
    return std::pair(400u, fmt::format("malformed HTTP request: {}", error.message()));
  return std::nullopt;
}

void LogIfThrown(std::exception_ptr error, std::string_view what) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::warn("http: {}: {}", what, e.what());
  }
}

}  // namespace

asio::awaitable<boost::system::error_code> ResponseWriter::WriteHeader(
    const http::response_header<>& header, Duration timeout) {
  std::ostringstream text;
  text << header;
  std::string bytes = text.str();
  co_return co_await Write(bytes, timeout);
}

HttpResponse JsonResponse(const HttpRequest& request, unsigned status, const std::string& body) {
  HttpResponse response(static_cast<http::status>(status), request.version());
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = body;
  return response;
}

HttpResponse ErrorResponse(const HttpRequest& request, unsigned status,
                           const std::string& message) {
  return JsonResponse(request, status,
                      nlohmann::json{{"error", message}}.dump(
                          -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                          "\n");
}

HttpServer::HttpServer(asio::io_context& io, Settings settings, HttpHandler handler)
    : io_(io), settings_(std::move(settings)), handler_(std::move(handler)), acceptor_(io) {}

HttpServer::~HttpServer() = default;

uint16_t HttpServer::Listen() {
  if (settings_.tls_cert.empty() != settings_.tls_key.empty())
    throw Error(ErrorKind::kUsage, "TLS needs both [service] tls_cert and tls_key");
  if (!settings_.tls_cert.empty()) tls_ = LoadTlsContext(settings_.tls_cert, settings_.tls_key);
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(settings_.address, ec);
  if (ec)
    throw Error(ErrorKind::kUsage,
                fmt::format("listen address '{}' is not an IP address", settings_.address));
  tcp::endpoint endpoint(address, settings_.port);
  auto fail = [&](std::string_view step) {
    throw Error(ErrorKind::kRuntime,
                fmt::format("cannot listen on {}:{}: {} failed: {}", settings_.address,
                            settings_.port, step, ec.message()));
  };
  if (acceptor_.open(endpoint.protocol(), ec)) fail("open");
  if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec)) fail("setsockopt");
  if (acceptor_.bind(endpoint, ec)) fail("bind");
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) fail("listen");
  return acceptor_.local_endpoint().port();
}

const char* HttpServer::Scheme() const { return tls_ ? "https" : "http"; }

void HttpServer::Start() {
  asio::co_spawn(io_, Accept(),
                 [](std::exception_ptr error) { LogIfThrown(error, "the accept loop stopped"); });
}

void HttpServer::Stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (beast::tcp_stream* stream : open_)
    if (!busy_.count(stream)) stream->close();  // the socket and its timer
}

asio::awaitable<void> HttpServer::Accept() {
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      spdlog::warn("http: accept failed: {}", ec.message());
      continue;
    }
    asio::co_spawn(io_, Serve(std::move(socket)), [](std::exception_ptr error) {
      LogIfThrown(error, "a connection ended with an error");
    });
  }
}

asio::awaitable<void> HttpServer::Serve(tcp::socket socket) {
  if (stopping_) co_return;  // accepted just before Stop: closed unanswered
  boost::system::error_code ignored;
  HttpPeer peer{socket.remote_endpoint(ignored).address().to_string()};
  if (tls_) {
    TlsStream stream(std::move(socket), *tls_);
    co_await Session(stream, peer);
  } else {
    beast::tcp_stream stream(std::move(socket));
    co_await Session(stream, peer);
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::Session(Stream& stream, const HttpPeer& peer) {
  OpenConnection registered(open_, beast::get_lowest_layer(stream));
  bool secured = co_await Handshake(stream, peer);
  if (secured) co_await Converse(stream, peer);
  co_await CloseGracefully(stream, secured);
}

// Requests and answers until either side ends the connection, a request
// cannot be read (answered with a refusal when it was malformed or too
// large), or the handler takes the connection over.
template <class Stream>
asio::awaitable<void> HttpServer::Converse(Stream& stream, const HttpPeer& peer) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  StreamWriter<Stream> writer(stream);
  beast::flat_buffer buffer;
  while (!stopping_) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(settings_.body_limit);
    parser.header_limit(16 * 1024);
    tcp.expires_after(settings_.idle_timeout);
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (read_error) {
      if (auto refusal = Refusal(read_error, settings_.body_limit)) {
        HttpRequest bare;
        bare.version(11);
        HttpResponse response = ErrorResponse(bare, refusal->first, refusal->second);
        response.keep_alive(false);
        response.prepare_payload();
        tcp.expires_after(kWriteTimeout);
        co_await http::async_write(stream, response, kTuple);
      }
      co_return;
    }
    HttpRequest request = parser.release();
    tcp.expires_never();
    OpenConnection busy(busy_, tcp);  // Stop leaves it to the handler to end
    std::optional<HttpResponse> response = co_await handler_(request, writer, peer);
    if (!response) co_return;
    response->keep_alive(request.keep_alive() && !stopping_);
    response->prepare_payload();
    tcp.expires_after(kWriteTimeout);
    auto [write_error, written] = co_await http::async_write(stream, *response, kTuple);
    if (write_error || !response->keep_alive()) co_return;
  }
}

}  // namespace freshet
