#include "copy/server_copy.h"

#include <fmt/format.h>

#include "copy/copy_protocol.h"

namespace freshet {

using copy_internal::CollectResults;
using copy_internal::kCopyPiece;
using copy_internal::StartCopy;

void ServerCopySource::BufferDeleter::operator()(char* buffer) const { PQfreemem(buffer); }

ServerCopySource::~ServerCopySource() {
  if (started_) Abort();
}

void ServerCopySource::Begin(const StopWaker& waker) {
  StartCopy(connection_, sql_, PGRES_COPY_OUT, &waker);
  started_ = true;
}

CopySource::ReadStatus ServerCopySource::Read(std::string_view* piece) {
  buffer_.reset();
  char* raw = nullptr;
  int n = PQgetCopyData(connection_.handle(), &raw, /*async=*/1);
  if (n > 0) {
    buffer_.reset(raw);
    *piece = std::string_view(raw, static_cast<size_t>(n));
    return ReadStatus::kData;
  }
  if (n == 0) {
    // No whole message buffered. Take what the socket has; wait if nothing.
    if (!PQconsumeInput(connection_.handle())) return ReadStatus::kEnd;  // End() says why
    n = PQgetCopyData(connection_.handle(), &raw, /*async=*/1);
    if (n > 0) {
      buffer_.reset(raw);
      *piece = std::string_view(raw, static_cast<size_t>(n));
      return ReadStatus::kData;
    }
    if (n == 0) return ReadStatus::kWait;
  }
  return ReadStatus::kEnd;  // -1: done, -2: failed; the result follows either way
}

int ServerCopySource::socket() const { return PQsocket(connection_.handle()); }

std::optional<uint64_t> ServerCopySource::End(const StopWaker& waker) {
  buffer_.reset();
  started_ = false;
  uint64_t rows = 0;
  if (auto failure = CollectResults(connection_, sql_, &rows, &waker)) throw *failure;
  return rows;
}

void ServerCopySource::Abort() noexcept {
  buffer_.reset();
  if (!started_) return;
  started_ = false;
  connection_.Cancel();
  CollectResults(connection_, sql_, nullptr, nullptr);
}

ServerCopySink::~ServerCopySink() {
  if (open_) Abort("abandoned by freshet", false);
}

void ServerCopySink::Begin(const StopWaker& waker) {
  StartCopy(connection_, sql_, PGRES_COPY_IN, &waker);
  waker_ = &waker;
  open_ = true;
  ending_ = false;
  queued_ = 0;
  if (PQsetnonblocking(connection_.handle(), 1) != 0) ThrowFailure();
}

void ServerCopySink::Write(std::string_view data) {
  PGconn* handle = connection_.handle();
  while (!data.empty()) {
    std::string_view piece = data.substr(0, kCopyPiece);
    int put = PQputCopyData(handle, piece.data(), static_cast<int>(piece.size()));
    if (put < 0) ThrowFailure();
    if (put == 0) {
      // libpq could not grow its buffer: send what it holds first.
      WaitWritable();
      if (PQflush(handle) < 0) ThrowFailure();
      continue;
    }
    queued_ += piece.size();
    data.remove_prefix(piece.size());
  }
}

bool ServerCopySink::Backlogged() {
  if (!open_ || (!ending_ && queued_ < kSinkBacklog)) return false;
  int flushed = PQflush(connection_.handle());
  if (flushed < 0) ThrowFailure();
  if (flushed == 0) queued_ = 0;
  return flushed == 1;
}

int ServerCopySink::socket() const { return PQsocket(connection_.handle()); }

void ServerCopySink::EndStream() {
  ending_ = true;
  int ended = PQputCopyEnd(connection_.handle(), nullptr);
  if (ended < 0) ThrowFailure();
  if (ended == 0) {  // buffers full: flush, then it fits
    for (int flushed; (flushed = PQflush(connection_.handle())) != 0;) {
      if (flushed < 0) ThrowFailure();
      WaitWritable();
    }
    if (PQputCopyEnd(connection_.handle(), nullptr) != 1) ThrowFailure();
  }
}

void ServerCopySink::WaitWritable() {
  std::vector<SocketWait> socket{{PQsocket(connection_.handle()), POLLOUT}};
  if (!WaitForSockets(socket, *waker_)) throw Error("cancelled");  // Begin set waker_
}

uint64_t ServerCopySink::Finish(const StopWaker& waker) {
  uint64_t rows = 0;
  Close();
  if (auto failure = CollectResults(connection_, sql_, &rows, &waker)) throw *failure;
  return rows;
}

void ServerCopySink::Abort(const char* reason, bool cancel) noexcept {
  if (!open_) return;
  if (cancel) connection_.Cancel();
  Close();
  PQputCopyEnd(connection_.handle(), reason);
  CollectResults(connection_, sql_, nullptr, nullptr);
}

void ServerCopySink::ThrowFailure() {
  Error sent = connection_.MakeError(nullptr, sql_);
  Close();
  std::optional<Error> own = CollectResults(connection_, sql_, nullptr, nullptr);
  throw own ? *own : sent;
}

void ServerCopySink::Close() noexcept {
  if (!open_) return;
  open_ = false;
  PQsetnonblocking(connection_.handle(), 0);
}

Result ExecDroppingCopyData(Connection& connection, const std::string& sql,
                            const char* copy_in_refusal, std::stop_token stop) {
  StopWaker waker(std::move(stop));
  PGconn* handle = connection.handle();
  if (!PQsendQuery(handle, sql.c_str())) return Result();
  Result kept;
  bool failed = false;
  bool cancelled = false;
  for (;;) {
    copy_internal::WaitForResult(connection, &waker, &cancelled);
    Result result(PQgetResult(handle));
    ExecStatusType status = result.Status();
    if (!result.get()) break;
    if (status == PGRES_COPY_IN) {
      PQputCopyEnd(handle, copy_in_refusal);
    } else if (status == PGRES_COPY_OUT) {
      copy_internal::DropCopyOut(connection, &waker, &cancelled);
    } else if (!failed) {
      failed =
          status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY;
      kept = std::move(result);
    }
  }
  return kept;
}

}  // namespace freshet
