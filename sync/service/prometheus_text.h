// The Prometheus text exposition format, version 0.0.4: what `freshet serve`
// answers on /metrics. MetricsPage builds one page from families of counters,
// gauges and histograms; HistogramData accumulates observations (run
// durations) for a histogram series. Both are pure: no I/O, no registry.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace freshet {

// Upper bounds, in seconds, for histograms of run durations: one second to
// four hours.
inline constexpr std::array<double, 12> kRunDurationBounds = {1,   5,   15,   30,   60,   120,
                                                              300, 600, 1800, 3600, 7200, 14400};

// What a histogram series holds at one moment.
struct HistogramSnapshot {
  std::vector<double> upper_bounds;  // ascending, finite; +Inf is implied
  // Per bucket, not cumulative: counts[i] is the observations in
  // (upper_bounds[i-1], upper_bounds[i]]; the last one (size = bounds + 1)
  // counts those above every bound.
  std::vector<uint64_t> counts;
  double sum = 0;
};

// Builds one /metrics page. Start a family with Counter, Gauge or Histogram,
// then add its samples; families are written in the order they are started,
// each with its # HELP and # TYPE lines once, before its samples.
//
// Escaping follows the format: label values escape backslash, double quote and
// line feed; HELP text escapes backslash and line feed. Metric names must match
// [a-zA-Z_:][a-zA-Z0-9_:]* and label names [a-zA-Z_][a-zA-Z0-9_]* (not starting
// with "__", reserved); a bad name, a second family of the same name, a sample
// outside a family of its kind, a repeated label or a malformed histogram is a
// programming error and throws std::invalid_argument.
//
// Values: integer arguments are printed exactly, doubles with the fewest digits
// that read back to the same double (integral doubles below 2^53 without
// exponent or point), and infinities and NaN as "+Inf", "-Inf" and "NaN".
//
// Not thread-safe: build a page on one thread (it is cheap; build a new one per
// scrape).
class MetricsPage {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // Starts a family of type counter; its name must end in "_total".
  void Counter(std::string_view name, std::string_view help);
  void Gauge(std::string_view name, std::string_view help);
  void Histogram(std::string_view name, std::string_view help);

  // One sample of the current counter or gauge family.
  void Sample(const Labels& labels, double value);
  template <std::integral T>
  requires(!std::same_as<T, bool>) void Sample(const Labels& labels, T value) {
    AddSample(labels, std::to_string(value));
  }

  // A whole series of the current histogram family: a _bucket line for each
  // bound (counts made cumulative) and one with le="+Inf", then _sum and
  // _count. `upper_bounds` ascending and finite; `bucket_counts` per bucket, not
  // cumulative, one more than the bounds (the last counts observations above
  // every bound). `labels` must not contain "le".
  void HistogramSample(const Labels& labels, std::span<const double> upper_bounds,
                       std::span<const uint64_t> bucket_counts, double sum);
  void HistogramSample(const Labels& labels, const HistogramSnapshot& snapshot) {
    HistogramSample(labels, snapshot.upper_bounds, snapshot.counts, snapshot.sum);
  }

  // The page; every line ends with a line feed (an empty page is empty).
  const std::string& Text() const { return text_; }

  // A value as the format spells it (exposed for tests and callers that
  // write label values of numbers).
  static std::string FormatValue(double value);

 private:
  enum class Type { kNone, kCounter, kGauge, kHistogram };

  void StartFamily(std::string_view name, std::string_view help, Type type);
  void AddSample(const Labels& labels, const std::string& value_text);
  // Appends `name{labels[,le="<le>"]} value\n`.
  void AppendLine(std::string_view name, const Labels& labels, std::string_view le,
                  std::string_view value_text);

  std::string text_;
  std::set<std::string, std::less<>> family_names_;
  std::string family_;  // the current family's name
  Type type_ = Type::kNone;
};

// Accumulates observations for one histogram series. Thread-safe: Observe and
// Snapshot may be called from any thread.
class HistogramData {
 public:
  // `upper_bounds` ascending and finite, else std::invalid_argument.
  explicit HistogramData(std::span<const double> upper_bounds);
  HistogramData(const HistogramData&) = delete;
  HistogramData& operator=(const HistogramData&) = delete;

  // Counts `value` in the first bucket whose bound is >= value (or the last,
  // above every bound) and adds it to the sum. NaN is ignored.
  void Observe(double value);
  HistogramSnapshot Snapshot() const;

 private:
  const std::vector<double> upper_bounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> counts_;  // guarded by mutex_
  double sum_ = 0;                // guarded by mutex_
};

}  // namespace freshet
