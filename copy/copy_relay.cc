#include "copy/copy_relay.h"

#include <fmt/format.h>

#include <optional>

namespace freshet {
namespace {

// Reads results until libpq has none left; returns the first failure, if any.
std::optional<Error> DrainResults(Connection& connection, std::string_view context,
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
      int n;
      while ((n = PQgetCopyData(connection.handle(), &buffer, 0)) > 0) PQfreemem(buffer);
    } else if (status == PGRES_COPY_IN) {
      PQputCopyEnd(connection.handle(), "aborted by freshet");
    } else if (!failure) {
      failure = connection.MakeError(raw, context);
    }
  }
  return failure;
}

void StartCopy(Connection& connection, const std::string& sql, ExecStatusType expected) {
  Result result(PQexec(connection.handle(), sql.c_str()));
  if (result.Status() != expected) {
    Error error = connection.MakeError(result.get(), sql);
    DrainResults(connection, sql, nullptr);
    throw error;
  }
}

}  // namespace

RelayResult RelayCopy(Connection& source, const std::string& copy_out_sql, Connection& target,
                      const std::string& copy_in_sql, const std::string& what,
                      StreamCounters* counters, std::stop_token stop) {
  auto fail = [&](std::string_view side, const Error& error) -> Error {
    return Error(fmt::format("copying {} ({}): {}", what, side, error.what()), error.sqlstate());
  };
  try {
    StartCopy(target, copy_in_sql, PGRES_COPY_IN);
  } catch (const Error& error) {
    throw fail("target", error);
  }
  try {
    StartCopy(source, copy_out_sql, PGRES_COPY_OUT);
  } catch (const Error& error) {
    PQputCopyEnd(target.handle(), "source failed");
    DrainResults(target, copy_in_sql, nullptr);
    throw fail("source", error);
  }

  // While a stop is requested, ask the source to cancel so a blocked read
  // returns; the loop then aborts the target side.
  std::stop_callback on_stop(stop, [&source] { source.Cancel(); });

  RelayResult relayed;
  std::optional<Error> target_failure;
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(source.handle(), &buffer, /*async=*/0);
    if (n > 0) {
      int put = target_failure ? 1 : PQputCopyData(target.handle(), buffer, n);
      PQfreemem(buffer);
      if (put != 1 && !target_failure) {
        // The target rejected the stream (its error arrives with the result):
        // stop reading the source too.
        target_failure = target.MakeError(nullptr, copy_in_sql);
        source.Cancel();
      }
      relayed.bytes += static_cast<uint64_t>(n);
      if (counters) {
        counters->messages.fetch_add(1, std::memory_order_relaxed);
        counters->bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      }
      continue;
    }
    break;  // -1: stream done (result follows); -2: error (result follows)
  }

  std::optional<Error> source_failure = DrainResults(source, copy_out_sql, nullptr);
  if (source_failure || target_failure || stop.stop_requested()) {
    std::string reason = stop.stop_requested() ? "freshet run cancelled" : "source failed";
    if (!target_failure) PQputCopyEnd(target.handle(), reason.c_str());
    std::optional<Error> target_result = DrainResults(target, copy_in_sql, nullptr);
    if (stop.stop_requested()) throw Error(fmt::format("copying {}: cancelled", what));
    if (target_failure) throw fail("target", target_result ? *target_result : *target_failure);
    throw fail("source", *source_failure);
  }
  if (PQputCopyEnd(target.handle(), nullptr) != 1) {
    Error error = target.MakeError(nullptr, copy_in_sql);
    DrainResults(target, copy_in_sql, nullptr);
    throw fail("target", error);
  }
  if (auto error = DrainResults(target, copy_in_sql, &relayed.rows)) throw fail("target", *error);
  return relayed;
}

}  // namespace freshet
