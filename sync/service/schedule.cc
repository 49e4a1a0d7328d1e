#include "sync/service/schedule.h"

#include <fmt/format.h>

#include <algorithm>

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

std::vector<std::string> Timetable::Due(TimePoint now) {
  std::vector<std::pair<TimePoint, std::string>> due;
  for (auto& [name, entry] : entries_) {
    if (!entry.next || *entry.next > now) continue;
    due.emplace_back(*entry.next, name);
    entry.next = entry.schedule.NextAfter(now);
  }
  std::sort(due.begin(), due.end());
  std::vector<std::string> names;
  for (auto& [at, name] : due) names.push_back(std::move(name));
  return names;
}

std::optional<Timetable::TimePoint> Timetable::NextOf(const std::string& job) const {
  auto it = entries_.find(job);
  if (it == entries_.end()) return std::nullopt;
  return it->second.next;
}

}  // namespace freshet
