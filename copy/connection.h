// A PostgreSQL connection (libpq) owned by RAII, with the session settings
// that change COPY output pinned, and errors that name the endpoint (without
// its password) and the statement. Move-only; not thread-safe: one thread uses
// a Connection at a time, except Cancel(), which any thread may call.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "copy/error.h"

namespace freshet {

// Owns one PGresult. Move-only.
class Result {
 public:
  Result() = default;
  explicit Result(PGresult* result) : result_(result) {}

  int Rows() const { return result_ ? PQntuples(result_.get()) : 0; }
  int Columns() const { return result_ ? PQnfields(result_.get()) : 0; }
  bool IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column); }
  std::string_view Text(int row, int column) const;
  std::string Get(int row, int column) const { return std::string(Text(row, column)); }
  std::optional<std::string> GetOptional(int row, int column) const;
  int64_t GetInt(int row, int column) const;
  double GetDouble(int row, int column) const;
  bool GetBool(int row, int column) const { return Text(row, column) == "t"; }
  // Text array value ({a,b}) split into elements. Elements must not be NULL.
  std::vector<std::string> GetTextArray(int row, int column) const;
  // Rows affected, from the command tag (INSERT, COPY, ...).
  uint64_t AffectedRows() const;
  // The raw result, for error reporting; the Result keeps ownership.
  const PGresult* get() const { return result_.get(); }
  ExecStatusType Status() const {
    return result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
  }

 private:
  friend class Connection;
  struct Deleter {
    void operator()(PGresult* result) const { PQclear(result); }
  };
  std::unique_ptr<PGresult, Deleter> result_;
};

using Params = std::vector<std::optional<std::string>>;

class Connection {
 public:
  // Connects and pins DateStyle, TimeZone, IntervalStyle, extra_float_digits,
  // client_encoding, bytea_output, standard_conforming_strings and timeouts.
  // `label` ("source", "target") prefixes every error. Throws Error.
  static Connection Open(const std::string& conninfo, std::string label);

  Connection(Connection&&) = default;
  Connection& operator=(Connection&&) = default;

  // Runs one or more statements; throws Error naming the statement. Waits on
  // the socket: while a stop token is bound (BindStop, CancelOnStop), a stop
  // cancels the statement from the waiting thread ("canceling statement due
  // to user request").
  Result Exec(std::string_view sql);
  // Runs one statement with $n text parameters.
  Result Exec(std::string_view sql, const Params& params);

  // Binds `stop` to the statements Exec runs from now on (an empty token:
  // none) and returns the token bound before.
  std::stop_token BindStop(std::stop_token stop);

  // Asks the server to cancel what this connection is running. Thread-safe.
  void Cancel();

  // "label user@host:port/dbname"; never a password.
  const std::string& Describe() const { return description_; }
  const std::string& label() const { return label_; }
  int ServerVersion() const { return PQserverVersion(conn_.get()); }

  // Raw handle for the COPY relay in copy/. The Connection keeps ownership.
  PGconn* handle() const { return conn_.get(); }

  // Builds an Error for the last failure on this connection or `result`.
  Error MakeError(const PGresult* result, std::string_view context) const;

 private:
  struct ConnDeleter {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };
  struct CancelDeleter {
    void operator()(PGcancel* cancel) const { PQfreeCancel(cancel); }
  };
  Connection() = default;
  Result AwaitResult(std::string_view sql);

  std::unique_ptr<PGconn, ConnDeleter> conn_;
  std::unique_ptr<PGcancel, CancelDeleter> cancel_;
  std::string label_;
  std::string description_;
  std::stop_token stop_;
};

// While alive, a stop requested on `stop` cancels whatever `connection` runs
// through Exec (the statement fails with "canceling statement due to user
// request"). The stop only wakes the thread waiting for the statement, which
// sends the cancel itself: the thread that requested the stop (the signal
// watcher's) never waits on the network. Later statements are not affected:
// callers check the token between steps. Made and destroyed on the thread
// that uses `connection`, which must outlive it.
class CancelOnStop {
 public:
  CancelOnStop(Connection& connection, std::stop_token stop)
      : connection_(connection), previous_(connection.BindStop(std::move(stop))) {}
  ~CancelOnStop() { connection_.BindStop(std::move(previous_)); }
  CancelOnStop(const CancelOnStop&) = delete;
  CancelOnStop& operator=(const CancelOnStop&) = delete;

 private:
  Connection& connection_;
  std::stop_token previous_;
};

// Throws Error "<what>: cancelled" when a stop was requested.
void ThrowIfStopped(std::stop_token stop, std::string_view what);

// Runs `body()` between BEGIN and COMMIT on `connection`. If anything throws,
// the transaction is rolled back (a failing ROLLBACK on a dead connection is
// ignored) and the exception rethrown.
template <typename Body>
void InTransaction(Connection& connection, Body&& body) {
  connection.Exec("BEGIN");
  try {
    body();
    connection.Exec("COMMIT");
  } catch (...) {
    try {
      connection.Exec("ROLLBACK");
    } catch (const Error&) {
    }
    throw;
  }
}

}  // namespace freshet
