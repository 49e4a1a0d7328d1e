#include "sync/service/service_metrics.h"

namespace freshet {
namespace {

constexpr const char* kEndStates[] = {"succeeded", "failed", "cancelled"};

std::optional<double> UnixSeconds(const std::string& iso) {
  auto time = ParseIsoTime(iso);
  if (!time) return std::nullopt;
  return std::chrono::duration<double>(time->time_since_epoch()).count();
}

}  // namespace

ServiceMetrics::ServiceMetrics(std::string version, const std::vector<JobSpec>& jobs,
                               const std::vector<std::pair<std::string, std::string>>& last)
    : version_(std::move(version)) {
  for (const JobSpec& job : jobs) {
    JobCounters& counters = jobs_[job.name];
    for (const char* state : kEndStates) counters.ended[state] = 0;
    counters.seconds = std::make_unique<HistogramData>(kRunDurationBounds);
  }
  for (const auto& [job, finished_at] : last)
    if (auto it = jobs_.find(job); it != jobs_.end())
      it->second.last_success = UnixSeconds(finished_at);
}

void ServiceMetrics::RunFinished(const RunRecord& run) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(run.job);
  if (it == jobs_.end()) return;
  JobCounters& counters = it->second;
  ++counters.ended[std::string(RunStateName(run.state))];
  counters.rows += run.rows;
  counters.bytes += run.bytes;
  if (!run.started_at.empty()) counters.seconds->Observe(run.Seconds());
  if (run.state == RunState::kSucceeded) counters.last_success = UnixSeconds(run.finished_at);
}

std::string ServiceMetrics::Render(const std::vector<RunManager::LiveRun>& active) const {
  std::map<std::string, std::map<std::string, int>> in_flight;
  for (const auto& [job, counters] : jobs_) in_flight[job] = {{"queued", 0}, {"running", 0}};
  for (const RunManager::LiveRun& run : active)
    ++in_flight[run.record.job][std::string(RunStateName(run.record.state))];

  std::lock_guard lock(mutex_);
  MetricsPage page;
  page.Gauge("freshet_build_info", "The freshet version serving; always 1.");
  page.Sample({{"version", version_}}, 1);
  page.Counter("freshet_runs_total",
               "Runs that ended since the service started, by job and state.");
  for (const auto& [job, counters] : jobs_)
    for (const auto& [state, count] : counters.ended)
      page.Sample({{"job", job}, {"state", state}}, count);
  page.Gauge("freshet_runs_in_flight", "Runs queued or running now, by job and state.");
  for (const auto& [job, states] : in_flight)
    for (const auto& [state, count] : states) page.Sample({{"job", job}, {"state", state}}, count);
  page.Histogram("freshet_run_duration_seconds",
                 "How long runs took from start to end, by job (since the service started).");
  for (const auto& [job, counters] : jobs_)
    page.HistogramSample({{"job", job}}, counters.seconds->Snapshot());
  page.Counter("freshet_rows_moved_total", "Rows copied by runs that ended, by job.");
  for (const auto& [job, counters] : jobs_) page.Sample({{"job", job}}, counters.rows);
  page.Counter("freshet_bytes_moved_total", "COPY stream bytes moved by runs that ended, by job.");
  for (const auto& [job, counters] : jobs_) page.Sample({{"job", job}}, counters.bytes);
  page.Gauge("freshet_last_success_timestamp_seconds",
             "When each job last succeeded (Unix time); absent for jobs that never did.");
  for (const auto& [job, counters] : jobs_)
    if (counters.last_success) page.Sample({{"job", job}}, *counters.last_success);
  return page.Text();
}

}  // namespace freshet
