#include "sync/service/http_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "copy/error.h"

namespace freshet {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

HttpResponse JsonResponse(const HttpRequest& request, unsigned status, const std::string& body) {
  HttpResponse response(static_cast<http::status>(status), request.version());
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = body;
  return response;
}

HttpResponse ErrorResponse(const HttpRequest& request, unsigned status,
                           const std::string& message) {
  return JsonResponse(request, status, nlohmann::json{{"error", message}}.dump() + "\n");
}

HttpServer::HttpServer(asio::io_context& io, Settings settings, HttpHandler handler)
    : io_(io), settings_(std::move(settings)), handler_(std::move(handler)), acceptor_(io) {}

HttpServer::~HttpServer() = default;

uint16_t HttpServer::Listen() {
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

void HttpServer::Start() {
  asio::co_spawn(io_, Accept(), [](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("http: the accept loop stopped: {}", e.what());
    }
  });
}

void HttpServer::Stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (beast::tcp_stream* stream : open_) stream->socket().close(ignored);
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
      if (!error) return;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::warn("http: a connection ended with an error: {}", e.what());
      }
    });
  }
}

asio::awaitable<void> HttpServer::Serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  open_.insert(&stream);
  struct Forget {
    std::set<beast::tcp_stream*>& open;
    beast::tcp_stream* stream;
    ~Forget() { open.erase(stream); }
  } forget{open_, &stream};
  boost::system::error_code ignored;
  HttpPeer peer{stream.socket().remote_endpoint(ignored).address().to_string()};
  beast::flat_buffer buffer;
  while (!stopping_) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(settings_.body_limit);
    parser.header_limit(16 * 1024);
    stream.expires_after(settings_.idle_timeout);
    auto [ec, read] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (ec) {
      std::optional<std::pair<unsigned, std::string>> refusal;
      if (ec == http::error::body_limit)
        refusal = {413,
                   fmt::format("the request body is larger than {} bytes", settings_.body_limit)};
      else if (ec == http::error::header_limit)
        refusal = {431, "the request headers are too large"};
      else if (ec.category() == make_error_code(http::error::bad_target).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message)
        refusal = {400, fmt::format("malformed HTTP request: {}", ec.message())};
      if (refusal) {
        HttpRequest bare;
        bare.version(11);
        HttpResponse response = ErrorResponse(bare, refusal->first, refusal->second);
        response.keep_alive(false);
        response.prepare_payload();
        stream.expires_after(std::chrono::seconds(10));
        co_await http::async_write(stream, response, kTuple);
      }
      break;
    }
    HttpRequest request = parser.release();
    stream.expires_never();
    std::optional<HttpResponse> response = co_await handler_(request, stream, peer);
    if (!response) break;
    response->keep_alive(request.keep_alive() && !stopping_);
    response->prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    auto [write_error, written] = co_await http::async_write(stream, *response, kTuple);
    if (write_error || !response->keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

}  // namespace freshet
