#include "copy/copy_file.h"

#include <fmt/format.h>

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
                 RowDigest* projected) {
  auto target_error = [&what](const RestoreTarget& target, const Error& error) {
    return Error(fmt::format("restoring {} into {}: {}", what, target.connection->Describe(),
                             WithoutDescription(error.what(), *target.connection)),
                 error.sqlstate(), error.kind());
  };
  // Ends the COPY of every target but `except` with an error and leaves them
  // idle; returns `except`'s own failure, if any.
  auto abort_all = [&targets](const char* reason, const RestoreTarget* except) {
    for (RestoreTarget& target : targets) {
      if (&target != except) PQputCopyEnd(target.connection->handle(), reason);
    }
    std::optional<Error> own_failure;
    for (RestoreTarget& target : targets) {
      std::optional<Error> failure = DrainResults(*target.connection, target.copy_in_sql, nullptr);
      if (&target == except) own_failure = std::move(failure);
    }
    return own_failure;
  };

  for (size_t i = 0; i < targets.size(); ++i) {
    try {
      StartCopy(*targets[i].connection, targets[i].copy_in_sql, PGRES_COPY_IN);
    } catch (const Error& error) {
      for (size_t j = 0; j < i; ++j) {
        PQputCopyEnd(targets[j].connection->handle(), "another target failed");
        DrainResults(*targets[j].connection, targets[j].copy_in_sql, nullptr);
      }
      throw target_error(targets[i], error);
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

  const RestoreTarget* failed_target = nullptr;  // whose send failed
  std::optional<Error> failure;
  // Sends `data` to every target; false (with `failure` set) if one fails.
  auto send = [&](std::string_view data) {
    if (data.empty()) return true;
    for (RestoreTarget& target : targets) {
      if (PutCopyData(target.connection->handle(), data) != 1) {
        failed_target = &target;
        failure = target_error(target, target.connection->MakeError(nullptr, target.copy_in_sql));
        return false;
      }
    }
    if (counters) {
      counters->messages.fetch_add(1, std::memory_order_relaxed);
      counters->bytes.fetch_add(data.size(), std::memory_order_relaxed);
    }
    return true;
  };

  std::optional<Error> file_failure;  // the file or the rows in it
  RowDigest digest;
  try {
    std::string piece;
    std::string batch;
    if (projector && format == StreamFormat::kBinary) batch.append(BinaryCopyHeader());
    while (!stop.stop_requested() && reader.Read(piece)) {
      if (!projector) {
        if (rows) rows->Feed(piece, [&digest](std::string_view row) { digest.Add(row); });
        if (!send(piece)) break;
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
      if (!send(batch)) break;
      batch.clear();
    }
    if (rows && !failure && !stop.stop_requested()) rows->Finish();
    if (projector && !failure && !stop.stop_requested()) {
      if (format == StreamFormat::kBinary) batch.append(BinaryCopyTrailer());
      send(batch);
    }
  } catch (const Error& error) {
    file_failure =
        Error(fmt::format("restoring {}: {}", what, error.what()), error.sqlstate(), error.kind());
  }

  if (stop.stop_requested() || failure || file_failure) {
    const char* reason = stop.stop_requested() ? "freshet run cancelled"
                         : file_failure        ? "the snapshot file cannot be read"
                                               : "another target failed";
    std::optional<Error> own_failure = abort_all(reason, failed_target);
    if (stop.stop_requested()) throw Error(fmt::format("restoring {}: cancelled", what));
    if (file_failure) throw *file_failure;
    throw own_failure ? target_error(*failed_target, *own_failure) : *failure;
  }

  // Every byte went to every target: end their COPYs, then collect results.
  // (Ending them all first lets them finish in parallel. A target that fails
  // only now cannot undo another's completed COPY; see copy_file.h.)
  for (size_t i = 0; i < targets.size(); ++i) {
    if (PQputCopyEnd(targets[i].connection->handle(), nullptr) != 1) {
      failure = target_error(targets[i], targets[i].connection->MakeError(nullptr, ""));
      for (size_t j = i + 1; j < targets.size(); ++j)
        PQputCopyEnd(targets[j].connection->handle(), "another target failed");
      break;
    }
  }
  for (RestoreTarget& target : targets) {
    std::optional<Error> result =
        DrainResults(*target.connection, target.copy_in_sql, &target.rows);
    if (result && !failure) failure = target_error(target, *result);
  }
  if (failure) throw *failure;
  if (projected) *projected = digest;
}

}  // namespace freshet
