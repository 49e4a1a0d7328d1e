#include "sync/service/run_watch.h"

#include <chrono>

#include "copy/conninfo.h"

namespace freshet {
namespace {

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

spdlog::level::level_enum SpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

RunWatch::RunWatch(int64_t run_id, std::string job, RunStore& store,
                   std::shared_ptr<spdlog::logger> log, std::function<void()> changed)
    : run_id_(run_id),
      job_(std::move(job)),
      store_(store),
      log_(std::move(log)),
      changed_(std::move(changed)) {}

void RunWatch::Log(LogLevel level, std::string_view message) {
  std::string text = RedactSecrets(std::string(message));
  if (level != LogLevel::kDebug) {
    try {
      store_.AppendLog(run_id_, {IsoTime(std::chrono::system_clock::now()),
                                 std::string(LevelName(level)), text});
    } catch (const std::exception& error) {  // the run goes on; the service log says why
      if (log_) log_->warn("run {}: cannot store a log line: {}", run_id_, error.what());
    }
  }
  if (log_) log_->log(SpdlogLevel(level), "run {} ({}): {}", run_id_, job_, text);
  {
    std::lock_guard lock(mutex_);
    if (level != LogLevel::kDebug) state_.last_step = text;
  }
  Bump();
}

void RunWatch::TableDone(std::string_view, uint64_t rows, uint64_t bytes) {
  {
    std::lock_guard lock(mutex_);
    state_.rows += rows;
    state_.bytes += bytes;
  }
  Bump();
}

void RunWatch::Progressed(const ProgressStatus& status) {
  {
    std::lock_guard lock(mutex_);
    state_.progress = status;
  }
  Bump();
}

void RunWatch::ProgressEnded() {
  {
    std::lock_guard lock(mutex_);
    if (state_.progress) {
      state_.progress->fraction = 1;
      state_.progress->eta_seconds = 0;
    }
  }
  Bump();
}

void RunWatch::RebuildStep(std::string_view step) {
  {
    std::lock_guard lock(mutex_);
    state_.last_step = std::string(step);
  }
  Bump();
}

RunWatch::Snapshot RunWatch::Read() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void RunWatch::Bump() {
  {
    std::lock_guard lock(mutex_);
    ++state_.version;
  }
  if (changed_) changed_();
}

}  // namespace freshet
