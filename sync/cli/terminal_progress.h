// The CLI's view of a run's progress (RunObserver::Progressed): on a
// terminal, one line on stderr redrawn at each status and cleared when the
// load ends; otherwise a "progress: ..." log line every `log_interval`, the
// first a full interval after the load starts.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>

#include "sync/engine/run_observer.h"

namespace freshet {

class TerminalProgress final : public RunObserver {
 public:
  using Clock = std::chrono::steady_clock;

  // Interactive: draws on `terminal` (stderr), cut to its width. Otherwise
  // logs through `log`. `now` is the clock (tests pass their own).
  TerminalProgress(bool interactive, RunObserver& log,
                   std::chrono::seconds log_interval = std::chrono::seconds(10),
                   std::FILE* terminal = stderr,
                   std::function<Clock::time_point()> now = Clock::now);

  void Log(LogLevel, std::string_view) override {}
  void Progressed(const ProgressStatus& status) override;
  void ProgressEnded() override;

 private:
  bool interactive_;
  RunObserver& log_;
  std::chrono::seconds log_interval_;
  std::FILE* terminal_;
  std::function<Clock::time_point()> now_;
  size_t columns_ = 0;  // of the terminal; 0: unknown
  std::mutex mutex_;
  bool drawn_ = false;
  std::optional<Clock::time_point> last_logged_;  // or the load's start
};

// `line` cut to `columns` code points (0: as it is): a line that wraps
// cannot be redrawn.
std::string FitToColumns(std::string line, size_t columns);

}  // namespace freshet
