// The observer of one run inside the service: keeps its live progress for the
// API, stores its log lines, echoes them to the service's log, and counts
// what it moved. Every event bumps a version and calls `changed`, so waiting
// clients (Server-Sent Events, the dashboard) wake up.
//
// Thread-safe: the run's threads call the observer methods; the API reads
// Snapshot() from the I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sync/engine/run_observer.h"
#include "sync/service/run_store.h"

namespace freshet {

class RunWatch final : public RunObserver {
 public:
  struct Snapshot {
    std::optional<ProgressStatus> progress;  // none until data moves
    uint64_t rows = 0;                       // of tables done
    uint64_t bytes = 0;
    uint64_t version = 0;
    std::string last_step;  // the latest log line
  };

  // `store` and `log` must outlive the watch; `changed` may be empty.
  RunWatch(int64_t run_id, std::string job, RunStore& store, std::shared_ptr<spdlog::logger> log,
           std::function<void()> changed);

  void Log(LogLevel level, std::string_view message) override;
  void TableDone(std::string_view table, uint64_t rows, uint64_t bytes) override;
  void Progressed(const ProgressStatus& status) override;
  void ProgressEnded() override;
  void RebuildStep(std::string_view step) override;

  Snapshot Read() const;

 private:
  void Bump();

  int64_t run_id_;
  std::string job_;
  RunStore& store_;
  std::shared_ptr<spdlog::logger> log_;
  std::function<void()> changed_;
  mutable std::mutex mutex_;
  Snapshot state_;
};

}  // namespace freshet
