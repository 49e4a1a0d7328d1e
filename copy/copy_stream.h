// The parts a COPY stream is built from (see copy_pipeline.h): a source that
// yields the bytes of a COPY stream, pure row transforms, and sinks that take
// them. Implementations: server_copy.h (libpq COPY OUT / COPY IN),
// file_copy.h (snapshot data files), row_transforms.h. Each source and sink
// owns or borrows exactly one handle; none is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "copy/socket_wait.h"

namespace freshet {

// Live counters a stream advances as data moves; read by progress reporting
// from other threads.
struct StreamCounters {
  std::atomic<uint64_t> messages{0};  // pieces read from the source (a server's: one per row)
  std::atomic<uint64_t> bytes{0};     // stream bytes read from the source
};

class CopySource {
 public:
  enum class ReadStatus {
    kData,  // *piece holds the next bytes of the stream
    kWait,  // nothing yet: wait until socket() is readable, then Read again
    kEnd,   // the stream is over; End() says how it ended
  };
  virtual ~CopySource() = default;

  // Starts the stream; a stop wakes a wait for it. Throws Error.
  virtual void Begin(const StopWaker& waker) = 0;
  // The view stays valid until the next call. Throws Error when reading fails
  // (a corrupt file); a server's failure shows as kEnd, then End() throws.
  virtual ReadStatus Read(std::string_view* piece) = 0;
  // The socket to wait on after kWait; -1 for sources that never wait.
  virtual int socket() const { return -1; }
  // True when each piece is one whole COPY message as a server sends it:
  // one row, the binary header in front of the first and the trailer alone
  // in the last. Rows are then framed without parsing them.
  virtual bool message_framed() const = 0;
  // After kEnd: completes the stream and returns the rows its producer
  // reports (a server's COPY command tag), or nullopt when it reports none.
  // Throws Error when the stream failed.
  virtual std::optional<uint64_t> End(const StopWaker& waker) = 0;
  // Ends the stream early (cancelling a server's query) and leaves the handle
  // idle. Never throws.
  virtual void Abort() noexcept = 0;
};

// A pure function of one row: reads `row` (one tuple as CopyRowReader yields
// it, without the binary header or trailer) and appends its replacement to
// `out`. Depends on nothing but the row and its own configuration. Throws
// Error (without row context; the pipeline adds it) on a row it cannot take.
class RowTransform {
 public:
  virtual ~RowTransform() = default;
  virtual void Apply(std::string_view row, std::string& out) = 0;
};

class CopySink {
 public:
  virtual ~CopySink() = default;

  // Starts taking a stream; a stop wakes a wait for it. Throws Error.
  virtual void Begin(const StopWaker& waker) = 0;
  // Takes (or queues) `data`. Throws Error when the sink failed.
  virtual void Write(std::string_view data) = 0;
  // Tries to send what is queued. Returns true while more is queued than the
  // sink keeps (after EndStream: anything at all); the pipeline then waits
  // for socket() to be writable and asks again. Throws Error.
  virtual bool Backlogged() { return false; }
  virtual int socket() const { return -1; }
  // The stream is complete: queue its end (then Backlogged() until sent).
  virtual void EndStream() = 0;
  // After EndStream and the backlog: waits for the sink's verdict and returns
  // the rows it reports taking. Throws Error.
  virtual uint64_t Finish(const StopWaker& waker) = 0;
  // Ends the stream with an error so nothing of it is kept (`cancel`: also
  // interrupt the server at once), leaving the handle idle. Never throws.
  virtual void Abort(const char* reason, bool cancel) noexcept = 0;
};

}  // namespace freshet
