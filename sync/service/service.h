// `freshet serve`: the long-running service. One io_context thread runs the
// HTTP API, the schedule's timer, the store's pruning and the signals; runs
// execute on the run queue's worker threads (sync/service/run_manager.h).
//
// Start-up: open the store, listen, then (on a thread) repair what runs left
// by a service that died had changed, re-queue its queued runs, and become
// ready. With a shared PostgreSQL store, every replica answers the API at
// once, and the one holding the leader lock (sync/service/replica_link.h)
// does that recovery when it takes the lock, schedules and starts runs; a
// leader that loses its lock cancels its runs and exits 1. Shutdown on SIGTERM/SIGINT: refuse new
// runs, wait up to `shutdown_timeout` for running ones, cancel the rest (their targets are restored
// through the journal), close connections, return 0. A second signal cancels at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sync/service/api_tokens.h"
#include "sync/service/job.h"
#include "sync/service/job_executor.h"
#include "sync/service/webhooks.h"

namespace freshet {

struct ServiceSettings {
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 7432;
  // The run store: a SQLite file, or a PostgreSQL connection string shared
  // by several replicas (sync/service/postgres_run_store.h).
  std::string store = "freshet-service.db";
  std::string replica;                        // this process's name in a shared store (host:pid)
  int max_running = 2;                        // runs at once, all jobs together
  std::chrono::seconds shutdown_timeout{60};  // how long running runs may finish
  std::chrono::seconds retention{30 * 24 * 3600};  // finished runs older than this are pruned
  size_t body_limit = 64 * 1024;
  double requests_per_second = 50;  // per client address
  double request_burst = 200;
  // HTTPS only when both are set: PEM certificate chain and its private key,
  // checked at start-up (sync/service/tls_context.h).
  std::string tls_cert;
  std::string tls_key;
  std::vector<ApiToken> tokens;
  std::vector<Webhook> webhooks;  // told when runs end
  std::string version;            // for freshet_build_info
  // How often the scheduler looks at the clock at least (an injected test
  // clock moves without the timer knowing).
  std::chrono::milliseconds schedule_check{std::chrono::minutes(1)};
};

class Service {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // `executor` must outlive the service; `jobs` are checked by the caller.
  Service(ServiceSettings settings, std::vector<JobSpec> jobs, JobExecutor& executor,
          Clock clock = std::chrono::system_clock::now);

  // Serves until SIGTERM or SIGINT; returns 0 after a clean shutdown. Throws
  // Error when it cannot start (the store, the address).
  int Run();

 private:
  ServiceSettings settings_;
  std::vector<JobSpec> jobs_;
  JobExecutor& executor_;
  Clock clock_;
};

}  // namespace freshet
