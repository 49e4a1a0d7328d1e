// The service's timetable driven by an injected clock: which jobs fire when,
// across DST changes, and that a late check fires a job once.
#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "copy/error.h"
#include "sync/service/schedule.h"

namespace freshet {
namespace {

using std::chrono::system_clock;
using Time = system_clock::time_point;

Time Utc(int year, unsigned month, unsigned day, int hour, int minute) {
  return date::sys_days(date::year(year) / month / day) + std::chrono::hours(hour) +
         std::chrono::minutes(minute);
}

JobSpec Job(std::string name, std::string schedule, std::string zone) {
  JobSpec job;
  job.name = std::move(name);
  job.kind = "sync";
  job.schedule = std::move(schedule);
  job.time_zone = std::move(zone);
  return job;
}

std::vector<std::string> Jobs(const std::vector<Timetable::Firing>& firings) {
  std::vector<std::string> jobs;
  for (const Timetable::Firing& firing : firings) jobs.push_back(firing.job);
  return jobs;
}

// Steps a clock minute by minute from `start` to `end` and records when each
// job came due: what the service's timer loop does, with time injected.
std::vector<std::pair<std::string, Time>> Fired(Timetable& table, Time start, Time end) {
  std::vector<std::pair<std::string, Time>> fired;
  for (Time now = start; now <= end; now += std::chrono::minutes(1))
    for (const Timetable::Firing& firing : table.Due(now)) fired.emplace_back(firing.job, now);
  return fired;
}

TEST(Timetable, DailyJobFiresOnceEachDayAcrossSpringForwardInBerlin) {
  // 02:30 Berlin does not exist on 2026-03-29 (02:00 -> 03:00 CEST).
  Time start = Utc(2026, 3, 27, 12, 0);
  Timetable table({Job("nightly", "30 2 * * *", "Europe/Berlin")}, start);
  auto fired = Fired(table, start, Utc(2026, 3, 31, 12, 0));
  EXPECT_THAT(fired,
              ::testing::ElementsAre(
                  std::pair<std::string, Time>("nightly", Utc(2026, 3, 28, 1, 30)),  // CET
                  std::pair<std::string, Time>("nightly", Utc(2026, 3, 29, 1, 0)),   // gap end
                  std::pair<std::string, Time>("nightly", Utc(2026, 3, 30, 0, 30)),  // CEST
                  std::pair<std::string, Time>("nightly", Utc(2026, 3, 31, 0, 30))));
}

TEST(Timetable, DailyJobFiresOnceWhenTheHourRepeatsInNewYork) {
  // 01:30 New York happens twice on 2026-11-01 (EDT, then EST).
  Time start = Utc(2026, 10, 31, 12, 0);
  Timetable table({Job("nightly", "30 1 * * *", "America/New_York")}, start);
  auto fired = Fired(table, start, Utc(2026, 11, 2, 12, 0));
  EXPECT_THAT(fired, ::testing::ElementsAre(
                         std::pair<std::string, Time>("nightly", Utc(2026, 11, 1, 5, 30)),    // EDT
                         std::pair<std::string, Time>("nightly", Utc(2026, 11, 2, 6, 30))));  // EST
}

TEST(Timetable, LateCheckFiresAJobOnceAndMovesPastNow) {
  Time start = Utc(2026, 12, 6, 9, 0);
  Timetable table({Job("quarterly", "*/15 * * * *", "UTC")}, start);
  // Nobody looked for an hour (a suspended machine): four times passed.
  std::vector<Timetable::Firing> due = table.Due(Utc(2026, 12, 6, 10, 7));
  ASSERT_THAT(Jobs(due), ::testing::ElementsAre("quarterly"));
  EXPECT_EQ(due.front().at, Utc(2026, 12, 6, 10, 0));  // the latest time that passed names it
  EXPECT_EQ(table.NextOf("quarterly"), Utc(2026, 12, 6, 10, 15));
  EXPECT_THAT(Jobs(table.Due(Utc(2026, 12, 6, 10, 8))), ::testing::IsEmpty());
}

TEST(Timetable, EarliestIsTheSoonestOfEveryJobAndUnscheduledJobsAreLeftOut) {
  Time start = Utc(2026, 12, 6, 9, 0);  // a Sunday
  JobSpec manual;
  manual.name = "manual";
  manual.kind = "sync";
  Timetable table({Job("weekly", "0 2 * * 0", "UTC"), Job("hourly", "@hourly", "UTC"), manual},
                  start);
  EXPECT_EQ(table.Earliest(), Utc(2026, 12, 6, 10, 0));
  EXPECT_EQ(table.NextOf("weekly"), Utc(2026, 12, 13, 2, 0));
  EXPECT_EQ(table.NextOf("manual"), std::nullopt);
  EXPECT_THAT(Jobs(table.Due(Utc(2026, 12, 6, 10, 0))), ::testing::ElementsAre("hourly"));
}

TEST(Timetable, BadScheduleNamesTheJob) {
  try {
    Timetable({Job("weekly-dev", "0 25 * * *", "UTC")}, Utc(2026, 1, 1, 0, 0));
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("job 'weekly-dev'"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("hour 25"));
  }
  EXPECT_THROW(Timetable({Job("x", "@daily", "Mars/Olympus")}, Utc(2026, 1, 1, 0, 0)), Error);
}

}  // namespace
}  // namespace freshet
