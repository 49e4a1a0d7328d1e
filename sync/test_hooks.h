// Fault-injection hooks for the integration tests that kill, cut off or race
// a run half-way. Both read an environment variable that is unset in use, so
// they cost a getenv per call and do nothing.
#pragma once

#include <chrono>
#include <cstdlib>
#include <thread>

namespace freshet {

// FRESHET_TEST_UNIT_DELAY_MS=N: how long to sleep after each COPY stream of a
// sync, a capture or a restore.
inline std::chrono::milliseconds TestUnitDelay() {
  const char* value = std::getenv("FRESHET_TEST_UNIT_DELAY_MS");
  return std::chrono::milliseconds(value ? std::atoi(value) : 0);
}

// FRESHET_TEST_REBUILD_DELAY_MS=N: sleeps N ms before each index rebuild.
inline void TestRebuildDelay() {
  if (const char* value = std::getenv("FRESHET_TEST_REBUILD_DELAY_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(value)));
}

}  // namespace freshet
