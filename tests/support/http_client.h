// A small blocking HTTP/1.1 client for the service's tests (Boost.Beast over
// loopback): one request per connection, Server-Sent Events read until the
// stream ends, and raw bytes for malformed-request tests. Every call has a
// socket timeout (default 5 minutes) so a hung server fails the test instead
// of hanging it.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace freshet::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  // The body parsed as JSON; throws with the body when it is not.
  nlohmann::json Json() const;
};

HttpResult HttpCall(int port, const std::string& method, const std::string& target,
                    const Headers& headers = {}, const std::string& body = {});

struct ServerSentEvent {
  std::string event;  // "message" when the stream names none
  std::string data;
};
// GETs `target` and reads events until the server closes the stream.
// Returns the status and, for 200, every event in order.
std::pair<int, std::vector<ServerSentEvent>> ReadEvents(int port, const std::string& target,
                                                        const Headers& headers);

// Writes `bytes` as they are and returns everything the server answered
// before closing (or before `timeout`).
std::string RawExchange(int port, const std::string& bytes,
                        std::chrono::seconds timeout = std::chrono::seconds(30));

// "Authorization: Bearer <token>".
Headers Bearer(const std::string& token);

}  // namespace freshet::testing
