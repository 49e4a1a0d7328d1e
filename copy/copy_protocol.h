// Internal to copy/: the libpq COPY protocol steps shared by the streams that
// talk to servers (server_copy.cc) — starting a COPY, waiting for results on
// the socket so a stop can interrupt the wait, and draining results so a
// connection is idle again whatever happened. Not part of the library's API.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "copy/connection.h"
#include "copy/error.h"
#include "copy/socket_wait.h"

namespace freshet::copy_internal {

// Waits until the connection's socket is readable. With a waker, a stop asks
// the server to cancel (once; `*cancelled` records it) and ends the wait;
// after that (or without a waker) waits on the socket alone.
void WaitReadable(Connection& connection, const StopWaker* waker, bool* cancelled);

// Reads and drops the rest of a COPY OUT in progress, waiting as
// WaitReadable does. Its result follows.
void DropCopyOut(Connection& connection, const StopWaker* waker, bool* cancelled);

// Waits until libpq can hand over a result without blocking. With a waker, a
// stop asks the server to cancel (once; `*cancelled` records it) and the wait
// goes on for the result, which the cancel turns into an error. Without one,
// waits on the socket alone.
void WaitForResult(Connection& connection, const StopWaker* waker, bool* cancelled);

// Reads results until libpq has none left, ending a COPY still in progress
// (the rest of a COPY OUT is discarded, a COPY IN is aborted), and returns the
// first failure, if any. `*rows` (if not null) gets the command tag's count.
// With a waker, a stop cancels what the server is still doing.
std::optional<Error> CollectResults(Connection& connection, std::string_view context,
                                    uint64_t* rows, const StopWaker* waker);

// Sends `sql`, which must leave the connection in `expected` (PGRES_COPY_OUT
// or PGRES_COPY_IN), and waits for that with `waker` (a COPY waiting for a
// lock is cancelled by a stop). Throws the connection's Error, leaving it
// idle, otherwise.
void StartCopy(Connection& connection, const std::string& sql, ExecStatusType expected,
               const StopWaker* waker);

// The most a sink hands libpq at once. libpq grows its output buffer to hold
// what it is given; a COPY IN stream has no message boundaries the server
// needs, so a huge row (a 100 MB value) is sent in pieces and the buffer
// stays small.
inline constexpr size_t kCopyPiece = size_t{1} << 20;

}  // namespace freshet::copy_internal
