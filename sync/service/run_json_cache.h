// The JSON text of live runs, made once per change: a hundred clients
// polling one run (GET /v1/runs/{id}, its event stream) get the same bytes
// until the run's watch moves or its state changes, and at least once a
// second (its `seconds` so far). Finished runs are not cached.
//
// Not thread-safe: the API's I/O thread owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "sync/service/run_manager.h"

namespace freshet {

class RunJsonCache {
 public:
  enum class Style { kCompact, kIndented };

  // RunJson(run) as text in `style` (kIndented ends with a newline).
  const std::string& Text(const RunManager::LiveRun& run, Style style);

 private:
  struct Entry {
    RunState state = RunState::kQueued;
    uint64_t version = 0;
    int64_t second = 0;  // of the system clock when it was made
    std::string compact, indented;
  };
  std::map<int64_t, Entry> entries_;
  std::string uncached_;
};

}  // namespace freshet
