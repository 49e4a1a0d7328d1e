#include "copy/copy_protocol.h"

#include <cerrno>
#include <memory>
#include <vector>

namespace freshet::copy_internal {

void WaitReadable(Connection& connection, const StopWaker* waker, bool* cancelled) {
  int socket = PQsocket(connection.handle());
  if (waker && !*cancelled) {
    std::vector<SocketWait> wait{{socket, POLLIN}};
    if (WaitForSockets(wait, *waker)) return;
    connection.Cancel();
    *cancelled = true;
  }
  pollfd polled{socket, POLLIN, 0};
  while (poll(&polled, 1, -1) < 0 && errno == EINTR) {
  }
}

void WaitForResult(Connection& connection, const StopWaker* waker, bool* cancelled) {
  PGconn* handle = connection.handle();
  while (PQisBusy(handle)) {
    WaitReadable(connection, waker, cancelled);
    if (!PQconsumeInput(handle)) return;  // the connection failed: PQgetResult says why
  }
}

void DropCopyOut(Connection& connection, const StopWaker* waker, bool* cancelled) {
  PGconn* handle = connection.handle();
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(handle, &buffer, /*async=*/1);
    if (n > 0) {
      PQfreemem(buffer);
      continue;
    }
    if (n < 0) return;  // the stream is over; its result follows
    WaitReadable(connection, waker, cancelled);
    if (!PQconsumeInput(handle)) return;
  }
}

std::optional<Error> CollectResults(Connection& connection, std::string_view context,
                                    uint64_t* rows, const StopWaker* waker) {
  PGconn* handle = connection.handle();
  std::optional<Error> failure;
  bool cancelled = false;
  for (;;) {
    WaitForResult(connection, waker, &cancelled);
    PGresult* raw = PQgetResult(handle);
    if (!raw) break;
    Result result(raw);
    ExecStatusType status = result.Status();
    if (status == PGRES_COMMAND_OK) {
      if (rows) *rows = result.AffectedRows();
    } else if (status == PGRES_COPY_OUT) {
      DropCopyOut(connection, waker, &cancelled);  // still in progress after a cancel
    } else if (status == PGRES_COPY_IN) {
      PQsetnonblocking(handle, 0);
      PQputCopyEnd(handle, "aborted by freshet");
    } else if (!failure) {
      failure = connection.MakeError(raw, context);
    }
  }
  return failure;
}

void StartCopy(Connection& connection, const std::string& sql, ExecStatusType expected,
               const StopWaker* waker) {
  PGconn* handle = connection.handle();
  if (!PQsendQuery(handle, sql.c_str())) throw connection.MakeError(nullptr, sql);
  bool cancelled = false;
  WaitForResult(connection, waker, &cancelled);
  Result result(PQgetResult(handle));
  if (result.Status() != expected) {
    Error error = connection.MakeError(result.get(), sql);
    CollectResults(connection, sql, nullptr, nullptr);
    throw error;
  }
}

}  // namespace freshet::copy_internal
