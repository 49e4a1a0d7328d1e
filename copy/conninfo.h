// Connection strings as libpq accepts them (postgres:// URLs or key=value),
// parsed by libpq itself. Used to describe an endpoint without its password and
// to tell whether it points at this machine. Pure, thread-safe.
#pragma once

#include <map>
#include <string>

namespace freshet {

struct ConnInfo {
  // Every keyword libpq knows that has a value after parsing (URL, key=value,
  // then PG* environment defaults), password included.
  std::map<std::string, std::string> values;

  // Parses `conninfo` (throws Error naming what is malformed, never echoing a
  // password). Environment defaults (PGHOST, PGPORT, ...) are applied.
  static ConnInfo Parse(const std::string& conninfo);

  // "user@host:port/dbname" — never a password. Safe for logs and reports.
  std::string Describe() const;

  // True when every host is a Unix socket directory, localhost, or a
  // loopback address (127.0.0.0/8, ::1).
  bool IsLocal() const;
};

// Percent-encodes `text` for a postgres:// URL component (RFC 3986: every
// byte but unreserved characters), e.g. a database name with spaces.
std::string PercentEncode(const std::string& text);

// Removes anything that looks like a password from free text (libpq and server
// messages normally carry none, but a malformed URL can be echoed back).
std::string RedactSecrets(std::string text);

}  // namespace freshet
