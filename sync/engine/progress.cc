#include "sync/engine/progress.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>

#include "copy/error.h"

namespace freshet {
namespace {

using Clock = std::chrono::steady_clock;

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

// Terminal columns of stderr, or 0 when unknown.
size_t TerminalWidth() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0) return size.ws_col;
  return 0;
}

// Cuts `line` to `columns` code points (a wrapped line cannot be redrawn).
std::string Fit(std::string line, size_t columns) {
  if (columns == 0) return line;
  size_t seen = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
    if (seen++ == columns) {
      line.resize(i);
      break;
    }
  }
  return line;
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

Progress::Progress(std::vector<Item> items, bool interactive, std::chrono::seconds log_interval,
                   const RunLog& log)
    : items_(std::move(items)),
      state_(std::make_unique<State>(items_.size())),
      interactive_(interactive),
      log_(log),
      log_interval_(std::max(log_interval, std::chrono::seconds(1))),
      started_(Clock::now()) {}

Progress::~Progress() { Stop(); }

StreamCounters& Progress::Counters(size_t index) {
  if (index >= items_.size())
    throw Error(fmt::format("progress item {} out of range ({} items)", index, items_.size()));
  return state_->counters[index];
}

bool Progress::MarkStarted(size_t index) {
  if (index >= items_.size()) return false;
  int64_t unset = 0;
  bool first = state_->start_ns[index].compare_exchange_strong(unset, Nanos(Clock::now()));
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
    const auto interval = interactive_ ? std::chrono::seconds(1) : log_interval_;
    const size_t columns = interactive_ ? TerminalWidth() : 0;
    std::unique_lock lock(mutex_);
    bool first = true;
    while (!stopping_) {
      // A terminal gets a line at once; a log waits a full interval.
      if (!(interactive_ && first) && wake_.wait_for(lock, interval, [this] { return stopping_; }))
        break;
      first = false;
      lock.unlock();
      std::string line = StatusLine();
      if (interactive_) {
        fmt::print(stderr, "\r{}\x1b[K", Fit(line, columns > 1 ? columns - 1 : 0));
        std::fflush(stderr);
      } else {
        log_.Info("progress: {}", line);
      }
      lock.lock();
    }
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
  if (interactive_) {
    fmt::print(stderr, "\r\x1b[K");
    std::fflush(stderr);
  }
}

std::string Progress::StatusLine() const {
  const State& state = *state_;
  const size_t n = items_.size();
  uint64_t rows = 0, bytes = 0;
  int64_t estimated_rows = 0;
  double rows_done_capped = 0;  // per item: at most its estimate, the estimate when done
  size_t done = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t messages = state.counters[i].messages.load(std::memory_order_relaxed);
    rows += messages;
    bytes += state.counters[i].bytes.load(std::memory_order_relaxed);
    int64_t estimate = std::max<int64_t>(items_[i].estimated_rows, 0);
    estimated_rows += estimate;
    bool finished = state.done[i].load();
    done += finished;
    rows_done_capped += finished ? estimate : std::min<double>(messages, estimate);
  }
  const bool all_done = done == n;

  // Estimates can be 0 (never analyzed) or wrong: the rows-based fraction is
  // capped per item, and never less than the share of items finished.
  double fraction = n == 0 ? 1.0 : static_cast<double>(done) / n;
  if (estimated_rows > 0) fraction = std::max(fraction, rows_done_capped / estimated_rows);
  fraction = all_done ? 1.0 : std::min(fraction, kMaxUnfinished);

  // Rate and ETA over a sliding window of samples; early on, since the first
  // item started (or since construction).
  auto now = Clock::now();
  auto origin = started_;
  for (size_t i = 0; i < n; ++i) {
    int64_t ns = state.start_ns[i].load();
    if (ns != 0) origin = std::min(origin, Clock::time_point(std::chrono::nanoseconds(ns)));
  }
  State::Sample base{origin, 0.0, 0};
  {
    std::lock_guard lock(state_->samples_mutex);
    auto& samples = state_->samples;
    samples.push_back({now, fraction, bytes});
    while (samples.size() > 2 && now - samples[1].at >= kRateWindow) samples.pop_front();
    if (samples.size() > 1 && now - samples.front().at >= std::chrono::seconds(1))
      base = samples.front();
  }
  // Over a shorter window a rate means nothing: show "--" instead.
  double window = std::chrono::duration<double>(now - base.at).count();
  bool measurable = window >= kMinRateWindow;
  std::string rate = "--";
  if (measurable && bytes >= base.bytes) rate = Megabytes((bytes - base.bytes) / window);
  double fraction_rate = measurable ? (fraction - base.fraction) / window : 0;
  std::string eta = "--";
  if (all_done)
    eta = "0:00";
  else if (fraction > 0 && fraction_rate > 0)
    eta = Duration((1.0 - fraction) / fraction_rate);

  std::string line = fmt::format("{:.0f}% ", fraction * 100);
  line += estimated_rows > 0 ? fmt::format("{}/{} rows", Human(rows), Human(estimated_rows))
                             : fmt::format("{} rows", Human(rows));
  line += fmt::format(" {} MB {} MB/s ETA {}", Megabytes(bytes), rate, eta);

  // Items in flight, longest running first.
  std::vector<size_t> running;
  for (size_t i = 0; i < n; ++i)
    if (state.started[i].load() && !state.done[i].load()) running.push_back(i);
  std::stable_sort(running.begin(), running.end(), [&](size_t a, size_t b) {
    return state.start_ns[a].load() < state.start_ns[b].load();
  });
  std::vector<std::string> shown;
  for (size_t i : running) {
    if (shown.size() == kShownItems) break;
    uint64_t messages = state.counters[i].messages.load(std::memory_order_relaxed);
    int64_t estimate = items_[i].estimated_rows;
    if (estimate > 0)
      shown.push_back(
          fmt::format("{} {:.0f}%", items_[i].name,
                      std::min(static_cast<double>(messages) / estimate, kMaxUnfinished) * 100));
    else
      shown.push_back(fmt::format("{} {} rows", items_[i].name, Human(messages)));
  }
  if (!shown.empty()) {
    line += fmt::format(" | copying {}", fmt::join(shown, ", "));
    if (running.size() > shown.size())
      line += fmt::format(", +{} more", running.size() - shown.size());
  }
  return line;
}

}  // namespace freshet
