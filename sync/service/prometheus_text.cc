#include "sync/service/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace freshet {
namespace {

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsMetricName(std::string_view name) {
  if (name.empty() || IsDigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLetter(c) || IsDigit(c) || c == '_' || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and not "__..." (reserved for Prometheus itself).
bool IsLabelName(std::string_view name) {
  if (name.empty() || IsDigit(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLetter(c) || IsDigit(c) || c == '_'; });
}

void CheckLabels(std::string_view family, const MetricsPage::Labels& labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& name = labels[i].first;
    if (!IsLabelName(name)) {
      throw std::invalid_argument("Prometheus label name \"" + name + "\" of " +
                                  std::string(family) + " is invalid");
    }
    for (size_t j = 0; j < i; ++j) {
      if (labels[j].first == name) {
        throw std::invalid_argument("Prometheus label \"" + name + "\" repeated in a sample of " +
                                    std::string(family));
      }
    }
  }
}

void CheckBounds(std::string_view what, std::span<const double> upper_bounds) {
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) || (i > 0 && !(upper_bounds[i - 1] < upper_bounds[i]))) {
      throw std::invalid_argument("histogram bounds of " + std::string(what) +
                                  " must be finite and strictly ascending");
    }
  }
}

// HELP text: backslash and line feed.
void AppendEscapedHelp(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Label values: backslash, double quote and line feed.
void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string MetricsPage::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return "0";  // and not "-0"
  char buffer[64];
  // Integral values that a double holds exactly: all digits, no exponent.
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  std::to_chars_result result =
      std::trunc(value) == value && std::fabs(value) < kExactIntegers
          ? std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed)
          : std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round trip
  return std::string(buffer, result.ptr);
}

void MetricsPage::Counter(std::string_view name, std::string_view help) {
  if (!name.ends_with("_total")) {
    throw std::invalid_argument("Prometheus counter " + std::string(name) +
                                " must be named ..._total");
  }
  StartFamily(name, help, Type::kCounter);
}

void MetricsPage::Gauge(std::string_view name, std::string_view help) {
  StartFamily(name, help, Type::kGauge);
}

void MetricsPage::Histogram(std::string_view name, std::string_view help) {
  StartFamily(name, help, Type::kHistogram);
}

void MetricsPage::StartFamily(std::string_view name, std::string_view help, Type type) {
  if (!IsMetricName(name)) {
    throw std::invalid_argument("Prometheus metric name \"" + std::string(name) + "\" is invalid");
  }
  if (!family_names_.emplace(name).second) {
    throw std::invalid_argument("Prometheus metric " + std::string(name) + " started twice");
  }
  family_ = name;
  type_ = type;
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  AppendEscapedHelp(text_, help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type == Type::kCounter ? "counter" : type == Type::kHistogram ? "histogram" : "gauge";
  text_ += '\n';
}

void MetricsPage::Sample(const Labels& labels, double value) {
  AddSample(labels, FormatValue(value));
}

void MetricsPage::AddSample(const Labels& labels, const std::string& value_text) {
  if (type_ != Type::kCounter && type_ != Type::kGauge) {
    throw std::invalid_argument("Prometheus sample outside a counter or gauge family (current: \"" +
                                family_ + "\")");
  }
  CheckLabels(family_, labels);
  AppendLine(family_, labels, {}, value_text);
}

void MetricsPage::HistogramSample(const Labels& labels, std::span<const double> upper_bounds,
                                  std::span<const uint64_t> bucket_counts, double sum) {
  if (type_ != Type::kHistogram) {
    throw std::invalid_argument(
        "Prometheus histogram sample outside a histogram family (current: \"" + family_ + "\")");
  }
  CheckLabels(family_, labels);
  for (const auto& [name, value] : labels) {
    if (name == "le") {
      throw std::invalid_argument("Prometheus histogram " + family_ + " given its own le label");
    }
  }
  CheckBounds(family_, upper_bounds);
  if (bucket_counts.size() != upper_bounds.size() + 1) {
    throw std::invalid_argument("Prometheus histogram " + family_ + " given " +
                                std::to_string(bucket_counts.size()) + " bucket counts for " +
                                std::to_string(upper_bounds.size()) + " bounds (needs one more)");
  }
  const std::string bucket = family_ + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    cumulative += bucket_counts[i];
    AppendLine(bucket, labels, FormatValue(upper_bounds[i]), std::to_string(cumulative));
  }
  cumulative += bucket_counts.back();
  AppendLine(bucket, labels, "+Inf", std::to_string(cumulative));
  AppendLine(family_ + "_sum", labels, {}, FormatValue(sum));
  AppendLine(family_ + "_count", labels, {}, std::to_string(cumulative));
}

void MetricsPage::AppendLine(std::string_view name, const Labels& labels, std::string_view le,
                             std::string_view value_text) {
  text_ += name;
  if (!labels.empty() || !le.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, value] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_ += label;
      text_ += "=\"";
      AppendEscapedLabelValue(text_, value);
      text_ += '"';
    }
    if (!le.empty()) {
      if (!first) text_ += ',';
      text_ += "le=\"";
      text_ += le;
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += value_text;
  text_ += '\n';
}

HistogramData::HistogramData(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds.begin(), upper_bounds.end()), counts_(upper_bounds.size() + 1) {
  CheckBounds("HistogramData", upper_bounds);
}

void HistogramData::Observe(double value) {
  if (std::isnan(value)) return;
  size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
}

HistogramSnapshot HistogramData::Snapshot() const {
  std::lock_guard lock(mutex_);
  return HistogramSnapshot{upper_bounds_, counts_, sum_};
}

}  // namespace freshet
