// Fault-injection hooks for the integration tests that kill, cut off or race
// a run half-way. Each reads environment variables that are unset in use, so
// it costs a getenv (once) and does nothing.
#pragma once

#include <chrono>
#include <cstdlib>
#include <stop_token>
#include <string_view>
#include <thread>

namespace freshet {

// FRESHET_TEST_UNIT_DELAY_MS=N: how long to sleep after each COPY stream of a
// sync, a capture or a restore (to slow a run down under load, not to time
// an action: tests that act mid-run use TestPause).
inline std::chrono::milliseconds TestUnitDelay() {
  const char* value = std::getenv("FRESHET_TEST_UNIT_DELAY_MS");
  return std::chrono::milliseconds(value ? std::atoi(value) : 0);
}

// FRESHET_TEST_REBUILD_DELAY_MS=N: sleeps N ms before each index rebuild.
inline void TestRebuildDelay() {
  if (const char* value = std::getenv("FRESHET_TEST_REBUILD_DELAY_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(value)));
}

// FRESHET_TEST_ROW_DIFF_LIMIT=N: the rows a diff-mode table may hold per
// side in memory before it falls back to buckets (`fallback` otherwise).
inline size_t TestRowDiffLimit(size_t fallback) {
  const char* value = std::getenv("FRESHET_TEST_ROW_DIFF_LIMIT");
  return value ? static_cast<size_t>(std::atoll(value)) : fallback;
}
// FRESHET_TEST_SLICE_DELETES=1: an incremental run collects every table's
// deleted keys in as many slices as it has jobs, one differing bucket and
// up, however small the table.
inline bool TestSliceDeletes() {
  const char* value = std::getenv("FRESHET_TEST_SLICE_DELETES");
  return value && std::string_view(value) == "1";
}

// A named point where a test can stop a run and act before letting it go on.
// With FRESHET_TEST_PAUSE_DIR=DIR and FRESHET_TEST_PAUSE_AT=POINT[#N], the
// N-th time (default: the first) a thread reaches a point whose name starts
// with POINT, it writes the point's full name into DIR/paused, then blocks
// until DIR/release exists or `stop` is requested; other threads go on. The
// task graph calls it with "start <task>" before each task and "done <task>"
// after each one that succeeded ("done copy public.deals", "start index
// deals_pkey on public.deals"). Thread-safe; one pause per run.
void TestPause(std::string_view point, std::stop_token stop = {});

}  // namespace freshet
