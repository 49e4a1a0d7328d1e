#include "copy/copy_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "copy/copy_protocol.h"

namespace freshet {
namespace {

using copy_internal::CopyBufferDeleter;
using copy_internal::DrainResults;
using copy_internal::PutCopyData;
using copy_internal::StartCopy;

// Digests a COPY OUT stream message by message. PostgreSQL sends one row per
// CopyData message, the binary header in front of the first row and the
// binary trailer alone in the last message, so rows need no parsing; the
// shape of each message is still checked, and the caller compares the count
// with the command tag.
class MessageDigester {
 public:
  explicit MessageDigester(StreamFormat format) : format_(format) {}

  // Throws Error (without context) if `message` is not shaped as expected.
  void Add(std::string_view message) {
    if (format_ == StreamFormat::kText) {
      if (message.empty() || message.back() != '\n')
        throw Error(fmt::format("COPY message {} is not one whole text row", messages_ + 1));
    } else {
      if (messages_ == 0) {
        if (!message.starts_with(BinaryCopyHeader()))
          throw Error("the stream does not start with the binary COPY header");
        message.remove_prefix(BinaryCopyHeader().size());
      }
      if (trailer_seen_) throw Error("the stream continues after the binary COPY trailer");
      if (message == BinaryCopyTrailer()) {
        trailer_seen_ = true;
        ++messages_;
        return;
      }
    }
    ++messages_;
    digest_.Add(message);
  }

  void Finish() const {
    if (format_ == StreamFormat::kBinary && !trailer_seen_)
      throw Error("the stream ends without the binary COPY trailer");
  }

  const RowDigest& digest() const { return digest_; }

 private:
  StreamFormat format_;
  uint64_t messages_ = 0;
  bool trailer_seen_ = false;
  RowDigest digest_;
};

// "<context> (<connection label>): <error>", keeping the SQLSTATE.
Error WithContext(std::string_view context, const Connection& connection, const Error& error) {
  return Error(fmt::format("{} ({}): {}", context, connection.label(), error.what()),
               error.sqlstate(), error.kind());
}

// Runs `sql` (a COPY ... TO STDOUT) on `source`, digests every message and
// hands it to `on_message`. A stop request cancels the source. On any failure,
// including an Error thrown by `on_message`, the source is left idle and Error
// is thrown starting with `context`. Returns the source's row count.
template <typename OnMessage>
uint64_t ReadCopyOut(Connection& source, const std::string& sql, std::string_view context,
                     StreamCounters* counters, std::stop_token stop, MessageDigester& digester,
                     OnMessage&& on_message) {
  try {
    StartCopy(source, sql, PGRES_COPY_OUT);
  } catch (const Error& error) {
    throw WithContext(context, source, error);
  }
  // A stop request cancels the source, so a blocked read returns.
  std::stop_callback on_stop(stop, [&source] { source.Cancel(); });

  std::optional<Error> local_failure;  // digesting or `on_message` failed
  for (;;) {
    char* raw = nullptr;
    int n = PQgetCopyData(source.handle(), &raw, /*async=*/0);
    if (n <= 0) break;  // -1: done, -2: failed; the result follows either way
    std::unique_ptr<char, CopyBufferDeleter> buffer(raw);
    if (local_failure) continue;  // discard what the cancelled source still sends
    std::string_view message(raw, static_cast<size_t>(n));
    try {
      digester.Add(message);
      on_message(message);
    } catch (const Error& error) {
      local_failure = error;
      source.Cancel();
    }
    if (counters) {
      counters->messages.fetch_add(1, std::memory_order_relaxed);
      counters->bytes.fetch_add(message.size(), std::memory_order_relaxed);
    }
  }

  uint64_t rows = 0;
  std::optional<Error> source_failure = DrainResults(source, sql, &rows);
  if (stop.stop_requested()) throw Error(fmt::format("{}: cancelled", context));
  if (local_failure)
    throw Error(fmt::format("{}: {}", context, local_failure->what()), local_failure->sqlstate(),
                local_failure->kind());
  if (source_failure) throw WithContext(context, source, *source_failure);
  try {
    digester.Finish();
  } catch (const Error& error) {
    throw WithContext(context, source, error);
  }
  if (digester.digest().rows() != rows)
    throw Error(fmt::format("{} ({}): the server reported {} rows but sent {} COPY messages",
                            context, source.label(), rows, digester.digest().rows()));
  return rows;
}

// The server's message without the "<Describe()>: " that MakeError puts in
// front, for errors that name the connection themselves.
std::string_view WithoutDescription(std::string_view message, const Connection& connection) {
  std::string_view description = connection.Describe();
  if (message.starts_with(description) && message.substr(description.size()).starts_with(": "))
    message.remove_prefix(description.size() + 2);
  return message;
}

}  // namespace

CaptureResult CaptureCopy(Connection& source, const std::string& copy_out_sql, StreamFormat format,
                          SnapshotFileWriter& writer, const std::string& what,
                          StreamCounters* counters, std::stop_token stop) {
  const std::string context = "capturing " + what;
  MessageDigester digester(format);
  CaptureResult result;
  result.rows = ReadCopyOut(source, copy_out_sql, context, counters, stop, digester,
                            [&writer](std::string_view message) { writer.Write(message); });
  result.digest = digester.digest();
  try {
    result.file = writer.Finish();
  } catch (const Error& error) {
    throw Error(fmt::format("{}: {}", context, error.what()), error.sqlstate(), error.kind());
  }
  return result;
}

RowDigest DigestCopy(Connection& connection, const std::string& copy_out_sql, StreamFormat format,
                     const std::string& what, std::stop_token stop) {
  MessageDigester digester(format);
  ReadCopyOut(connection, copy_out_sql, "digesting " + what, nullptr, stop, digester,
              [](std::string_view) {});
  return digester.digest();
}

void RestoreCopy(SnapshotFileReader& reader, StreamFormat format,
                 const std::optional<std::vector<bool>>& keep, std::vector<RestoreTarget>& targets,
                 const std::string& what, StreamCounters* counters, std::stop_token stop,
                 RowDigest* projected, OnTargetFailure on_failure) {
  const bool drop = on_failure == OnTargetFailure::kDropTarget;
  auto target_error = [&what](const RestoreTarget& target, const Error& error) {
    return Error(fmt::format("restoring {} into {}: {}", what, target.connection->Describe(),
                             WithoutDescription(error.what(), *target.connection)),
                 error.sqlstate(), error.kind());
  };
  // Targets still in the COPY; a failed one records why and leaves.
  std::vector<bool> active(targets.size(), false);
  std::optional<size_t> first_failed;
  auto fail = [&](size_t i, const Error& error) {
    targets[i].failure = target_error(targets[i], error);
    active[i] = false;
    if (!first_failed) first_failed = i;
  };
  // Ends the COPY of every active target with an error and leaves it idle.
  auto abort_active = [&](const char* reason) {
    for (size_t i = 0; i < targets.size(); ++i)
      if (active[i]) PQputCopyEnd(targets[i].connection->handle(), reason);
    for (size_t i = 0; i < targets.size(); ++i)
      if (active[i]) {
        DrainResults(*targets[i].connection, targets[i].copy_in_sql, nullptr);
        active[i] = false;
      }
  };
  auto any_active = [&] { return std::find(active.begin(), active.end(), true) != active.end(); };
  auto throw_first_failure = [&] { throw *targets[*first_failed].failure; };

  for (size_t i = 0; i < targets.size(); ++i) {
    targets[i].failure.reset();
    try {
      StartCopy(*targets[i].connection, targets[i].copy_in_sql, PGRES_COPY_IN);
      active[i] = true;
    } catch (const Error& error) {
      fail(i, error);
      if (!drop) {
        abort_active("another target failed");
        throw_first_failure();
      }
    }
  }
  // A stop request cancels the targets, so a blocked send returns.
  std::stop_callback on_stop(stop, [&targets] {
    for (RestoreTarget& target : targets) target.connection->Cancel();
  });

  std::optional<RowProjector> projector;
  if (keep) {
    projector.emplace(format, *keep);
    if (projector->keeps_all()) projector.reset();
  }
  // Rows are parsed only to project them or when their digest is wanted.
  std::optional<CopyRowReader> rows;
  if (projector || projected) rows.emplace(format, "the snapshot file");

  // Sends `data` to every active target; false when the restore cannot go on
  // (a target failed and failures abort all, or none is left).
  auto send = [&](std::string_view data) {
    if (data.empty()) return true;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (!active[i] || PutCopyData(targets[i].connection->handle(), data) == 1) continue;
      // The server's own reason, when it sent one, says more than libpq's.
      Connection& connection = *targets[i].connection;
      Error sent = connection.MakeError(nullptr, targets[i].copy_in_sql);
      std::optional<Error> own = DrainResults(connection, targets[i].copy_in_sql, nullptr);
      fail(i, own ? *own : sent);
      if (!drop) return false;
    }
    if (counters) {
      counters->messages.fetch_add(1, std::memory_order_relaxed);
      counters->bytes.fetch_add(data.size(), std::memory_order_relaxed);
    }
    return any_active();
  };

  std::optional<Error> file_failure;  // the file or the rows in it
  RowDigest digest;
  bool sent_all = false;
  try {
    std::string piece;
    std::string batch;
    bool going = any_active();
    if (projector && format == StreamFormat::kBinary) batch.append(BinaryCopyHeader());
    while (going && !stop.stop_requested() && reader.Read(piece)) {
      if (!projector) {
        if (rows) rows->Feed(piece, [&digest](std::string_view row) { digest.Add(row); });
        going = send(piece);
        continue;
      }
      rows->Feed(piece, [&](std::string_view row) {
        size_t start = batch.size();
        try {
          projector->Project(row, batch);
        } catch (const Error& error) {
          throw Error(fmt::format("row {} of the snapshot file: {}", rows->rows(), error.what()));
        }
        digest.Add(std::string_view(batch).substr(start));
      });
      going = send(batch);
      batch.clear();
    }
    if (going && !stop.stop_requested()) {
      if (rows) rows->Finish();
      if (projector) {
        if (format == StreamFormat::kBinary) batch.append(BinaryCopyTrailer());
        going = send(batch);
      }
      sent_all = going;
    }
  } catch (const Error& error) {
    file_failure =
        Error(fmt::format("restoring {}: {}", what, error.what()), error.sqlstate(), error.kind());
  }

  if (stop.stop_requested() || file_failure || !sent_all) {
    abort_active(stop.stop_requested() ? "freshet run cancelled"
                 : file_failure        ? "the snapshot file cannot be read"
                                       : "another target failed");
    if (stop.stop_requested()) throw Error(fmt::format("restoring {}: cancelled", what));
    if (file_failure) throw *file_failure;
    if (!drop && first_failed) throw_first_failure();
    return;  // every target failed (or there was none), each one's reason recorded
  }

  // Every byte went to every active target: end their COPYs, then collect
  // results. (Ending them all first lets them finish in parallel. A target
  // that fails only now cannot undo another's completed COPY; see
  // copy_file.h.)
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!active[i] || PQputCopyEnd(targets[i].connection->handle(), nullptr) == 1) continue;
    Error ended = targets[i].connection->MakeError(nullptr, "");
    DrainResults(*targets[i].connection, targets[i].copy_in_sql, nullptr);
    fail(i, ended);
    if (!drop) {
      abort_active("another target failed");
      throw_first_failure();
    }
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!active[i]) continue;
    std::optional<Error> result =
        DrainResults(*targets[i].connection, targets[i].copy_in_sql, &targets[i].rows);
    if (result) fail(i, *result);
  }
  if (first_failed && !drop) throw_first_failure();
  if (projected) *projected = digest;
}

}  // namespace freshet
