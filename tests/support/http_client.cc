#include "tests/support/http_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace freshet::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

void SetTimeout(tcp::socket& socket, std::chrono::seconds timeout) {
  timeval value{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value);
}

tcp::socket Connect(asio::io_context& io, int port, std::chrono::seconds timeout) {
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
  SetTimeout(socket, timeout);
  return socket;
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

}  // namespace

nlohmann::json HttpResult::Json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& error) {
    throw std::runtime_error("response (status " + std::to_string(status) +
                             ") is not JSON: " + body);
  }
}

HttpResult HttpCall(int port, const std::string& method, const std::string& target,
                    const Headers& headers, const std::string& body) {
  asio::io_context io;
  tcp::socket socket = Connect(io, port, std::chrono::minutes(5));
  http::write(socket, Request(port, method, target, headers, body));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
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

std::pair<int, std::vector<ServerSentEvent>> ReadEvents(int port, const std::string& target,
                                                        const Headers& headers) {
  asio::io_context io;
  tcp::socket socket = Connect(io, port, std::chrono::minutes(5));
  Headers with_accept = headers;
  with_accept.emplace_back("Accept", "text/event-stream");
  http::write(socket, Request(port, "GET", target, with_accept, {}));
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> head;
  http::read_header(socket, buffer, head);
  int status = static_cast<int>(head.get().result_int());
  std::string text(static_cast<const char*>(buffer.data().data()), buffer.size());
  boost::system::error_code error;
  char chunk[4096];
  for (;;) {
    size_t n = socket.read_some(asio::buffer(chunk), error);
    if (error) break;
    text.append(chunk, n);
  }
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
  return {status, events};
}

std::string RawExchange(int port, const std::string& bytes, std::chrono::seconds timeout) {
  asio::io_context io;
  tcp::socket socket = Connect(io, port, timeout);
  asio::write(socket, asio::buffer(bytes));
  std::string text;
  boost::system::error_code error;
  char chunk[4096];
  for (;;) {
    size_t n = socket.read_some(asio::buffer(chunk), error);
    if (error) break;
    text.append(chunk, n);
  }
  return text;
}

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

}  // namespace freshet::testing
