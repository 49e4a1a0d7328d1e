#include "sync/service/cron.h"

#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "copy/error.h"

// Instants are written in UTC as "YYYY-MM-DD HH:MM:SS"; comments give the
// local wall-clock time. DST dates checked with zdump for 2026:
//   America/New_York  2026-03-08 02:00 EST -> 03:00 EDT at 07:00 UTC
//                     2026-11-01 02:00 EDT -> 01:00 EST at 06:00 UTC
//   Europe/Berlin     2026-03-29 02:00 CET -> 03:00 CEST at 01:00 UTC
//                     2026-10-25 03:00 CEST -> 02:00 CET at 01:00 UTC
namespace freshet {
namespace {

using std::chrono::system_clock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

system_clock::time_point Utc(const std::string& text) {
  int year = 0;
  unsigned month = 0, day = 0;
  int hour = 0, minute = 0, second = 0;
  if (std::sscanf(text.c_str(), "%d-%u-%u %d:%d:%d", &year, &month, &day, &hour, &minute,
                  &second) != 6) {
    ADD_FAILURE() << "bad instant in test: " << text;
  }
  return date::sys_days{date::year{year} / month / day} + std::chrono::hours{hour} +
         std::chrono::minutes{minute} + std::chrono::seconds{second};
}

std::string Format(std::optional<system_clock::time_point> instant) {
  if (!instant) return "never";
  return date::format("%F %T", date::floor<std::chrono::seconds>(*instant));
}

// The next `count` firings of `schedule` strictly after `after`.
std::vector<std::string> Firings(const CronSchedule& schedule, const std::string& after,
                                 int count) {
  std::vector<std::string> firings;
  std::optional<system_clock::time_point> instant = Utc(after);
  for (int i = 0; i < count && instant; ++i) {
    instant = schedule.NextAfter(*instant);
    firings.push_back(Format(instant));
  }
  return firings;
}

std::string Next(std::string_view expression, const std::string& after,
                 std::string_view zone = "UTC") {
  return Format(CronSchedule::Parse(expression, zone).NextAfter(Utc(after)));
}

// The message of the freshet::Error that parsing throws; checks its kind.
std::string ParseError(std::string_view expression, std::string_view zone = "UTC") {
  try {
    CronSchedule::Parse(expression, zone);
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    return error.what();
  }
  return "no error";
}

// --- Syntax -----------------------------------------------------------------

TEST(CronSyntaxTest, SingleValuesFireAtThatMinuteAndHour) {
  EXPECT_EQ(Next("5 4 * * *", "2026-01-01 00:00:00"), "2026-01-01 04:05:00");
}

TEST(CronSyntaxTest, StarsFireEveryMinuteAtSecondZero) {
  EXPECT_EQ(Next("* * * * *", "2026-01-01 10:00:30"), "2026-01-01 10:01:00");
}

TEST(CronSyntaxTest, NextFiringIsStrictlyAfterTheGivenInstant) {
  EXPECT_EQ(Next("0 * * * *", "2026-01-01 10:00:00"), "2026-01-01 11:00:00");
  const auto just_after = Utc("2026-01-01 10:00:00") + std::chrono::milliseconds(1);
  EXPECT_EQ(Format(CronSchedule::Parse("0 * * * *").NextAfter(just_after)), "2026-01-01 11:00:00");
}

TEST(CronSyntaxTest, ListsFireAtEachValue) {
  EXPECT_THAT(Firings(CronSchedule::Parse("0 1,5,22 * * *"), "2026-01-01 00:00:00", 4),
              ElementsAre("2026-01-01 01:00:00", "2026-01-01 05:00:00", "2026-01-01 22:00:00",
                          "2026-01-02 01:00:00"));
}

TEST(CronSyntaxTest, RangesIncludeBothEnds) {
  EXPECT_THAT(Firings(CronSchedule::Parse("0 9-11 * * *"), "2026-01-01 00:00:00", 4),
              ElementsAre("2026-01-01 09:00:00", "2026-01-01 10:00:00", "2026-01-01 11:00:00",
                          "2026-01-02 09:00:00"));
}

TEST(CronSyntaxTest, StepOverStarCountsFromTheFieldMinimum) {
  EXPECT_THAT(Firings(CronSchedule::Parse("*/15 * * * *"), "2026-01-01 00:00:00", 4),
              ElementsAre("2026-01-01 00:15:00", "2026-01-01 00:30:00", "2026-01-01 00:45:00",
                          "2026-01-01 01:00:00"));
}

TEST(CronSyntaxTest, StepOverRangeStaysInsideTheRange) {
  EXPECT_THAT(Firings(CronSchedule::Parse("10-50/20 * * * *"), "2026-01-01 00:00:00", 4),
              ElementsAre("2026-01-01 00:10:00", "2026-01-01 00:30:00", "2026-01-01 00:50:00",
                          "2026-01-01 01:10:00"));
}

TEST(CronSyntaxTest, StepFromSingleValueRunsToTheFieldMaximum) {
  EXPECT_THAT(Firings(CronSchedule::Parse("50/5 * * * *"), "2026-01-01 00:00:00", 3),
              ElementsAre("2026-01-01 00:50:00", "2026-01-01 00:55:00", "2026-01-01 01:50:00"));
}

TEST(CronSyntaxTest, StepLargerThanTheRangeSelectsOnlyItsStart) {
  EXPECT_THAT(Firings(CronSchedule::Parse("59/2147483647 * * * *"), "2026-01-01 00:00:00", 2),
              ElementsAre("2026-01-01 00:59:00", "2026-01-01 01:59:00"));
}

TEST(CronSyntaxTest, MonthNamesAreCaseInsensitiveAndFormRanges) {
  EXPECT_THAT(Firings(CronSchedule::Parse("0 0 1 JAN,jul *"), "2026-02-01 00:00:00", 2),
              ElementsAre("2026-07-01 00:00:00", "2027-01-01 00:00:00"));
  EXPECT_THAT(Firings(CronSchedule::Parse("0 0 1 Mar-May *"), "2026-01-01 00:00:00", 4),
              ElementsAre("2026-03-01 00:00:00", "2026-04-01 00:00:00", "2026-05-01 00:00:00",
                          "2027-03-01 00:00:00"));
}

TEST(CronSyntaxTest, WeekdayNamesSelectThoseDays) {
  // 2026-01-03 is a Saturday.
  EXPECT_THAT(Firings(CronSchedule::Parse("0 12 * * Mon-FRI"), "2026-01-03 00:00:00", 2),
              ElementsAre("2026-01-05 12:00:00", "2026-01-06 12:00:00"));
}

TEST(CronSyntaxTest, DayOfWeekSevenIsSundayLikeZero) {
  // 2026-01-01 is a Thursday.
  EXPECT_EQ(Next("0 0 * * 7", "2026-01-01 00:00:00"), "2026-01-04 00:00:00");
  EXPECT_EQ(Next("0 0 * * 0", "2026-01-01 00:00:00"), "2026-01-04 00:00:00");
}

TEST(CronSyntaxTest, WeekdayRangeMayEndOnSunday) {
  EXPECT_THAT(Firings(CronSchedule::Parse("0 0 * * fri-sun"), "2026-01-01 00:00:00", 4),
              ElementsAre("2026-01-02 00:00:00", "2026-01-03 00:00:00", "2026-01-04 00:00:00",
                          "2026-01-09 00:00:00"));
  EXPECT_EQ(Next("0 0 * * 5-7", "2026-01-03 12:00:00"), "2026-01-04 00:00:00");
}

TEST(CronSyntaxTest, BlanksBetweenAndAroundFieldsAreIgnored) {
  const CronSchedule schedule = CronSchedule::Parse("  5\t4  * * *  ", "Europe/Berlin");
  EXPECT_EQ(schedule.expression(), "5\t4  * * *");
  EXPECT_EQ(schedule.time_zone(), "Europe/Berlin");
  EXPECT_EQ(Format(schedule.NextAfter(Utc("2026-01-01 00:00:00"))), "2026-01-01 03:05:00");
}

TEST(CronSyntaxTest, TimeZoneDefaultsToUtc) {
  EXPECT_EQ(CronSchedule::Parse("0 0 * * *").time_zone(), "UTC");
}

// --- Macros -----------------------------------------------------------------

TEST(CronMacroTest, HourlyFiresAtTheTopOfEachHour) {
  EXPECT_EQ(Next("@hourly", "2026-01-01 10:30:00"), "2026-01-01 11:00:00");
}

TEST(CronMacroTest, DailyAndMidnightFireAtMidnight) {
  EXPECT_EQ(Next("@daily", "2026-01-01 10:00:00"), "2026-01-02 00:00:00");
  EXPECT_EQ(Next("@midnight", "2026-01-01 10:00:00"), "2026-01-02 00:00:00");
}

TEST(CronMacroTest, WeeklyFiresSundayAtMidnight) {
  EXPECT_EQ(Next("@weekly", "2026-01-01 10:00:00"), "2026-01-04 00:00:00");
}

TEST(CronMacroTest, MonthlyFiresOnTheFirst) {
  EXPECT_EQ(Next("@monthly", "2026-01-15 10:00:00"), "2026-02-01 00:00:00");
}

TEST(CronMacroTest, YearlyAndAnnuallyFireOnNewYear) {
  EXPECT_EQ(Next("@yearly", "2026-01-01 00:00:00"), "2027-01-01 00:00:00");
  EXPECT_EQ(Next("@annually", "2026-06-01 00:00:00"), "2027-01-01 00:00:00");
}

TEST(CronMacroTest, MacrosAreCaseInsensitiveAndKeptAsWritten) {
  const CronSchedule schedule = CronSchedule::Parse("@Daily");
  EXPECT_EQ(schedule.expression(), "@Daily");
  EXPECT_EQ(Format(schedule.NextAfter(Utc("2026-01-01 10:00:00"))), "2026-01-02 00:00:00");
}

TEST(CronMacroTest, MacrosFollowTheScheduleTimeZone) {
  EXPECT_EQ(Next("@daily", "2026-01-01 00:00:00", "America/New_York"), "2026-01-01 05:00:00");
}

// --- Day fields -------------------------------------------------------------

TEST(CronDayRuleTest, BothDayFieldsRestrictedMatchEither) {
  // The 10th (a Tuesday) or any Friday: March 2026 Fridays are 6, 13, 20.
  EXPECT_THAT(Firings(CronSchedule::Parse("0 0 10 * fri"), "2026-03-01 00:00:00", 4),
              ElementsAre("2026-03-06 00:00:00", "2026-03-10 00:00:00", "2026-03-13 00:00:00",
                          "2026-03-20 00:00:00"));
}

TEST(CronDayRuleTest, DayFieldStartingWithStarMeansBothMustMatch) {
  // Odd-numbered days that are Mondays: 2026-03-09, 2026-03-23, 2026-04-13.
  EXPECT_THAT(Firings(CronSchedule::Parse("0 0 */2 * 1"), "2026-03-01 00:00:00", 3),
              ElementsAre("2026-03-09 00:00:00", "2026-03-23 00:00:00", "2026-04-13 00:00:00"));
}

TEST(CronDayRuleTest, WeeklyScheduleFiresOnTheNextSunday) {
  // 2026-01-01 is a Thursday; from a firing, the next is a week later.
  EXPECT_THAT(Firings(CronSchedule::Parse("0 2 * * 0"), "2026-01-01 12:00:00", 2),
              ElementsAre("2026-01-04 02:00:00", "2026-01-11 02:00:00"));
}

TEST(CronDayRuleTest, LeapDayScheduleFindsTheNextLeapYear) {
  EXPECT_THAT(Firings(CronSchedule::Parse("0 0 29 2 *"), "2026-03-01 00:00:00", 2),
              ElementsAre("2028-02-29 00:00:00", "2032-02-29 00:00:00"));
  // 2100 is not a leap year.
  EXPECT_EQ(Next("0 0 29 2 *", "2096-03-01 00:00:00"), "2104-02-29 00:00:00");
}

TEST(CronDayRuleTest, ImpossibleDateNeverFires) {
  EXPECT_EQ(Next("0 0 31 2 *", "2026-01-01 00:00:00"), "never");
  EXPECT_EQ(Next("0 0 30,31 feb *", "2026-01-01 00:00:00"), "never");
  EXPECT_EQ(Next("0 0 31 apr,jun,sep,nov *", "2026-01-01 00:00:00"), "never");
}

TEST(CronDayRuleTest, ImpossibleDateWithWeekdayFiresOnTheWeekday) {
  // "February 31st or a Monday": 2026-02-02 is a Monday.
  EXPECT_EQ(Next("0 0 31 2 mon", "2026-01-01 00:00:00"), "2026-02-02 00:00:00");
}

// --- Parse errors -----------------------------------------------------------

TEST(CronParseErrorTest, WrongFieldCountIsRejected) {
  EXPECT_EQ(ParseError("0 0 * *"),
            "cron schedule \"0 0 * *\": expected 5 fields (minute hour day-of-month month "
            "day-of-week), found 4");
  EXPECT_EQ(ParseError("0 0 * * * *"),
            "cron schedule \"0 0 * * * *\": expected 5 fields (minute hour day-of-month month "
            "day-of-week), found 6");
  EXPECT_EQ(ParseError("  "),
            "cron schedule \"\": expected 5 fields (minute hour day-of-month month "
            "day-of-week), found 0");
}

TEST(CronParseErrorTest, OutOfRangeValueNamesFieldAndRange) {
  EXPECT_EQ(ParseError("60 * * * *"),
            "cron schedule \"60 * * * *\": minute 60 is out of range 0-59");
  EXPECT_EQ(ParseError("0 25 * * *"), "cron schedule \"0 25 * * *\": hour 25 is out of range 0-23");
  EXPECT_EQ(ParseError("0 0 0 * *"),
            "cron schedule \"0 0 0 * *\": day-of-month 0 is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 32 * *"),
            "cron schedule \"0 0 32 * *\": day-of-month 32 is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 * 13 *"),
            "cron schedule \"0 0 * 13 *\": month 13 is out of range 1-12");
  EXPECT_EQ(ParseError("0 0 * * 8"),
            "cron schedule \"0 0 * * 8\": day-of-week 8 is out of range 0-7");
}

TEST(CronParseErrorTest, HugeNumberIsOutOfRange) {
  EXPECT_EQ(ParseError("99999999999 * * * *"),
            "cron schedule \"99999999999 * * * *\": minute 99999999999 is out of range 0-59");
}

TEST(CronParseErrorTest, WordWhereNumberExpectedIsRejected) {
  EXPECT_EQ(ParseError("x * * * *"), "cron schedule \"x * * * *\": minute \"x\" is not a number");
  EXPECT_EQ(ParseError("0 0 jan * *"),
            "cron schedule \"0 0 jan * *\": day-of-month \"jan\" is not a number");
}

TEST(CronParseErrorTest, UnknownMonthNameIsRejected) {
  EXPECT_EQ(ParseError("0 0 * foo *"),
            "cron schedule \"0 0 * foo *\": month \"foo\" is not a number or a month name "
            "(jan-dec)");
}

TEST(CronParseErrorTest, UnknownWeekdayNameIsRejected) {
  EXPECT_EQ(ParseError("0 0 * * funday"),
            "cron schedule \"0 0 * * funday\": day-of-week \"funday\" is not a number or a "
            "weekday name (sun-sat)");
}

TEST(CronParseErrorTest, BackwardsRangeIsRejected) {
  EXPECT_EQ(ParseError("0 0 * * 5-2"),
            "cron schedule \"0 0 * * 5-2\": day-of-week range \"5-2\" runs backwards (write the "
            "smaller value first)");
}

TEST(CronParseErrorTest, RangeMissingANumberIsRejected) {
  EXPECT_EQ(ParseError("0 1- * * *"),
            "cron schedule \"0 1- * * *\": hour item \"1-\" is missing a number");
  EXPECT_EQ(ParseError("-1 * * * *"),
            "cron schedule \"-1 * * * *\": minute item \"-1\" is missing a number");
}

TEST(CronParseErrorTest, StepMustBeAPositiveWholeNumber) {
  EXPECT_EQ(ParseError("*/0 * * * *"),
            "cron schedule \"*/0 * * * *\": minute step \"0\" in \"*/0\" is not a whole number "
            "of at least 1");
  EXPECT_EQ(ParseError("0 */x * * *"),
            "cron schedule \"0 */x * * *\": hour step \"x\" in \"*/x\" is not a whole number "
            "of at least 1");
  EXPECT_EQ(ParseError("0 0 1/ * *"),
            "cron schedule \"0 0 1/ * *\": day-of-month step \"\" in \"1/\" is not a whole "
            "number of at least 1");
}

TEST(CronParseErrorTest, EmptyListItemIsRejected) {
  EXPECT_EQ(ParseError("0 1,,2 * * *"),
            "cron schedule \"0 1,,2 * * *\": hour list \"1,,2\" has an empty item");
}

TEST(CronParseErrorTest, UnknownMacroIsRejected) {
  EXPECT_EQ(ParseError("@reboot"),
            "cron schedule \"@reboot\": unknown macro @reboot (expected @hourly, @daily, "
            "@midnight, @weekly, @monthly, @yearly or @annually)");
}

TEST(CronParseErrorTest, UnknownTimeZoneIsRejected) {
  EXPECT_THAT(ParseError("0 0 * * *", "Mars/Olympus_Mons"),
              HasSubstr("cron schedule \"0 0 * * *\": unknown time zone \"Mars/Olympus_Mons\""));
}

// --- Time zones and DST -----------------------------------------------------

TEST(CronTimeZoneTest, FieldsAreLocalWallClockTime) {
  EXPECT_EQ(Next("0 9 * * *", "2026-01-01 00:00:00", "Asia/Kolkata"), "2026-01-01 03:30:00");
  EXPECT_EQ(Next("0 9 * * *", "2026-07-01 00:00:00", "Europe/Berlin"), "2026-07-01 07:00:00");
}

TEST(CronTimeZoneTest, NewYorkSpringForwardRunsSkippedTimeOnceAtGapEnd) {
  EXPECT_THAT(
      Firings(CronSchedule::Parse("30 2 * * *", "America/New_York"), "2026-03-07 00:00:00", 3),
      ElementsAre("2026-03-07 07:30:00",    // 02:30 EST
                  "2026-03-08 07:00:00",    // 02:30 does not exist: 03:00 EDT
                  "2026-03-09 06:30:00"));  // 02:30 EDT
}

TEST(CronTimeZoneTest, BerlinSpringForwardRunsSkippedTimeOnceAtGapEnd) {
  EXPECT_THAT(Firings(CronSchedule::Parse("30 2 * * *", "Europe/Berlin"), "2026-03-28 00:00:00", 3),
              ElementsAre("2026-03-28 01:30:00",    // 02:30 CET
                          "2026-03-29 01:00:00",    // 02:30 does not exist: 03:00 CEST
                          "2026-03-30 00:30:00"));  // 02:30 CEST
}

TEST(CronTimeZoneTest, SeveralSkippedTimesFireOnceAtGapEnd) {
  EXPECT_THAT(
      Firings(CronSchedule::Parse("*/15 2 * * *", "America/New_York"), "2026-03-07 12:00:00", 2),
      ElementsAre("2026-03-08 07:00:00",    // 02:00-02:45 do not exist: 03:00 EDT
                  "2026-03-09 06:00:00"));  // 02:00 EDT
}

TEST(CronTimeZoneTest, NewYorkFallBackRunsRepeatedTimeOnceAtFirstOccurrence) {
  EXPECT_THAT(
      Firings(CronSchedule::Parse("30 1 * * *", "America/New_York"), "2026-10-31 00:00:00", 3),
      ElementsAre("2026-10-31 05:30:00",    // 01:30 EDT
                  "2026-11-01 05:30:00",    // 01:30 EDT; not again at 01:30 EST
                  "2026-11-02 06:30:00"));  // 01:30 EST
}

TEST(CronTimeZoneTest, NewYorkFallBackSecondPassDoesNotFireAgain) {
  // 06:15 UTC is 01:15 EST, in the second pass, before the second 01:30.
  EXPECT_EQ(Next("30 1 * * *", "2026-11-01 06:15:00", "America/New_York"), "2026-11-02 06:30:00");
}

TEST(CronTimeZoneTest, BerlinFallBackRunsRepeatedTimeOnceAtFirstOccurrence) {
  EXPECT_THAT(Firings(CronSchedule::Parse("30 2 * * *", "Europe/Berlin"), "2026-10-24 00:00:00", 3),
              ElementsAre("2026-10-24 00:30:00",    // 02:30 CEST
                          "2026-10-25 00:30:00",    // 02:30 CEST; not again at 02:30 CET
                          "2026-10-26 01:30:00"));  // 02:30 CET
}

TEST(CronTimeZoneTest, NewYorkQuarterHourlyAcrossSpringForward) {
  EXPECT_THAT(
      Firings(CronSchedule::Parse("*/15 * * * *", "America/New_York"), "2026-03-08 06:15:00", 5),
      ElementsAre("2026-03-08 06:30:00",    // 01:30 EST
                  "2026-03-08 06:45:00",    // 01:45 EST
                  "2026-03-08 07:00:00",    // 03:00 EDT (02:00-02:45 collapse here)
                  "2026-03-08 07:15:00",    // 03:15 EDT
                  "2026-03-08 07:30:00"));  // 03:30 EDT
}

TEST(CronTimeZoneTest, NewYorkQuarterHourlyAcrossFallBackSkipsSecondPass) {
  EXPECT_THAT(
      Firings(CronSchedule::Parse("*/15 * * * *", "America/New_York"), "2026-11-01 04:30:00", 7),
      ElementsAre("2026-11-01 04:45:00",    // 00:45 EDT
                  "2026-11-01 05:00:00",    // 01:00 EDT
                  "2026-11-01 05:15:00",    // 01:15 EDT
                  "2026-11-01 05:30:00",    // 01:30 EDT
                  "2026-11-01 05:45:00",    // 01:45 EDT; 01:00-01:45 EST skipped
                  "2026-11-01 07:00:00",    // 02:00 EST
                  "2026-11-01 07:15:00"));  // 02:15 EST
}

TEST(CronTimeZoneTest, QuarterHourlyAskedDuringSecondPassWaitsForItsEnd) {
  // 06:20 UTC is 01:20 EST, the repeated hour's second pass.
  EXPECT_EQ(Next("*/15 * * * *", "2026-11-01 06:20:00", "America/New_York"), "2026-11-01 07:00:00");
}

TEST(CronTimeZoneTest, BerlinQuarterHourlyAcrossSpringForward) {
  EXPECT_THAT(
      Firings(CronSchedule::Parse("*/15 * * * *", "Europe/Berlin"), "2026-03-29 00:15:00", 4),
      ElementsAre("2026-03-29 00:30:00",    // 01:30 CET
                  "2026-03-29 00:45:00",    // 01:45 CET
                  "2026-03-29 01:00:00",    // 03:00 CEST (02:00-02:45 collapse here)
                  "2026-03-29 01:15:00"));  // 03:15 CEST
}

TEST(CronTimeZoneTest, BerlinQuarterHourlyAcrossFallBackSkipsSecondPass) {
  EXPECT_THAT(
      Firings(CronSchedule::Parse("*/15 * * * *", "Europe/Berlin"), "2026-10-24 23:45:00", 6),
      ElementsAre("2026-10-25 00:00:00",    // 02:00 CEST
                  "2026-10-25 00:15:00",    // 02:15 CEST
                  "2026-10-25 00:30:00",    // 02:30 CEST
                  "2026-10-25 00:45:00",    // 02:45 CEST; 02:00-02:45 CET skipped
                  "2026-10-25 02:00:00",    // 03:00 CET
                  "2026-10-25 02:15:00"));  // 03:15 CET
}

}  // namespace
}  // namespace freshet
