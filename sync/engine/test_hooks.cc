#include "sync/engine/test_hooks.h"

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

namespace freshet {
namespace {

struct PauseSetting {
  std::filesystem::path dir;
  std::string prefix;
  int occurrence = 1;
  bool enabled = false;
};

PauseSetting ReadSetting() {
  PauseSetting setting;
  const char* dir = std::getenv("FRESHET_TEST_PAUSE_DIR");
  const char* at = std::getenv("FRESHET_TEST_PAUSE_AT");
  if (!dir || !at || !*at) return setting;
  setting.dir = dir;
  setting.prefix = at;
  if (size_t hash = setting.prefix.rfind('#'); hash != std::string::npos) {
    setting.occurrence = std::max(1, std::atoi(setting.prefix.c_str() + hash + 1));
    setting.prefix.resize(hash);
  }
  setting.enabled = true;
  return setting;
}

}  // namespace

void TestPause(std::string_view point, std::stop_token stop) {
  static const PauseSetting setting = ReadSetting();
  if (!setting.enabled || !point.starts_with(setting.prefix)) return;
  static std::mutex mutex;
  static int seen = 0;
  {
    std::lock_guard lock(mutex);
    if (++seen != setting.occurrence) return;
  }
  {
    std::ofstream paused(setting.dir / "paused.tmp");
    paused << point;
  }
  std::filesystem::rename(setting.dir / "paused.tmp", setting.dir / "paused");
  while (!std::filesystem::exists(setting.dir / "release") && !stop.stop_requested())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace freshet
