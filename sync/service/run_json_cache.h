// The JSON text of live runs, made once per change: a hundred clients
// polling one run (GET /v1/runs/{id}, its event stream) get the same bytes
// until the run's watch moves or its state changes, and at least once a
// second (its `seconds` so far). Finished runs are not cached.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "sync/service/run_manager.h"

namespace freshet {

class RunJsonCache {
 public:
  enum class Style { kCompact, kIndented };

  // RunJson(run) as text in `style` (kIndented ends with a newline).
  std::string Text(const RunManager::LiveRun& run, Style style);

 private:
  struct Entry {
    RunState state = RunState::kQueued;
    uint64_t version = 0;
    int64_t second = 0;  // of the system clock when it was made
    std::string compact, indented;
  };
  std::mutex mutex_;
  std::map<int64_t, Entry> entries_;
};

}  // namespace freshet
