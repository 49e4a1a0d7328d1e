// The names of incremental sync's modes and delete policies, as written in
// the config, on the command line and in plans and reports.
#include "sync/engine/incremental_mode.h"

#include <fmt/format.h>

#include "copy/error.h"

namespace freshet {

const char* SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kWatermark:
      return "watermark";
    case SyncMode::kDiff:
      return "diff";
    case SyncMode::kFull:
      return "full";
  }
  return "full";
}

SyncMode ParseSyncMode(const std::string& text, const std::string& origin) {
  if (text == "watermark") return SyncMode::kWatermark;
  if (text == "diff") return SyncMode::kDiff;
  if (text == "full") return SyncMode::kFull;
  throw Error(
      ErrorKind::kUsage,
      fmt::format("{} must be \"watermark\", \"diff\" or \"full\", not \"{}\"", origin, text));
}

DeletePolicy ParseDeletePolicy(const std::string& text, const std::string& origin) {
  if (text == "propagate") return DeletePolicy::kPropagate;
  if (text == "ignore") return DeletePolicy::kIgnore;
  throw Error(ErrorKind::kUsage,
              fmt::format("{} must be \"propagate\" or \"ignore\", not \"{}\"", origin, text));
}

}  // namespace freshet
