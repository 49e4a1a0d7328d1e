#include "sync/service/job.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace freshet {

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kQueued:
      return "queued";
    case RunState::kRunning:
      return "running";
    case RunState::kSucceeded:
      return "succeeded";
    case RunState::kFailed:
      return "failed";
    case RunState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

RunState ParseRunState(std::string_view name) {
  for (RunState state : {RunState::kQueued, RunState::kRunning, RunState::kSucceeded,
                         RunState::kFailed, RunState::kCancelled})
    if (RunStateName(state) == name) return state;
  throw std::invalid_argument(fmt::format("unknown run state '{}'", name));
}

std::string IsoTime(std::chrono::system_clock::time_point time) {
  auto milliseconds = std::chrono::time_point_cast<std::chrono::milliseconds>(time);
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  int64_t millis = milliseconds.time_since_epoch().count() % 1000;
  if (millis < 0) millis += 1000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

std::optional<std::chrono::system_clock::time_point> ParseIsoTime(std::string_view text) {
  std::tm utc{};
  int millis = 0;
  std::string copy(text);
  int consumed = 0;
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &consumed) != 6)
    return std::nullopt;
  std::string_view rest = text.substr(static_cast<size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    size_t digits = 1;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) {
      if (digits <= 3) millis = millis * 10 + (rest[digits] - '0');
      ++digits;
    }
    for (size_t i = digits; i <= 3; ++i) millis *= 10;
    rest = rest.substr(digits);
  }
  if (rest != "Z") return std::nullopt;
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  std::time_t seconds = timegm(&utc);
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

double RunRecord::Seconds() const {
  auto start = ParseIsoTime(started_at);
  if (!start) return 0;
  auto end = ParseIsoTime(finished_at);
  auto stop = end ? *end : std::chrono::system_clock::now();
  return std::chrono::duration<double>(stop - *start).count();
}

}  // namespace freshet
