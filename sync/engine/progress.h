// Live progress of a run: rows and bytes done against the estimate, per table
// and overall, with an ETA. On a terminal a single line on stderr is redrawn
// about once a second; otherwise an spdlog info line every `log_interval`.
// Thread-safe: workers advance StreamCounters (atomics); one internal thread
// reads them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
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
  struct Item {
    std::string name;  // table name shown to the user
    int64_t estimated_rows = 0;
    int64_t estimated_bytes = 0;  // on-disk size: only a rough guide to stream bytes
  };

  // `interactive`: redraw one line (stderr is a terminal) instead of logging.
  // Log lines (when not interactive) go to `log`.
  Progress(std::vector<Item> items, bool interactive,
           std::chrono::seconds log_interval = std::chrono::seconds(10),
           const RunLog& log = DefaultLog());
  ~Progress();  // stops the reporting thread
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Counters of item `index`; stable for the Progress's lifetime. A relay may
  // add to them from any thread.
  StreamCounters& Counters(size_t index);
  // True the first time `index` is marked started.
  bool MarkStarted(size_t index);
  void MarkDone(size_t index);

  void Start();  // starts the reporting thread
  void Stop();   // stops it and clears the live line; idempotent

  // The current status line, e.g.
  // "42% 1.2M/2.9M rows 310/740 MB 55 MB/s ETA 0:08 | copying public.deals 61%, ..."
  std::string StatusLine() const;

 private:
  struct State;
  std::vector<Item> items_;
  std::unique_ptr<State> state_;
  bool interactive_;
  RunLog log_;
  std::chrono::seconds log_interval_;
  std::chrono::steady_clock::time_point started_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace freshet
