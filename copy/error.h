// The one error type of freshet's libraries. Every failure carries a message
// that names its context (table, statement, connection) and, when the server
// raised it, the SQLSTATE. Callers catch freshet::Error; nothing else is thrown
// on purpose.
#pragma once

#include <stdexcept>
#include <string>

namespace freshet {

// What kind of failure, which is also the process exit status of the CLI.
enum class ErrorKind {
  kRuntime = 1,   // a server, connection, file or stream failed
  kUsage = 2,     // bad arguments, config or input file
  kPlan = 3,      // the schemas cannot be synced as asked (plan errors)
  kMismatch = 4,  // verification found differences
  kRefused = 5,   // a safety rule refused to write to the target
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string sqlstate = {},
                 ErrorKind kind = ErrorKind::kRuntime)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)), kind_(kind) {}
  Error(ErrorKind kind, const std::string& message) : Error(message, {}, kind) {}

  // Five-character SQLSTATE when the error came from a server, else empty.
  const std::string& sqlstate() const { return sqlstate_; }
  ErrorKind kind() const { return kind_; }

 private:
  std::string sqlstate_;
  ErrorKind kind_;
};

// Shortens a SQL statement for an error message: one line, at most `max` chars.
std::string Abbreviate(std::string_view sql, size_t max = 160);

}  // namespace freshet
