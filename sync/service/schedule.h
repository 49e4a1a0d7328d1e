// The jobs' cron schedules as one timetable: when each job fires next, and
// which are due at a given instant. Pure: the clock is the caller's (the
// service's timer loop; tests step an injected clock).
//
// A job fires once however late its check comes: when several of its times
// have passed (the service was busy, the clock jumped), it fires once and
// moves to its first time after `now`. Times passed while the service was
// not running are not made up at start.
//
// Not thread-safe: the service's I/O thread owns it.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sync/service/cron.h"
#include "sync/service/job.h"

namespace freshet {

class Timetable {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  // Parses every job's schedule (jobs without one are skipped); the first
  // times are those after `start`. Throws Error (kUsage) naming the job whose
  // schedule or time zone is wrong.
  Timetable(const std::vector<JobSpec>& jobs, TimePoint start);

  // The earliest next firing of any job; none when no job is scheduled.
  std::optional<TimePoint> Earliest() const;
  // A job that came due, and the time it was due at: the latest of its
  // times that passed, so two replicas that check at different moments name
  // the same firing (the shared store runs it once).
  struct Firing {
    std::string job;
    TimePoint at;
  };
  // The jobs due at `now`, in order of their due time, each moved to its
  // next time after `now`.
  std::vector<Firing> Due(TimePoint now);
  // When `job` fires next (none: not scheduled, or never again).
  std::optional<TimePoint> NextOf(const std::string& job) const;

 private:
  struct Entry {
    CronSchedule schedule;
    std::optional<TimePoint> next;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace freshet
