#include "sync/service/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "copy/error.h"

namespace freshet {

Timetable::Timetable(const std::vector<JobSpec>& jobs, TimePoint start) {
  for (const JobSpec& job : jobs) {
    if (!job.schedule) continue;
    try {
      CronSchedule schedule = CronSchedule::Parse(*job.schedule, job.time_zone);
      std::optional<TimePoint> next = schedule.NextAfter(start);
      entries_.emplace(job.name, Entry{std::move(schedule), next});
    } catch (const Error& error) {
      throw Error(ErrorKind::kUsage, fmt::format("job '{}': {}", job.name, error.what()));
    }
  }
}

std::optional<Timetable::TimePoint> Timetable::Earliest() const {
  std::optional<TimePoint> earliest;
  for (const auto& [name, entry] : entries_)
    if (entry.next && (!earliest || *entry.next < *earliest)) earliest = entry.next;
  return earliest;
}

std::vector<Timetable::Firing> Timetable::Due(TimePoint now) {
  std::vector<Firing> due;
  for (auto& [name, entry] : entries_) {
    if (!entry.next || *entry.next > now) continue;
    // The latest time that passed names the firing; the cap bounds a clock
    // that jumped years.
    TimePoint at = *entry.next;
    for (int step = 0; step < 100000; ++step) {
      std::optional<TimePoint> later = entry.schedule.NextAfter(at);
      if (!later || *later > now) break;
      at = *later;
    }
    due.push_back({name, at});
    entry.next = entry.schedule.NextAfter(now);
  }
  std::sort(due.begin(), due.end(), [](const Firing& a, const Firing& b) {
    return std::tie(a.at, a.job) < std::tie(b.at, b.job);
  });
  return due;
}

std::optional<Timetable::TimePoint> Timetable::NextOf(const std::string& job) const {
  auto it = entries_.find(job);
  if (it == entries_.end()) return std::nullopt;
  return it->second.next;
}

}  // namespace freshet
