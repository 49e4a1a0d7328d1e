// How a run tells whoever watches it what happens. The run calls a
// RunObserver; the CLI's implementations write log lines, draw progress and
// write the reports, and a service can watch several runs at once, each with
// its own observer (and its own logger: see RunLog). Events come from the
// run's threads (workers included): implementations must be thread-safe.
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace freshet {

struct Plan;
struct RunReport;

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Where a load stands: what a progress line, a dashboard or an API shows.
struct ProgressStatus {
  struct Table {
    std::string name;
    uint64_t rows = 0;
    int64_t estimated_rows = 0;  // 0: unknown (never analyzed)
    uint64_t bytes = 0;
    bool started = false;
    bool done = false;
  };
  double fraction = 0;  // 0..1, below 1 until every table is done
  uint64_t rows = 0;
  int64_t estimated_rows = 0;
  uint64_t bytes = 0;
  std::optional<double> bytes_per_second;  // none until measurable
  std::optional<double> eta_seconds;       // none until rows move
  std::vector<Table> tables;
  // One line: "42% 1.2M/2.9M rows 310/740 MB 55 MB/s ETA 0:08 | copying public.deals 61%, ..."
  std::string line;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // A line of the run's log.
  virtual void Log(LogLevel level, std::string_view message) = 0;
  // The plan was built and checked (its errors, if any, are in it).
  virtual void PlanReady(const Plan&) {}
  // A table's first stream started; its last stream finished.
  virtual void TableStarted(std::string_view /*table*/) {}
  virtual void TableDone(std::string_view /*table*/, uint64_t /*rows*/, uint64_t /*bytes*/) {}
  // While data loads, about once a second (sync/engine/progress.h); then
  // ProgressEnded once.
  virtual void Progressed(const ProgressStatus& /*status*/) {}
  virtual void ProgressEnded() {}
  // One step of putting the target back together finished ("index x on t
  // rebuilt", "foreign key ... re-added").
  virtual void RebuildStep(std::string_view /*step*/) {}
  // The run ended; `report` says how (its `ok` and `error`).
  virtual void RunEnded(const RunReport&) {}
};

// The run's logger: formats lines and hands them to its observer.
class RunLog {
 public:
  explicit RunLog(RunObserver& observer) : observer_(&observer) {}

  template <typename... Args>
  void Debug(fmt::format_string<Args...> format, Args&&... args) const {
    observer_->Log(LogLevel::kDebug, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Info(fmt::format_string<Args...> format, Args&&... args) const {
    observer_->Log(LogLevel::kInfo, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Warn(fmt::format_string<Args...> format, Args&&... args) const {
    observer_->Log(LogLevel::kWarning, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Error(fmt::format_string<Args...> format, Args&&... args) const {
    observer_->Log(LogLevel::kError, fmt::format(format, std::forward<Args>(args)...));
  }
  RunObserver& observer() const { return *observer_; }

 private:
  RunObserver* observer_;
};

// Writes the log through an spdlog logger (the CLI's on stderr; a service's
// per run). Ignores the other events.
class LoggerObserver final : public RunObserver {
 public:
  explicit LoggerObserver(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  void Log(LogLevel level, std::string_view message) override;

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

// The observer of runs started without one: logs through spdlog's default
// logger.
RunObserver& DefaultObserver();
const RunLog& DefaultLog();  // a RunLog over DefaultObserver()

// Hands every event to each of `observers` in order (the CLI: log lines,
// then reports).
class ObserverFanout final : public RunObserver {
 public:
  explicit ObserverFanout(std::vector<RunObserver*> observers) : observers_(std::move(observers)) {}
  void Log(LogLevel level, std::string_view message) override;
  void PlanReady(const Plan& plan) override;
  void TableStarted(std::string_view table) override;
  void TableDone(std::string_view table, uint64_t rows, uint64_t bytes) override;
  void Progressed(const ProgressStatus& status) override;
  void ProgressEnded() override;
  void RebuildStep(std::string_view step) override;
  void RunEnded(const RunReport& report) override;

 private:
  std::vector<RunObserver*> observers_;
};

}  // namespace freshet
