#include "copy/copy_relay.h"

#include <fmt/format.h>

#include <optional>

#include "copy/copy_protocol.h"

namespace freshet {

using copy_internal::DrainResults;
using copy_internal::PutCopyData;
using copy_internal::StartCopy;

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
      int put = target_failure ? 1
                               : PutCopyData(target.handle(),
                                             std::string_view(buffer, static_cast<size_t>(n)));
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
