// Live progress of a run: rows and bytes done against the estimate, per table
// and overall, with an ETA. Once started, it tells the run's observer where
// the load stands (RunObserver::Progressed) every `tick`, and
// ProgressEnded when stopped; the observers draw it (the CLI's terminal line
// or log lines, sync/cli/terminal_progress.h; a service's API).
// Thread-safe: workers advance StreamCounters (atomics); one internal thread
// reads them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "copy/copy_relay.h"
#include "sync/engine/run_observer.h"

namespace freshet {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  struct Item {
    std::string name;  // table name shown to the user
    int64_t estimated_rows = 0;
    int64_t estimated_bytes = 0;  // on-disk size: only a rough guide to stream bytes
  };

  // Tells `log`'s observer every `tick` (real time). `now` is the clock that
  // times rates and the ETA, called from any thread (tests pass their own;
  // its readings must lie after the clock's epoch).
  explicit Progress(std::vector<Item> items, const RunLog& log = DefaultLog(),
                    std::chrono::milliseconds tick = std::chrono::seconds(1),
                    std::function<Clock::time_point()> now = Clock::now);
  ~Progress();  // stops the reporting thread
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Counters of item `index`; stable for the Progress's lifetime. A relay may
  // add to them from any thread.
  StreamCounters& Counters(size_t index);
  // True the first time `index` is marked started.
  bool MarkStarted(size_t index);
  void MarkDone(size_t index);

  void Start();  // starts the reporting thread: a first status at once
  void Stop();   // stops it and tells ProgressEnded; idempotent

  // Where the load stands now (see ProgressStatus).
  ProgressStatus Status() const;
  // Status().line, e.g.
  // "42% 1.2M/2.9M rows 310/740 MB 55 MB/s ETA 0:08 | copying public.deals 61%, ..."
  std::string StatusLine() const { return Status().line; }

 private:
  struct State;
  void Rates(ProgressStatus& status, bool all_done) const;
  std::string Line(const ProgressStatus& status) const;
  std::vector<Item> items_;
  std::unique_ptr<State> state_;
  RunLog log_;
  std::chrono::milliseconds tick_;
  std::function<Clock::time_point()> now_;
  Clock::time_point started_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace freshet
