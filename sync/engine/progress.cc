#include "sync/engine/progress.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <deque>

#include "copy/error.h"

namespace freshet {
namespace {

using Clock = Progress::Clock;

constexpr double kMaxUnfinished = 0.99;  // never claim 100% before everything is done
constexpr auto kRateWindow = std::chrono::seconds(15);
constexpr size_t kShownItems = 3;
constexpr double kMinRateWindow = 0.25;  // seconds

int64_t Nanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// "950", "12.3k", "1.2M", "3.4B".
std::string Human(double value) {
  static constexpr const char* kUnits[] = {"", "k", "M", "B", "T"};
  size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && value >= 999.95) {
    value /= 1000;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f}", value);
  return fmt::format("{:.{}f}{}", value, value < 99.95 ? 1 : 0, kUnits[unit]);
}

std::string Megabytes(double bytes) {
  double mb = bytes / 1e6;
  return fmt::format("{:.{}f}", mb, mb < 9.95 ? 1 : 0);
}

std::string Duration(double seconds) {
  auto total = static_cast<int64_t>(seconds + 0.5);
  int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  if (h > 0) return fmt::format("{}:{:02}:{:02}", h, m, s);
  return fmt::format("{}:{:02}", m, s);
}

}  // namespace

struct Progress::State {
  explicit State(size_t n) : counters(n), started(n), done(n), start_ns(n) {}

  // std::deque never relocates its elements: counters stay where relays found them.
  std::deque<StreamCounters> counters;
  std::deque<std::atomic<bool>> started;
  std::deque<std::atomic<bool>> done;
  std::deque<std::atomic<int64_t>> start_ns;  // steady clock; 0 until started

  // Recent (time, fraction, bytes) samples for the current rate and the ETA.
  struct Sample {
    Clock::time_point at;
    double fraction;
    uint64_t bytes;
  };
  std::mutex samples_mutex;
  std::deque<Sample> samples;
};

Progress::Progress(std::vector<Item> items, const RunLog& log, std::chrono::milliseconds tick,
                   std::function<Clock::time_point()> now)
    : items_(std::move(items)),
      state_(std::make_unique<State>(items_.size())),
      log_(log),
      tick_(std::max(tick, std::chrono::milliseconds(1))),
      now_(std::move(now)),
      started_(now_()) {}

Progress::~Progress() { Stop(); }

StreamCounters& Progress::Counters(size_t index) {
  if (index >= items_.size())
    throw Error(fmt::format("progress item {} out of range ({} items)", index, items_.size()));
  return state_->counters[index];
}

bool Progress::MarkStarted(size_t index) {
  if (index >= items_.size()) return false;
  int64_t unset = 0;
  bool first = state_->start_ns[index].compare_exchange_strong(unset, Nanos(now_()));
  state_->started[index] = true;
  return first;
}

void Progress::MarkDone(size_t index) {
  if (index >= items_.size()) return;
  MarkStarted(index);
  state_->done[index] = true;
}

void Progress::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    do {
      lock.unlock();
      log_.observer().Progressed(Status());
      lock.lock();
    } while (!wake_.wait_for(lock, tick_, [this] { return stopping_; }));
  });
}

void Progress::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  thread_.join();
  log_.observer().ProgressEnded();
}

ProgressStatus Progress::Status() const {
  const State& state = *state_;
  const size_t n = items_.size();
  ProgressStatus status;
  double rows_done_capped = 0;  // per item: at most its estimate, the estimate when done
  size_t done = 0;
  for (size_t i = 0; i < n; ++i) {
    ProgressStatus::Table table{items_[i].name,
                                state.counters[i].messages.load(std::memory_order_relaxed),
                                std::max<int64_t>(items_[i].estimated_rows, 0),
                                state.counters[i].bytes.load(std::memory_order_relaxed),
                                state.started[i].load(),
                                state.done[i].load()};
    status.rows += table.rows;
    status.bytes += table.bytes;
    status.estimated_rows += table.estimated_rows;
    done += table.done;
    rows_done_capped +=
        table.done ? table.estimated_rows : std::min<double>(table.rows, table.estimated_rows);
    status.tables.push_back(std::move(table));
  }
  const bool all_done = done == n;

  // Estimates can be 0 (never analyzed) or wrong: the rows-based fraction is
  // capped per item, and never less than the share of items finished.
  double fraction = n == 0 ? 1.0 : static_cast<double>(done) / n;
  if (status.estimated_rows > 0)
    fraction = std::max(fraction, rows_done_capped / status.estimated_rows);
  status.fraction = all_done ? 1.0 : std::min(fraction, kMaxUnfinished);
  Rates(status, all_done);
  status.line = Line(status);
  return status;
}

// Rate and ETA over a sliding window of samples; early on, since the first
// item started (or since construction).
void Progress::Rates(ProgressStatus& status, bool all_done) const {
  auto now = now_();
  auto origin = started_;
  for (size_t i = 0; i < items_.size(); ++i) {
    int64_t ns = state_->start_ns[i].load();
    if (ns != 0) origin = std::min(origin, Clock::time_point(std::chrono::nanoseconds(ns)));
  }
  State::Sample base{origin, 0.0, 0};
  {
    std::lock_guard lock(state_->samples_mutex);
    auto& samples = state_->samples;
    samples.push_back({now, status.fraction, status.bytes});
    while (samples.size() > 2 && now - samples[1].at >= kRateWindow) samples.pop_front();
    if (samples.size() > 1 && now - samples.front().at >= std::chrono::seconds(1))
      base = samples.front();
  }
  // Over a shorter window a rate means nothing.
  double window = std::chrono::duration<double>(now - base.at).count();
  bool measurable = window >= kMinRateWindow;
  if (measurable && status.bytes >= base.bytes)
    status.bytes_per_second = (status.bytes - base.bytes) / window;
  double fraction_rate = measurable ? (status.fraction - base.fraction) / window : 0;
  if (all_done)
    status.eta_seconds = 0;
  else if (status.fraction > 0 && fraction_rate > 0)
    status.eta_seconds = (1.0 - status.fraction) / fraction_rate;
}

// "42% 1.2M/2.9M rows 310 MB 55 MB/s ETA 0:08 | copying public.deals 61%, ..."
std::string Progress::Line(const ProgressStatus& status) const {
  std::string line = fmt::format("{:.0f}% ", status.fraction * 100);
  line += status.estimated_rows > 0
              ? fmt::format("{}/{} rows", Human(status.rows), Human(status.estimated_rows))
              : fmt::format("{} rows", Human(status.rows));
  line += fmt::format(" {} MB {} MB/s ETA {}", Megabytes(status.bytes),
                      status.bytes_per_second ? Megabytes(*status.bytes_per_second) : "--",
                      status.eta_seconds ? Duration(*status.eta_seconds) : "--");
  // Items in flight, longest running first.
  std::vector<size_t> running;
  for (size_t i = 0; i < status.tables.size(); ++i)
    if (status.tables[i].started && !status.tables[i].done) running.push_back(i);
  std::stable_sort(running.begin(), running.end(), [&](size_t a, size_t b) {
    return state_->start_ns[a].load() < state_->start_ns[b].load();
  });
  std::vector<std::string> shown;
  for (size_t i : running) {
    if (shown.size() == kShownItems) break;
    const ProgressStatus::Table& table = status.tables[i];
    if (table.estimated_rows > 0)
      shown.push_back(fmt::format(
          "{} {:.0f}%", table.name,
          std::min(static_cast<double>(table.rows) / table.estimated_rows, kMaxUnfinished) * 100));
    else
      shown.push_back(fmt::format("{} {} rows", table.name, Human(table.rows)));
  }
  if (!shown.empty()) {
    line += fmt::format(" | copying {}", fmt::join(shown, ", "));
    if (running.size() > shown.size())
      line += fmt::format(", +{} more", running.size() - shown.size());
  }
  return line;
}

}  // namespace freshet
