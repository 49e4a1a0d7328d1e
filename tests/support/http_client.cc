#include "tests/support/http_client.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <optional>
#include <stdexcept>

namespace freshet::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> Open(tcp::socket& socket, int port) {
  co_await socket.async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
      asio::use_awaitable);
}

asio::awaitable<void> Open(TlsStream& stream, int port) {
  co_await Open(stream.next_layer(), port);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
}

// Appends what the server sends to `text` until it ends the connection: a
// close, a reset or the end of the TLS session.
template <class Stream>
asio::awaitable<void> ReadToClose(Stream& stream, std::string& text) {
  char chunk[4096];
  for (;;) {
    auto [error, read] = co_await stream.async_read_some(asio::buffer(chunk), kTuple);
    text.append(chunk, read);
    if (error) co_return;
  }
}

std::string Describe(const ServiceAddress& address, std::string_view request) {
  return fmt::format("{} on {}://127.0.0.1:{}", request, address.ca_file.empty() ? "http" : "https",
                     address.port);
}

// Connects to `address` and runs `exchange(stream)` (a generic callable
// returning awaitable<void>) on the connection, all of it within `deadline`:
// when the time runs out, the connection is closed, the exchange unwinds and
// this throws naming `what`. Other failures are thrown naming `what` too.
template <class Exchange>
void RunExchange(const ServiceAddress& address, const std::string& what,
                 std::chrono::seconds deadline, Exchange exchange) {
  asio::io_context io;
  std::exception_ptr failure;
  bool finished = false;
  auto on_end = [&](std::exception_ptr error) {
    failure = error;
    finished = true;
  };
  std::optional<tcp::socket> plain;
  std::optional<asio::ssl::context> context;
  std::optional<TlsStream> tls;
  std::function<void()> close;
  if (address.ca_file.empty()) {
    plain.emplace(io);
    close = [&] {
      boost::system::error_code ignored;
      plain->close(ignored);
    };
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await Open(*plain, address.port);
          co_await exchange(*plain);
        },
        on_end);
  } else {
    context.emplace(asio::ssl::context::tls_client);
    context->set_verify_mode(asio::ssl::verify_peer);
    context->load_verify_file(address.ca_file);
    tls.emplace(io, *context);
    tls->set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    close = [&] {
      boost::system::error_code ignored;
      tls->lowest_layer().close(ignored);
    };
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await Open(*tls, address.port);
          co_await exchange(*tls);
        },
        on_end);
  }
  io.run_for(deadline);
  if (!finished) {
    close();
    io.run();  // the exchange ends, its operations aborted
    throw std::runtime_error(
        fmt::format("{}: no complete answer within the deadline of {} s", what, deadline.count()));
  }
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& error) {
    throw std::runtime_error(fmt::format("{}: {}", what, error.what()));
  }
}

http::request<http::string_body> Request(int port, const std::string& method,
                                         const std::string& target, const Headers& headers,
                                         const std::string& body) {
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty()) {
    if (request.find(http::field::content_type) == request.end())
      request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();
  return request;
}

std::vector<ServerSentEvent> ParseEvents(const std::string& text) {
  std::vector<ServerSentEvent> events;
  ServerSentEvent current{"message", ""};
  bool any = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) break;
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) {
      if (any) events.push_back(current);
      current = {"message", ""};
      any = false;
    } else if (line.starts_with("event: ")) {
      current.event = line.substr(7);
      any = true;
    } else if (line.starts_with("data: ")) {
      current.data += (current.data.empty() ? "" : "\n") + line.substr(6);
      any = true;
    }
  }
  return events;
}

}  // namespace

nlohmann::json HttpResult::Json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& error) {
    throw std::runtime_error("response (status " + std::to_string(status) +
                             ") is not JSON: " + body);
  }
}

HttpResult HttpCall(const ServiceAddress& address, const std::string& method,
                    const std::string& target, const Headers& headers, const std::string& body,
                    std::chrono::seconds deadline) {
  http::request<http::string_body> request = Request(address.port, method, target, headers, body);
  http::response<http::string_body> response;
  RunExchange(address, Describe(address, method + " " + target), deadline,
              [&](auto& stream) -> asio::awaitable<void> {
                co_await http::async_write(stream, request, asio::use_awaitable);
                beast::flat_buffer buffer;
                co_await http::async_read(stream, buffer, response, asio::use_awaitable);
              });
  HttpResult result;
  result.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(field.value());
  }
  result.body = response.body();
  return result;
}

std::pair<int, std::vector<ServerSentEvent>> ReadEvents(const ServiceAddress& address,
                                                        const std::string& target,
                                                        const Headers& headers,
                                                        std::chrono::seconds deadline) {
  Headers with_accept = headers;
  with_accept.emplace_back("Accept", "text/event-stream");
  http::request<http::string_body> request = Request(address.port, "GET", target, with_accept, {});
  int status = 0;
  std::string text;
  RunExchange(address, Describe(address, "GET " + target + " (event stream)"), deadline,
              [&](auto& stream) -> asio::awaitable<void> {
                co_await http::async_write(stream, request, asio::use_awaitable);
                beast::flat_buffer buffer;
                http::response_parser<http::empty_body> head;
                co_await http::async_read_header(stream, buffer, head, asio::use_awaitable);
                status = static_cast<int>(head.get().result_int());
                text.assign(static_cast<const char*>(buffer.data().data()), buffer.size());
                co_await ReadToClose(stream, text);
              });
  return {status, ParseEvents(text)};
}

std::string RawExchange(const ServiceAddress& address, const std::string& bytes,
                        std::chrono::seconds deadline) {
  ServiceAddress plain(address.port);
  std::string text;
  RunExchange(plain, Describe(plain, fmt::format("{} raw bytes", bytes.size())), deadline,
              [&](auto& stream) -> asio::awaitable<void> {
                co_await asio::async_write(stream, asio::buffer(bytes), asio::use_awaitable);
                co_await ReadToClose(stream, text);
              });
  return text;
}

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

}  // namespace freshet::testing
