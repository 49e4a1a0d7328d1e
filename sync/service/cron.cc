#include "sync/service/cron.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <exception>
#include <span>
#include <vector>

#include "copy/error.h"

namespace freshet {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// How far ahead NextAfter looks. Any schedule that can fire at all fires
// within ~40 years (a date that must also fall on a given weekday, e.g.
// February 29th on a Monday); this only bounds the loop.
constexpr date::years kSearchYears{100};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};
// The longest each month can be (February in a leap year), index 1-12.
constexpr std::array<int, 13> kLongestMonth = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

struct Field {
  std::string_view name;
  int min;
  int max;
  std::span<const std::string_view> names;  // names[i] spells value first_named + i
  int first_named;
  std::string_view names_hint;  // for "is not a number or ..." messages
};

constexpr Field kMinute{"minute", 0, 59, {}, 0, {}};
constexpr Field kHour{"hour", 0, 23, {}, 0, {}};
constexpr Field kDayOfMonth{"day-of-month", 1, 31, {}, 0, {}};
constexpr Field kMonth{"month", 1, 12, kMonthNames, 1, "a month name (jan-dec)"};
constexpr Field kDayOfWeek{"day-of-week", 0, 7, kWeekdayNames, 0, "a weekday name (sun-sat)"};

struct Macro {
  std::string_view name;
  std::string_view fields;
};
constexpr std::array<Macro, 7> kMacros = {{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

// Throws the parse error for `expression`; every message names it first.
[[noreturn]] void Fail(std::string_view expression, const std::string& what) {
  throw Error(ErrorKind::kUsage, "cron schedule \"" + std::string(expression) + "\": " + what);
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string Lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::vector<std::string_view> Split(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find_first_of(separators, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// Returns the value of `text` (digits, or a name where the field has names).
int ParseValue(std::string_view expression, const Field& field, std::string_view text,
               std::string_view item) {
  if (text.empty()) {
    Fail(expression, std::string(field.name) + " item " + Quoted(item) + " is missing a number");
  }
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int value = 0;
    const std::errc error = std::from_chars(text.data(), text.data() + text.size(), value).ec;
    if (error != std::errc() || value < field.min || value > field.max) {
      Fail(expression, std::string(field.name) + " " + std::string(text) + " is out of range " +
                           std::to_string(field.min) + "-" + std::to_string(field.max));
    }
    return value;
  }
  const std::string lower = Lowercase(text);
  for (size_t i = 0; i < field.names.size(); ++i) {
    if (field.names[i] == lower) return field.first_named + static_cast<int>(i);
  }
  std::string what = std::string(field.name) + " " + Quoted(text) + " is not a number";
  if (!field.names_hint.empty()) what += " or " + std::string(field.names_hint);
  Fail(expression, what);
}

// One list item: `*`, `N` or `N-M`, optionally with `/STEP`. Returns its bits.
std::uint64_t ParseItem(std::string_view expression, const Field& field, std::string_view item) {
  const size_t slash = item.find('/');
  const std::string_view range = item.substr(0, slash);
  int step = 1;
  if (slash != std::string_view::npos) {
    const std::string_view step_text = item.substr(slash + 1);
    const auto [end, error] =
        std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
    if (step_text.empty() || error != std::errc() || end != step_text.data() + step_text.size() ||
        step < 1) {
      Fail(expression, std::string(field.name) + " step " + Quoted(step_text) + " in " +
                           Quoted(item) + " is not a whole number of at least 1");
    }
  }
  int low = field.min;
  int high = field.max;
  const size_t dash = range.find('-');
  if (range == "*") {
    // The whole range.
  } else if (dash != std::string_view::npos) {
    low = ParseValue(expression, field, range.substr(0, dash), item);
    high = ParseValue(expression, field, range.substr(dash + 1), item);
    // "fri-sun" reads as a range ending on Sunday, which is 7 as well as 0.
    if (&field == &kDayOfWeek && high == 0 && low > 0) high = 7;
    if (low > high) {
      Fail(expression, std::string(field.name) + " range " + Quoted(range) +
                           " runs backwards (write the smaller value first)");
    }
  } else {
    low = ParseValue(expression, field, range, item);
    if (slash == std::string_view::npos) high = low;  // "N/STEP" runs to the maximum
  }
  std::uint64_t bits = 0;
  // 64-bit so that a huge step cannot overflow.
  for (std::int64_t value = low; value <= high; value += step) bits |= std::uint64_t{1} << value;
  return bits;
}

std::uint64_t ParseField(std::string_view expression, const Field& field, std::string_view text) {
  std::uint64_t bits = 0;
  for (std::string_view item : Split(text, ",")) {
    if (item.empty()) {
      Fail(expression, std::string(field.name) + " list " + Quoted(text) + " has an empty item");
    }
    bits |= ParseItem(expression, field, item);
  }
  if (&field == &kDayOfWeek && (bits & (std::uint64_t{1} << 7))) bits = (bits | 1) & 0x7f;
  return bits;
}

bool Has(std::uint64_t bits, int value) { return (bits >> value) & 1; }

// The smallest value >= `from` whose bit is set, or -1.
int NextSetBit(std::uint64_t bits, int from) {
  if (from >= 64) return -1;
  const std::uint64_t rest = bits >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

// The UTC instant at which scheduled wall-clock minute `local` fires: itself
// when it exists once, its first occurrence when it exists twice, and the
// end of the gap when a spring-forward skips it.
date::sys_seconds FiringInstant(const date::time_zone& zone, date::local_time<minutes> local) {
  const date::local_info info = zone.get_info(local);
  const date::sys_seconds first{local.time_since_epoch() - info.first.offset};
  switch (info.result) {
    case date::local_info::unique:
      return first;
    case date::local_info::nonexistent:
      return info.second.begin;
    case date::local_info::ambiguous:
      return std::min(first, date::sys_seconds{local.time_since_epoch() - info.second.offset});
  }
  return first;
}

}  // namespace

CronSchedule CronSchedule::Parse(std::string_view expression, std::string_view time_zone) {
  CronSchedule schedule;
  schedule.expression_ = std::string(Trim(expression));
  schedule.time_zone_ = std::string(time_zone);
  const std::string_view text = schedule.expression_;

  std::string_view fields_text = text;
  if (text.starts_with('@')) {
    const std::string lower = Lowercase(text);
    const auto macro = std::find_if(kMacros.begin(), kMacros.end(),
                                    [&](const Macro& m) { return m.name == lower; });
    if (macro == kMacros.end()) {
      Fail(text, "unknown macro " + std::string(text) +
                     " (expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or "
                     "@annually)");
    }
    fields_text = macro->fields;
  }
  std::vector<std::string_view> fields = Split(fields_text, " \t");
  std::erase_if(fields, [](std::string_view field) { return field.empty(); });
  if (fields.size() != 5) {
    Fail(text, "expected 5 fields (minute hour day-of-month month day-of-week), found " +
                   std::to_string(fields.size()));
  }
  schedule.minutes_ = ParseField(text, kMinute, fields[0]);
  schedule.hours_ = ParseField(text, kHour, fields[1]);
  schedule.days_of_month_ = ParseField(text, kDayOfMonth, fields[2]);
  schedule.months_ = ParseField(text, kMonth, fields[3]);
  schedule.days_of_week_ = ParseField(text, kDayOfWeek, fields[4]);
  schedule.day_of_month_unrestricted_ = fields[2].starts_with('*');
  schedule.day_of_week_unrestricted_ = fields[4].starts_with('*');

  // With the "either day field" rule some weekday always matches; otherwise
  // some month must have one of the days (a 31st, or February 30th, may not).
  schedule.can_fire_ = !schedule.day_of_month_unrestricted_ && !schedule.day_of_week_unrestricted_;
  for (int month = 1; month <= 12; ++month) {
    if (!Has(schedule.months_, month)) continue;
    const std::uint64_t possible_days = (std::uint64_t{2} << kLongestMonth[month]) - 2;
    if (schedule.days_of_month_ & possible_days) schedule.can_fire_ = true;
  }

  try {
    schedule.zone_ = date::locate_zone(time_zone);
  } catch (const std::exception& error) {
    Fail(text, "unknown time zone " + Quoted(time_zone) + " (" + error.what() + ")");
  }
  return schedule;
}

bool CronSchedule::DayMatches(int day_of_month, int month, int day_of_week) const {
  if (!Has(months_, month)) return false;
  const bool day_of_month_matches = Has(days_of_month_, day_of_month);
  const bool day_of_week_matches = Has(days_of_week_, day_of_week);
  if (day_of_month_unrestricted_ || day_of_week_unrestricted_) {
    return day_of_month_matches && day_of_week_matches;
  }
  return day_of_month_matches || day_of_week_matches;
}

std::optional<minutes> CronSchedule::NextMatchingLocalMinute(minutes from) const {
  date::local_time<minutes> candidate{from};
  const date::year last_year =
      date::year_month_day{date::floor<date::days>(candidate)}.year() + kSearchYears;
  while (true) {
    const date::local_days day = date::floor<date::days>(candidate);
    const date::year_month_day ymd{day};
    if (ymd.year() > last_year) return std::nullopt;
    if (!Has(months_, static_cast<int>(static_cast<unsigned>(ymd.month())))) {
      candidate = date::local_days{(ymd.year() / ymd.month() + date::months{1}) / 1};
      continue;
    }
    if (!DayMatches(static_cast<int>(static_cast<unsigned>(ymd.day())),
                    static_cast<int>(static_cast<unsigned>(ymd.month())),
                    static_cast<int>(date::weekday{day}.c_encoding()))) {
      candidate = day + date::days{1};
      continue;
    }
    const minutes since_midnight = candidate - day;
    const int hour = static_cast<int>(since_midnight.count() / 60);
    const int next_hour = NextSetBit(hours_, hour);
    if (next_hour < 0) {
      candidate = day + date::days{1};
      continue;
    }
    const int minute = next_hour == hour ? static_cast<int>(since_midnight.count() % 60) : 0;
    const int next_minute = NextSetBit(minutes_, minute);
    if (next_minute < 0) {
      candidate = day + std::chrono::hours{next_hour + 1};
      continue;
    }
    return (day + std::chrono::hours{next_hour} + minutes{next_minute}).time_since_epoch();
  }
}

std::optional<std::chrono::system_clock::time_point> CronSchedule::NextAfter(
    std::chrono::system_clock::time_point after) const {
  if (!can_fire_) return std::nullopt;
  const date::local_seconds local_after = zone_->to_local(date::floor<seconds>(after));
  // Every local minute up to local_after fires at or before `after` (firing
  // instants never decrease as local time increases), so start just past it.
  // Minutes of a fall-back overlap may still fire at or before `after` (their
  // first occurrence has passed); skip them.
  minutes from = date::floor<minutes>(local_after).time_since_epoch() + minutes{1};
  const date::sys_seconds latest =
      date::floor<seconds>(std::chrono::system_clock::time_point::max());
  while (true) {
    const std::optional<minutes> local = NextMatchingLocalMinute(from);
    if (!local) return std::nullopt;
    const date::sys_seconds fires = FiringInstant(*zone_, date::local_time<minutes>{*local});
    if (fires > latest) return std::nullopt;
    if (fires > after) return std::chrono::system_clock::time_point{fires};
    from = *local + minutes{1};
  }
}

}  // namespace freshet
