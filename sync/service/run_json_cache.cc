#include "sync/service/run_json_cache.h"

#include "sync/service/run_json.h"

namespace freshet {
namespace {

constexpr size_t kMostEntries = 256;  // live runs are few; a bound all the same

std::string Made(const RunManager::LiveRun& run, RunJsonCache::Style style) {
  nlohmann::json json = RunJson(run.record, run.watch);
  return style == RunJsonCache::Style::kCompact ? DumpJson(json) : DumpJson(json, 2) + "\n";
}

}  // namespace

std::string RunJsonCache::Text(const RunManager::LiveRun& run, Style style) {
  std::lock_guard lock(mutex_);
  if (!run.watch || IsFinished(run.record.state)) {
    entries_.erase(run.record.id);
    return Made(run, style);
  }
  int64_t second = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto found = entries_.find(run.record.id);
  if (found == entries_.end() || found->second.state != run.record.state ||
      found->second.version != run.watch->version || found->second.second != second) {
    if (found == entries_.end() && entries_.size() >= kMostEntries) entries_.clear();
    found = entries_
                .insert_or_assign(run.record.id,
                                  Entry{run.record.state, run.watch->version, second, {}, {}})
                .first;
  }
  std::string& text = style == Style::kCompact ? found->second.compact : found->second.indented;
  if (text.empty()) text = Made(run, style);
  return text;
}

}  // namespace freshet
