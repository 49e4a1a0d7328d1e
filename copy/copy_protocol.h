// Internal to copy/: the libpq COPY protocol steps shared by the streams that
// talk to servers (copy_relay.cc, copy_file.cc) — starting a COPY, sending
// data without spinning, and draining results so a connection is idle again
// whatever happened. Not part of the library's API.
#pragma once

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>

#include "copy/connection.h"
#include "copy/error.h"

namespace freshet::copy_internal {

// Reads results until libpq has none left, ending a COPY still in progress
// (the rest of a COPY OUT is discarded, a COPY IN is aborted), and returns the
// first failure, if any. `*rows` (if not null) gets the command tag's count.
inline std::optional<Error> DrainResults(Connection& connection, std::string_view context,
                                         uint64_t* rows) {
  std::optional<Error> failure;
  while (PGresult* raw = PQgetResult(connection.handle())) {
    Result result(raw);
    ExecStatusType status = result.Status();
    if (status == PGRES_COMMAND_OK) {
      if (rows) *rows = result.AffectedRows();
    } else if (status == PGRES_COPY_OUT) {
      // A COPY OUT still in progress after a cancel: discard what remains.
      char* buffer = nullptr;
      while (PQgetCopyData(connection.handle(), &buffer, 0) > 0) PQfreemem(buffer);
    } else if (status == PGRES_COPY_IN) {
      PQputCopyEnd(connection.handle(), "aborted by freshet");
    } else if (!failure) {
      failure = connection.MakeError(raw, context);
    }
  }
  return failure;
}

// Runs `sql`, which must leave the connection in `expected` (PGRES_COPY_OUT or
// PGRES_COPY_IN). Throws the connection's Error, leaving it idle, otherwise.
inline void StartCopy(Connection& connection, const std::string& sql, ExecStatusType expected) {
  Result result(PQexec(connection.handle(), sql.c_str()));
  if (result.Status() != expected) {
    Error error = connection.MakeError(result.get(), sql);
    DrainResults(connection, sql, nullptr);
    throw error;
  }
}

// The most PutCopyData hands libpq at once. libpq grows its output buffer
// to hold what it is given; a COPY IN stream has no message boundaries the
// server needs, so a huge row (a 100 MB value) is sent in pieces and the
// buffer stays small.
inline constexpr size_t kCopyPiece = size_t{1} << 20;

// PQputCopyData in pieces of at most kCopyPiece that, should the connection
// be non-blocking and libpq's buffer full (0), waits for the socket and
// flushes instead of spinning. Returns 1 on success, -1 on failure (the
// reason is on the connection).
inline int PutCopyData(PGconn* conn, std::string_view data) {
  while (!data.empty()) {
    std::string_view piece = data.substr(0, kCopyPiece);
    int put = PQputCopyData(conn, piece.data(), static_cast<int>(piece.size()));
    if (put < 0) return put;
    if (put == 1) {
      data.remove_prefix(piece.size());
      continue;
    }
    pollfd socket{PQsocket(conn), POLLOUT, 0};
    if (poll(&socket, 1, -1) < 0 && errno != EINTR) return -1;
    if (PQflush(conn) < 0) return -1;
  }
  return 1;
}

// The owner of a buffer PQgetCopyData allocated.
struct CopyBufferDeleter {
  void operator()(char* buffer) const { PQfreemem(buffer); }
};

}  // namespace freshet::copy_internal
