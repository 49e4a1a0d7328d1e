// A request the service refuses, with the HTTP status to answer and a message
// for the client (never a secret). Thrown by the queue and the routes, caught
// by the HTTP layer, which answers {"error": message}.
#pragma once

#include <stdexcept>
#include <string>

namespace freshet {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace freshet
