// A small blocking HTTP/1.1 client for the service's tests (Boost.Beast over
// loopback, plain or TLS): one request per connection, Server-Sent Events read
// until the stream ends, and raw bytes for malformed-request tests. Every call
// runs its connection's asynchronous operations under one deadline; a call
// still unfinished at its deadline throws an error naming the request, so a
// hung server fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace freshet::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Where the service under test listens: a loopback port, spoken to over
// plain HTTP, or over HTTPS (TLS 1.2+) when `ca_file` names the PEM
// certificate to trust; the server's certificate must then be valid for
// 127.0.0.1.
struct ServiceAddress {
  ServiceAddress(int port) : port(port) {}  // NOLINT(google-explicit-constructor): plain HTTP
  ServiceAddress(int port, std::string ca_file) : port(port), ca_file(std::move(ca_file)) {}
  int port = 0;
  std::string ca_file;
};

// How long a call may take, connection to last byte, unless told otherwise.
inline constexpr std::chrono::seconds kCallDeadline{300};

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  // The body parsed as JSON; throws with the body when it is not.
  nlohmann::json Json() const;
};

HttpResult HttpCall(const ServiceAddress& address, const std::string& method,
                    const std::string& target, const Headers& headers = {},
                    const std::string& body = {}, std::chrono::seconds deadline = kCallDeadline);

struct ServerSentEvent {
  std::string event;  // "message" when the stream names none
  std::string data;
};
// GETs `target` and reads events until the server closes the stream.
// Returns the status and, for 200, every event in order.
std::pair<int, std::vector<ServerSentEvent>> ReadEvents(
    const ServiceAddress& address, const std::string& target, const Headers& headers,
    std::chrono::seconds deadline = kCallDeadline);

// Writes `bytes` as they are over plain TCP (whatever `address` speaks) and
// returns everything the server sent until it closed the connection (a reset
// counts as a close).
std::string RawExchange(const ServiceAddress& address, const std::string& bytes,
                        std::chrono::seconds deadline = std::chrono::seconds(30));

// "Authorization: Bearer <token>".
Headers Bearer(const std::string& token);

}  // namespace freshet::testing
