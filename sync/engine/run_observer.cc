#include "sync/engine/run_observer.h"

namespace freshet {

void LoggerObserver::Log(LogLevel level, std::string_view message) {
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  logger_->log(kLevels[static_cast<int>(level)], "{}", message);
}

RunObserver& DefaultObserver() {
  class Default final : public RunObserver {
   public:
    void Log(LogLevel level, std::string_view message) override {
      LoggerObserver(spdlog::default_logger()).Log(level, message);
    }
  };
  static Default observer;
  return observer;
}

const RunLog& DefaultLog() {
  static const RunLog log(DefaultObserver());
  return log;
}

void ObserverFanout::Log(LogLevel level, std::string_view message) {
  for (RunObserver* observer : observers_) observer->Log(level, message);
}
void ObserverFanout::PlanReady(const Plan& plan) {
  for (RunObserver* observer : observers_) observer->PlanReady(plan);
}
void ObserverFanout::TableStarted(std::string_view table) {
  for (RunObserver* observer : observers_) observer->TableStarted(table);
}
void ObserverFanout::TableDone(std::string_view table, uint64_t rows, uint64_t bytes) {
  for (RunObserver* observer : observers_) observer->TableDone(table, rows, bytes);
}
void ObserverFanout::Progressed(const ProgressStatus& status) {
  for (RunObserver* observer : observers_) observer->Progressed(status);
}
void ObserverFanout::ProgressEnded() {
  for (RunObserver* observer : observers_) observer->ProgressEnded();
}
void ObserverFanout::RebuildStep(std::string_view step) {
  for (RunObserver* observer : observers_) observer->RebuildStep(step);
}
void ObserverFanout::RunEnded(const RunReport& report) {
  for (RunObserver* observer : observers_) observer->RunEnded(report);
}

}  // namespace freshet
