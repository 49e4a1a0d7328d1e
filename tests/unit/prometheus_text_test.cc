// MetricsPage writes the Prometheus text format 0.0.4 exactly: HELP and TYPE
// once per family before its samples, families in the order started, escaped
// label values and HELP text, cumulative histogram buckets ending at +Inf with
// _sum and _count, integers exact and doubles round-tripping, and bad names
// refused. HistogramData counts observations into the right buckets.
#include "sync/service/prometheus_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace freshet {
namespace {

TEST(MetricsPage, CounterFamilyHasHelpTypeAndSamples) {
  MetricsPage page;
  page.Counter("freshet_runs_total", "Runs finished, by job and outcome.");
  page.Sample({{"job", "nightly"}, {"outcome", "ok"}}, 3);
  page.Sample({{"job", "nightly"}, {"outcome", "failed"}}, 1);
  EXPECT_EQ(page.Text(),
            "# HELP freshet_runs_total Runs finished, by job and outcome.\n"
            "# TYPE freshet_runs_total counter\n"
            "freshet_runs_total{job=\"nightly\",outcome=\"ok\"} 3\n"
            "freshet_runs_total{job=\"nightly\",outcome=\"failed\"} 1\n");
}

TEST(MetricsPage, FamiliesAreWrittenInTheOrderStarted) {
  MetricsPage page;
  page.Gauge("freshet_up", "1 while serving.");
  page.Sample({}, 1);
  page.Gauge("freshet_queue_length", "Runs waiting.");
  page.Sample({}, 0);
  page.Counter("freshet_a_total", "Comes last.");
  EXPECT_EQ(page.Text(),
            "# HELP freshet_up 1 while serving.\n"
            "# TYPE freshet_up gauge\n"
            "freshet_up 1\n"
            "# HELP freshet_queue_length Runs waiting.\n"
            "# TYPE freshet_queue_length gauge\n"
            "freshet_queue_length 0\n"
            "# HELP freshet_a_total Comes last.\n"
            "# TYPE freshet_a_total counter\n");
}

TEST(MetricsPage, EmptyPageIsEmpty) { EXPECT_EQ(MetricsPage().Text(), ""); }

TEST(MetricsPage, LabelValuesEscapeBackslashQuoteAndNewline) {
  MetricsPage page;
  page.Gauge("g", "h");
  page.Sample({{"path", "C:\\dir \"x\"\nnext"}}, 2);
  EXPECT_EQ(page.Text(),
            "# HELP g h\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 2\n");
}

TEST(MetricsPage, HelpTextEscapesBackslashAndNewlineButNotQuotes) {
  MetricsPage page;
  page.Gauge("g", "a \\ b\n\"c\"");
  EXPECT_EQ(page.Text(),
            "# HELP g a \\\\ b\\n\"c\"\n"
            "# TYPE g gauge\n");
}

TEST(MetricsPage, LabelValuesKeepUtf8) {
  MetricsPage page;
  page.Gauge("g", "h");
  page.Sample({{"table", "public.café"}}, 1);
  EXPECT_THAT(page.Text(), ::testing::HasSubstr("g{table=\"public.café\"} 1\n"));
}

TEST(MetricsPage, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsPage page;
  page.Histogram("freshet_run_duration_seconds", "Run durations.");
  const std::vector<double> bounds = {0.5, 1, 60};
  const std::vector<uint64_t> counts = {1, 0, 2, 4};
  page.HistogramSample({{"job", "nightly"}}, bounds, counts, 1234.5);
  EXPECT_EQ(page.Text(),
            "# HELP freshet_run_duration_seconds Run durations.\n"
            "# TYPE freshet_run_duration_seconds histogram\n"
            "freshet_run_duration_seconds_bucket{job=\"nightly\",le=\"0.5\"} 1\n"
            "freshet_run_duration_seconds_bucket{job=\"nightly\",le=\"1\"} 1\n"
            "freshet_run_duration_seconds_bucket{job=\"nightly\",le=\"60\"} 3\n"
            "freshet_run_duration_seconds_bucket{job=\"nightly\",le=\"+Inf\"} 7\n"
            "freshet_run_duration_seconds_sum{job=\"nightly\"} 1234.5\n"
            "freshet_run_duration_seconds_count{job=\"nightly\"} 7\n");
}

TEST(MetricsPage, HistogramWithoutLabelsHasOnlyLe) {
  MetricsPage page;
  page.Histogram("h", "x");
  const std::vector<double> bounds = {1};
  const std::vector<uint64_t> counts = {0, 0};
  page.HistogramSample({}, bounds, counts, 0);
  EXPECT_EQ(page.Text(),
            "# HELP h x\n"
            "# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 0\n"
            "h_bucket{le=\"+Inf\"} 0\n"
            "h_sum 0\n"
            "h_count 0\n");
}

TEST(MetricsPage, IntegersArePrintedExactly) {
  MetricsPage page;
  page.Counter("c_total", "h");
  page.Sample({}, uint64_t{18446744073709551615u});
  page.Sample({}, int64_t{-9007199254740993});
  page.Sample({}, 1e6);  // an integral double: digits, no exponent
  page.Sample({}, -42.0);
  EXPECT_EQ(page.Text(),
            "# HELP c_total h\n"
            "# TYPE c_total counter\n"
            "c_total 18446744073709551615\n"
            "c_total -9007199254740993\n"
            "c_total 1000000\n"
            "c_total -42\n");
}

TEST(MetricsPage, DoublesRoundTripWithShortestDigits) {
  EXPECT_EQ(MetricsPage::FormatValue(0.1), "0.1");
  EXPECT_EQ(MetricsPage::FormatValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(MetricsPage::FormatValue(2.5e-7), "2.5e-07");
  EXPECT_EQ(MetricsPage::FormatValue(1e300), "1e+300");
  EXPECT_EQ(std::stod(MetricsPage::FormatValue(0.1 + 0.2)), 0.1 + 0.2);
  EXPECT_EQ(MetricsPage::FormatValue(-0.0), "0");
}

TEST(MetricsPage, InfinitiesAndNanAreSpelledAsPrometheusDoes) {
  EXPECT_EQ(MetricsPage::FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(MetricsPage::FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(MetricsPage::FormatValue(std::nan("")), "NaN");
}

TEST(MetricsPage, CounterNameMustEndInTotal) {
  MetricsPage page;
  EXPECT_THROW(page.Counter("freshet_runs", "h"), std::invalid_argument);
}

TEST(MetricsPage, BadMetricNamesThrow) {
  MetricsPage page;
  EXPECT_THROW(page.Gauge("", "h"), std::invalid_argument);
  EXPECT_THROW(page.Gauge("1abc", "h"), std::invalid_argument);
  EXPECT_THROW(page.Gauge("a-b", "h"), std::invalid_argument);
  EXPECT_THROW(page.Gauge("a b", "h"), std::invalid_argument);
  EXPECT_NO_THROW(page.Gauge("_a:b_9", "h"));
}

TEST(MetricsPage, BadLabelNamesThrow) {
  MetricsPage page;
  page.Gauge("g", "h");
  EXPECT_THROW(page.Sample({{"a:b", "x"}}, 1), std::invalid_argument);
  EXPECT_THROW(page.Sample({{"9a", "x"}}, 1), std::invalid_argument);
  EXPECT_THROW(page.Sample({{"", "x"}}, 1), std::invalid_argument);
  EXPECT_THROW(page.Sample({{"__name__", "x"}}, 1), std::invalid_argument);
  EXPECT_THROW(page.Sample({{"a", "x"}, {"a", "y"}}, 1), std::invalid_argument);
  EXPECT_NO_THROW(page.Sample({{"_a9", "x"}}, 1));
}

TEST(MetricsPage, FamilyStartedTwiceThrows) {
  MetricsPage page;
  page.Gauge("g", "h");
  EXPECT_THROW(page.Gauge("g", "h"), std::invalid_argument);
}

TEST(MetricsPage, SampleOutsideAFamilyOfItsKindThrows) {
  MetricsPage page;
  EXPECT_THROW(page.Sample({}, 1), std::invalid_argument);
  page.Histogram("h", "x");
  EXPECT_THROW(page.Sample({}, 1), std::invalid_argument);
  page.Gauge("g", "x");
  const std::vector<double> bounds = {1};
  const std::vector<uint64_t> counts = {0, 0};
  EXPECT_THROW(page.HistogramSample({}, bounds, counts, 0), std::invalid_argument);
}

TEST(MetricsPage, MalformedHistogramSampleThrows) {
  MetricsPage page;
  page.Histogram("h", "x");
  const std::vector<double> bounds = {1, 2};
  const std::vector<double> descending = {2, 1};
  const std::vector<double> infinite = {1, std::numeric_limits<double>::infinity()};
  const std::vector<uint64_t> three = {0, 0, 0};
  const std::vector<uint64_t> two = {0, 0};
  EXPECT_THROW(page.HistogramSample({}, bounds, two, 0), std::invalid_argument);
  EXPECT_THROW(page.HistogramSample({}, descending, three, 0), std::invalid_argument);
  EXPECT_THROW(page.HistogramSample({}, infinite, three, 0), std::invalid_argument);
  EXPECT_THROW(page.HistogramSample({{"le", "1"}}, bounds, three, 0), std::invalid_argument);
}

TEST(MetricsHistogramData, ObservationsLandInTheFirstBucketAtOrAboveThem) {
  const std::vector<double> bounds = {1, 10};
  HistogramData data(bounds);
  data.Observe(0.2);
  data.Observe(1);  // le: a value equal to a bound is in that bucket
  data.Observe(5);
  data.Observe(11);
  data.Observe(std::nan(""));  // ignored
  HistogramSnapshot snapshot = data.Snapshot();
  EXPECT_EQ(snapshot.upper_bounds, bounds);
  EXPECT_EQ(snapshot.counts, (std::vector<uint64_t>{2, 1, 1}));
  EXPECT_DOUBLE_EQ(snapshot.sum, 17.2);
}

TEST(MetricsHistogramData, SnapshotWritesAsAHistogramSample) {
  const std::vector<double> bounds = {1};
  HistogramData data(bounds);
  data.Observe(3);
  MetricsPage page;
  page.Histogram("d", "x");
  page.HistogramSample({}, data.Snapshot());
  EXPECT_EQ(page.Text(),
            "# HELP d x\n"
            "# TYPE d histogram\n"
            "d_bucket{le=\"1\"} 0\n"
            "d_bucket{le=\"+Inf\"} 1\n"
            "d_sum 3\n"
            "d_count 1\n");
}

TEST(MetricsHistogramData, CountsEveryObservationFromManyThreads) {
  HistogramData data(kRunDurationBounds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&data] {
      for (int i = 0; i < 10000; ++i) data.Observe(2);
    });
  }
  for (std::thread& thread : threads) thread.join();
  HistogramSnapshot snapshot = data.Snapshot();
  EXPECT_EQ(snapshot.counts[1], 40000u);
  EXPECT_EQ(snapshot.sum, 80000);
}

TEST(MetricsHistogramData, UnorderedBoundsThrow) {
  const std::vector<double> bounds = {5, 5};
  EXPECT_THROW(HistogramData data(bounds), std::invalid_argument);
}

TEST(PrometheusText, ContentTypeIsVersion004) {
  EXPECT_EQ(MetricsPage::kContentType, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace freshet
