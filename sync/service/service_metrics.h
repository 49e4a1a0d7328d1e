// What GET /metrics shows, in the Prometheus text format: runs ended by job
// and state, runs queued and running, run durations, rows and bytes moved,
// and each job's last success time. Counters count since the service
// started (Prometheus handles the reset); the last success time comes from
// the store, so it survives restarts.
//
// Thread-safety: RunFinished may be called from any thread; Render too.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sync/service/job.h"
#include "sync/service/prometheus_text.h"
#include "sync/service/run_manager.h"

namespace freshet {

class ServiceMetrics {
 public:
  // `jobs`' series exist (at 0) from the start; `version` labels
  // freshet_build_info.
  ServiceMetrics(std::string version, const std::vector<JobSpec>& jobs,
                 const std::vector<std::pair<std::string, std::string>>& last_successes);

  void RunFinished(const RunRecord& run);
  // The page; `active` are the runs queued and running now.
  std::string Render(const std::vector<RunManager::LiveRun>& active) const;

 private:
  struct JobCounters {
    std::map<std::string, uint64_t> ended;  // by state
    uint64_t rows = 0;
    uint64_t bytes = 0;
    std::unique_ptr<HistogramData> seconds;
    std::optional<double> last_success;  // Unix seconds
  };

  std::string version_;
  mutable std::mutex mutex_;
  std::map<std::string, JobCounters> jobs_;
};

}  // namespace freshet
