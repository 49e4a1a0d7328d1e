// Cron schedules for `freshet serve`: parses a five-field cron expression with
// a time zone and answers "when does it fire next?". Pure: no clock, no I/O
// except the OS time zone database (/usr/share/zoneinfo) read by date-tz.
//
// Syntax, Vixie cron / cronie compatible:
//   "minute hour day-of-month month day-of-week", fields separated by blanks.
//   Ranges: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or jan-dec,
//   day-of-week 0-7 or sun-sat (0 and 7 are Sunday). Names are
//   case-insensitive. Each field is a comma-separated list of items; an item is
//   `*`, `N`, `N-M` (N <= M), each optionally followed by `/STEP` (STEP >= 1);
//   `N/STEP` means `N-max/STEP`.
//   Macros: @hourly, @daily = @midnight, @weekly (Sunday 00:00), @monthly,
//   @yearly = @annually. @reboot is not a schedule and is rejected.
//   Day rule (Vixie): if day-of-month and day-of-week both are restricted, a
//   day matches when EITHER matches; otherwise both must match. As in Vixie
//   cron and cronie, a field counts as unrestricted when its text starts with
//   `*` (so "*/2" in day-of-month with "1" in day-of-week means odd-numbered
//   days that are Mondays).
//
// Time zones and DST: the fields are read as wall-clock times in the
// schedule's zone, and every scheduled wall-clock minute fires exactly once:
//   - a scheduled time that does not exist (skipped by a spring-forward gap,
//     e.g. 02:30 when clocks go 02:00 -> 03:00) fires at the instant the gap
//     ends (03:00 local); several such times, and a scheduled 03:00, collapse
//     into that one firing;
//   - a scheduled time that happens twice (fall-back overlap) fires only at
//     its first occurrence. So "*/15 * * * *" fires 01:00, 01:15, 01:30, 01:45
//     of the repeated hour once each, on the first pass, and nothing on the
//     second pass: after 01:45 (first pass) the next firing is 02:00 (after
//     the overlap), 75 minutes later.
//
// CronSchedule is a copyable value; const methods are thread-safe. The zone it
// refers to lives in date-tz's process-wide database.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace freshet {

class CronSchedule {
 public:
  // Parses `expression` (fields or a macro) in IANA zone `time_zone`. Throws
  // freshet::Error (ErrorKind::kUsage) naming the expression, the field and
  // the bad part, e.g. `cron schedule "0 25 * * *": hour 25 is out of range
  // 0-23`, or the unknown time zone.
  static CronSchedule Parse(std::string_view expression, std::string_view time_zone = "UTC");

  // The first firing strictly after `after`, as a UTC instant; it is second 0
  // of a local minute (DST rules above). std::nullopt when the schedule can never fire
  // (e.g. "0 0 31 2 *"), or its next firing is beyond the search horizon
  // (100 years) or beyond what system_clock can represent.
  std::optional<std::chrono::system_clock::time_point> NextAfter(
      std::chrono::system_clock::time_point after) const;

  // The expression as given (surrounding blanks removed) and the zone name.
  const std::string& expression() const { return expression_; }
  const std::string& time_zone() const { return time_zone_; }

 private:
  CronSchedule() = default;

  bool DayMatches(int day_of_month, int month, int day_of_week) const;
  // The first local minute >= `from` whose fields all match, if any before
  // the horizon.
  std::optional<std::chrono::minutes> NextMatchingLocalMinute(std::chrono::minutes from) const;

  std::string expression_;
  std::string time_zone_;
  const date::time_zone* zone_ = nullptr;
  // Bit i set = value i allowed. Day-of-week bits 0-6, Sunday = 0.
  std::uint64_t minutes_ = 0;
  std::uint64_t hours_ = 0;
  std::uint64_t days_of_month_ = 0;
  std::uint64_t months_ = 0;
  std::uint64_t days_of_week_ = 0;
  bool day_of_month_unrestricted_ = false;
  bool day_of_week_unrestricted_ = false;
  bool can_fire_ = false;  // some valid date matches the day and month fields
};

}  // namespace freshet
