// The libpq ends of a COPY pipeline: a server's `COPY ... TO STDOUT` as a
// source and `COPY ... FROM STDIN` as a sink. Both wait on the connection's
// socket (never inside libpq) so a stop interrupts any wait; the sink runs
// libpq in non-blocking mode while it streams and keeps at most about
// kSinkBacklog bytes queued before the pipeline waits for the server
// (backpressure). Each borrows a Connection, which must outlive it and is
// idle (and blocking again) when the stream ends, however it ends.
#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "copy/connection.h"
#include "copy/copy_stream.h"

namespace freshet {

class ServerCopySource final : public CopySource {
 public:
  ServerCopySource(Connection& connection, std::string copy_out_sql)
      : connection_(connection), sql_(std::move(copy_out_sql)) {}
  ~ServerCopySource() override;

  void Begin(const StopWaker& waker) override;
  ReadStatus Read(std::string_view* piece) override;
  int socket() const override;
  bool message_framed() const override { return true; }
  std::optional<uint64_t> End(const StopWaker& waker) override;
  void Abort() noexcept override;

  Connection& connection() { return connection_; }

 private:
  struct BufferDeleter {
    void operator()(char* buffer) const;
  };
  Connection& connection_;
  std::string sql_;
  std::unique_ptr<char, BufferDeleter> buffer_;  // the piece last returned
  bool started_ = false;
};

class ServerCopySink final : public CopySink {
 public:
  // Bytes a sink lets libpq hold unsent before the pipeline waits.
  static constexpr size_t kSinkBacklog = size_t{512} << 10;

  ServerCopySink(Connection& connection, std::string copy_in_sql)
      : connection_(connection), sql_(std::move(copy_in_sql)) {}
  ~ServerCopySink() override;

  void Begin(const StopWaker& waker) override;
  void Write(std::string_view data) override;
  bool Backlogged() override;
  int socket() const override;
  void EndStream() override;
  uint64_t Finish(const StopWaker& waker) override;
  void Abort(const char* reason, bool cancel) noexcept override;

  Connection& connection() { return connection_; }

 private:
  // The server's own reason for a failure, when it sent one, else libpq's.
  [[noreturn]] void ThrowFailure();
  void Close() noexcept;  // back to blocking mode
  // Waits until the socket takes more; throws Error "cancelled" on a stop.
  void WaitWritable();

  Connection& connection_;
  std::string sql_;
  const StopWaker* waker_ = nullptr;  // Begin's: the run's stop
  size_t queued_ = 0;                 // bytes handed to libpq since it last had nothing queued
  bool open_ = false;                 // in COPY IN, owned by this sink
  bool ending_ = false;
};

// Runs one statement that may start a COPY with no stream to feed or keep (a
// migration's): a COPY FROM STDIN is ended with `copy_in_refusal` as its
// error, a COPY TO STDOUT's rows are read and dropped. Waits on the socket; a
// stop cancels the statement. Returns the first failed result, else the last
// (a null Result when the statement could not be sent: MakeError says why).
Result ExecDroppingCopyData(Connection& connection, const std::string& sql,
                            const char* copy_in_refusal, std::stop_token stop);

}  // namespace freshet
