#include "sync/service/service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "copy/conninfo.h"
#include "copy/error.h"
#include "sync/service/api.h"
#include "sync/service/api_error.h"
#include "sync/service/event_bell.h"
#include "sync/service/http_server.h"
#include "sync/service/job_executor.h"
#include "sync/service/offload.h"
#include "sync/service/postgres_run_store.h"
#include "sync/service/previews.h"
#include "sync/service/replica_link.h"
#include "sync/service/run_json.h"
#include "sync/service/run_manager.h"
#include "sync/service/run_store.h"
#include "sync/service/schedule.h"
#include "sync/service/service_metrics.h"

namespace freshet {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Everything one Run() owns, in the order it is built (and destroyed in
// reverse: the run queue first, so no run outlives what it reports to).
struct Parts {
  Parts(const ServiceSettings& settings, const std::vector<JobSpec>& jobs, JobExecutor& executor,
        const Service::Clock& clock)
      : store(IsPostgresStore(settings.store)
                  ? OpenPostgresRunStore(settings.store, settings.replica)
                  : OpenSqliteRunStore(settings.store)),
        metrics(settings.version, jobs, store->LastSuccesses()),
        webhooks(settings.webhooks),
        bell(io),
        timetable(jobs, clock()),
        runs(*store, executor, jobs, settings.max_running, spdlog::default_logger(),
             {[this] { bell.Ring(); },
              [this](const RunRecord& run) {
                metrics.RunFinished(run);
                webhooks.Notify(run);
              }}) {
    for (const ApiToken& token : settings.tokens) tokens.Add(token);
  }

  asio::io_context io;
  asio::steady_timer schedule_timer{io};
  asio::steady_timer prune_timer{io};
  std::unique_ptr<RunStore> store;
  ServiceMetrics metrics;
  WebhookSender webhooks;
  EventBell bell;
  std::mutex timetable_mutex;  // GET /v1/jobs may read it off the I/O thread
  Timetable timetable;
  TokenSet tokens;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};  // a signal came: no new runs
  std::atomic<bool> draining{false};  // runs are over: connections and streams end
  RunManager runs;
  // The scheduler's and the pruning's store calls: never on the I/O thread.
  asio::thread_pool store_work{1};
};

nlohmann::json JobsJson(Parts& parts, const std::vector<JobSpec>& jobs) {
  nlohmann::json out = nlohmann::json::array();
  for (const JobSpec& job : jobs) {
    // Endpoints are config names, paths or URLs; a URL's password is not shown.
    std::vector<std::string> to;
    for (const std::string& target : job.to) to.push_back(RedactSecrets(target));
    nlohmann::json entry = {{"name", job.name},
                            {"kind", job.kind},
                            {"from", RedactSecrets(job.from)},
                            {"to", to},
                            {"schedule", nullptr},
                            {"time_zone", job.time_zone},
                            {"next_run", nullptr},
                            {"when_busy", job.queue_when_busy ? "queue" : "reject"},
                            {"overridable", job.overridable},
                            {"last_run", nullptr}};
    if (job.schedule) entry["schedule"] = *job.schedule;
    std::optional<Timetable::TimePoint> next;
    {
      std::lock_guard lock(parts.timetable_mutex);
      next = parts.timetable.NextOf(job.name);
    }
    if (next) entry["next_run"] = IsoTime(*next);
    std::vector<RunRecord> last = parts.store->List({job.name, std::nullopt, std::nullopt, 1});
    if (!last.empty()) {
      std::optional<RunManager::LiveRun> live = parts.runs.Find(last.front().id);
      entry["last_run"] = live ? RunJson(live->record, live->watch) : RunJson(last.front(), {});
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// Fires the jobs whose time came. Waits at most a minute at a time, so a
// wall clock that jumps is noticed.
// With a shared store only the leader looks; a new leader fires once what
// came due while it followed (the store refuses a job's second run for the
// same time, so what the old leader fired is not fired again).
asio::awaitable<void> Schedule(Parts& parts, Service::Clock clock,
                               std::chrono::milliseconds longest_wait) {
  asio::steady_timer& timer = parts.schedule_timer;
  while (!parts.stopping) {
    std::optional<Timetable::TimePoint> next;
    {
      std::lock_guard lock(parts.timetable_mutex);
      next = parts.timetable.Earliest();
    }
    using Duration = std::chrono::steady_clock::duration;
    Duration wait = longest_wait;
    if (next)
      wait =
          std::clamp(std::chrono::duration_cast<Duration>(*next - clock()), Duration::zero(), wait);
    timer.expires_after(wait);
    co_await timer.async_wait(kTuple);
    if (parts.stopping) break;
    if (!parts.runs.leading()) continue;
    std::vector<Timetable::Firing> due;
    {
      std::lock_guard lock(parts.timetable_mutex);
      due = parts.timetable.Due(clock());
    }
    for (const Timetable::Firing& firing : due) {
      const std::string& job = firing.job;
      try {
        RunManager& runs = parts.runs;
        std::string at = IsoTime(firing.at);
        int64_t id = co_await Offload(parts.store_work, [&runs, &job, &at] {
          return runs.Trigger(job, nlohmann::json::object(), "schedule", "schedule", at);
        });
        spdlog::info("job '{}': scheduled run {} queued", job, id);
      } catch (const ApiError& error) {
        spdlog::warn("job '{}': its scheduled run was not started: {}", job, error.what());
      } catch (const std::exception& error) {
        spdlog::error("job '{}': its scheduled run failed to queue: {}", job,
                      RedactSecrets(error.what()));
      }
    }
  }
}

// Deletes finished runs older than the retention, hourly.
asio::awaitable<void> Prune(Parts& parts, Service::Clock clock, std::chrono::seconds retention) {
  asio::steady_timer& timer = parts.prune_timer;
  while (!parts.stopping) {
    try {
      RunStore& store = *parts.store;
      std::chrono::system_clock::time_point cutoff = clock() - retention;
      int pruned =
          co_await Offload(parts.store_work, [&store, &cutoff] { return store.Prune(cutoff); });
      if (pruned > 0) spdlog::info("store: pruned {} finished run(s) past the retention", pruned);
    } catch (const std::exception& error) {
      spdlog::warn("store: pruning failed: {}", error.what());
    }
    timer.expires_after(std::chrono::hours(1));
    co_await timer.async_wait(kTuple);
  }
}

}  // namespace

Service::Service(ServiceSettings settings, std::vector<JobSpec> jobs, JobExecutor& executor,
                 Clock clock)
    : settings_(std::move(settings)),
      jobs_(std::move(jobs)),
      executor_(executor),
      clock_(std::move(clock)) {}

namespace {

// The completion of a coroutine of the service: an exception is logged.
auto LogIfThrown(std::string what) {
  return [what = std::move(what)](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("{} stopped: {}", what, RedactSecrets(e.what()));
    }
  };
}

// Start-up, leadership and shutdown around the io_context: the recovery
// thread, the signals, the shutdown thread and the drain that lets
// io.run() return by itself.
class Lifecycle {
 public:
  Lifecycle(Parts& parts, HttpServer& server, const ServiceSettings& settings)
      : parts_(parts), server_(server), settings_(settings), signals_(parts.io, SIGINT, SIGTERM) {}
  ~Lifecycle() {
    if (shutdown_.joinable()) shutdown_.join();
    if (recovery_.joinable()) recovery_.join();
  }

  void WatchSignals() {
    signals_.async_wait([this](const boost::system::error_code& error, int signal) {
      if (error) return;
      WatchSignals();
      if (parts_.stopping.exchange(true)) {
        spdlog::warn("signal {} again: cancelling every run now", signal);
        parts_.runs.StopRunning();
        return;
      }
      spdlog::info("signal {}: no new runs; waiting up to {}s for running ones", signal,
                   settings_.shutdown_timeout.count());
      BeginStop(settings_.shutdown_timeout);
    });
  }

  // Repairs what the runs of a service that died left, then lets runs start.
  void StartRecovery() {
    recovery_ = std::thread([this] {
      try {
        for (const std::string& line : parts_.runs.Recover()) spdlog::warn("recovery: {}", line);
      } catch (const std::exception& error) {
        spdlog::error("recovery: {}", RedactSecrets(error.what()));
      }
      parts_.ready = true;
      parts_.bell.Ring();
      asio::post(parts_.io, [this] { parts_.schedule_timer.cancel(); });  // look at the clock now
    });
  }

  // Shared store: this replica took the leader lock (on the link's thread).
  void BecomeLeader() {
    if (parts_.stopping) return;  // the lock goes with the process
    spdlog::info("replica {}: took the leader lock; it schedules and starts runs from now on",
                 settings_.replica);
    parts_.runs.BecomeLeader();
    for (const std::string& line : parts_.runs.BeginRecovery()) spdlog::warn("recovery: {}", line);
    StartRecovery();
  }

  // Shared store: the session holding the leader lock broke (on the link's
  // thread). Another replica may take over, so runs stop now; exit 1.
  void LoseLeadership(const std::string& why) {
    asio::post(parts_.io, [this, why] {
      spdlog::error(
          "replica {}: lost the leader lock ({}); cancelling its runs and exiting so that another "
          "replica takes over",
          settings_.replica, why);
      exit_code_ = static_cast<int>(ErrorKind::kRuntime);
      if (parts_.stopping.exchange(true)) {
        parts_.runs.StopRunning();
        return;
      }
      BeginStop(std::chrono::seconds(0));
    });
  }

  // After io.run() returned: the exit status.
  int Finish() {
    if (shutdown_.joinable()) shutdown_.join();
    if (abandoned_) {
      // A run that does not stop holds what it writes to; the journal repairs
      // its targets at the next start, as after a crash.
      spdlog::error(
          "freshet serve: a run did not stop within {}s of being cancelled; exiting "
          "without it (its targets are repaired at the next start)",
          kCancelGrace.count());
      spdlog::shutdown();
      std::_Exit(static_cast<int>(ErrorKind::kRuntime));
    }
    if (recovery_.joinable()) recovery_.join();
    spdlog::info("freshet serve: stopped");
    return exit_code_;
  }

 private:
  // On the I/O thread, `stopping` set: no new runs; running ones get
  // `timeout`, then are cancelled; then the drain.
  void BeginStop(std::chrono::seconds timeout) {
    parts_.runs.BeginShutdown();
    parts_.bell.Ring();
    shutdown_ = std::thread([this, timeout] {
      if (!parts_.runs.WaitIdle(std::chrono::steady_clock::now() + timeout)) {
        spdlog::warn("shutdown: cancelling the runs still running; their targets are restored");
        parts_.runs.StopRunning();
        abandoned_ = !parts_.runs.WaitIdle(std::chrono::steady_clock::now() + kCancelGrace);
      }
      asio::post(parts_.io, [this] { Drain(); });
    });
  }

  // Ends everything on the I/O thread so that io.run() returns by itself:
  // every connection, stream, timer and signal wait finishes its coroutine
  // while what it refers to is still alive.
  void Drain() {
    parts_.draining = true;
    server_.Stop();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    parts_.schedule_timer.cancel();
    parts_.prune_timer.cancel();
    parts_.bell.Ring();
  }

  Parts& parts_;
  HttpServer& server_;
  const ServiceSettings& settings_;
  asio::signal_set signals_;
  std::thread shutdown_;
  std::thread recovery_;
  std::atomic<bool> abandoned_{false};
  int exit_code_ = 0;
};

Api::Parts ApiParts(Parts& parts, const std::vector<JobSpec>& jobs, const ServiceSettings& settings,
                    Previews* previews) {
  bool shared = parts.store->Shared();
  return {&parts.runs,
          parts.store.get(),
          &parts.tokens,
          &parts.bell,
          [&parts, &jobs] { return JobsJson(parts, jobs); },
          [&parts] { return parts.metrics.Render(parts.runs.Active()); },
          [&parts]() -> std::optional<std::string> {
            if (parts.stopping) return "shutting down";
            if (!parts.ready) return "repairing what the last run of the service left";
            return std::nullopt;
          },
          [&parts] { return parts.draining.load(); },
          settings.requests_per_second,
          settings.request_burst,
          previews,
          [&parts, shared]() -> std::string {
            if (!shared) return "single";
            return parts.runs.leading() ? "leader" : "follower";
          }};
}

}  // namespace

int Service::Run() {
  Parts parts(settings_, jobs_, executor_, clock_);
  const bool shared = parts.store->Shared();
  // Before the API listens: what the last service left is taken from the
  // store first, and no run starts until its targets are repaired. With a
  // shared store, the leader does this when it takes the lock.
  if (!shared)
    for (const std::string& line : parts.runs.BeginRecovery()) spdlog::warn("recovery: {}", line);
  parts.ready = shared;
  std::unique_ptr<Previews> previews;  // /v1/previews, when there are preview jobs
  if (PreviewDatabases* databases = executor_.previews())
    previews = std::make_unique<Previews>(parts.runs, *databases);
  Api api(ApiParts(parts, jobs_, settings_, previews.get()));
  HttpServer server(parts.io,
                    {settings_.listen_address, settings_.listen_port, settings_.body_limit,
                     std::chrono::seconds(60), settings_.tls_cert, settings_.tls_key},
                    [&api](const HttpRequest& request, ResponseWriter& writer,
                           const HttpPeer& peer) { return api.Handle(request, writer, peer); });
  uint16_t port = server.Listen();
  server.Start();
  spdlog::info("freshet serve: listening on {}://{}:{} ({} job(s), store {}{})", server.Scheme(),
               settings_.listen_address, port, jobs_.size(), parts.store->Describe(),
               shared ? ", replica " + settings_.replica : "");
  Lifecycle life(parts, server, settings_);
  std::unique_ptr<ReplicaLink> link;  // destroyed before the parts its callbacks use
  if (shared) {
    link = std::make_unique<ReplicaLink>(
        settings_.store,
        ReplicaLink::Callbacks{[&life] { life.BecomeLeader(); },
                               [&life](const std::string& why) { life.LoseLeadership(why); },
                               [&parts](const std::string& event) {
                                 if (!event.starts_with("live") && !event.starts_with("running"))
                                   parts.runs.Adopt();
                                 parts.bell.Ring();
                               },
                               [&parts, turns = 0]() mutable {
                                 parts.runs.PublishLive();
                                 if (++turns % 10 == 0) parts.runs.Adopt();  // a missed notice
                               }});
    link->Start();
  } else {
    life.StartRecovery();
  }
  life.WatchSignals();
  asio::co_spawn(parts.io, Schedule(parts, clock_, settings_.schedule_check),
                 LogIfThrown("the scheduler"));
  asio::co_spawn(parts.io, Prune(parts, clock_, settings_.retention), LogIfThrown("pruning"));
  parts.io.run();
  link.reset();
  return life.Finish();
}

}  // namespace freshet
