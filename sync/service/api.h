// The service's HTTP API: the /v1 routes (jobs, runs, events, cancel, log,
// report), health, readiness and metrics. Checks the bearer token and its
// scope on every route but /healthz and /readyz, limits requests per client,
// and turns ApiError into 4xx answers with {"error": "..."}.
//
// Thread-safety: Handle runs on the io_context's thread only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sync/service/api_tokens.h"
#include "sync/service/event_bell.h"
#include "sync/service/http_server.h"
#include "sync/service/previews.h"
#include "sync/service/rate_limit.h"
#include "sync/service/run_json_cache.h"
#include "sync/service/run_manager.h"

namespace freshet {

class Api {
 public:
  // What the routes read; everything must outlive the Api.
  struct Parts {
    RunManager* runs = nullptr;
    RunStore* store = nullptr;
    const TokenSet* tokens = nullptr;
    EventBell* bell = nullptr;
    std::function<nlohmann::json()> jobs;                   // GET /v1/jobs
    std::function<std::string()> metrics;                   // GET /metrics (text format)
    std::function<std::optional<std::string>()> not_ready;  // why /readyz fails, or nullopt
    std::function<bool()> stopping;                         // shutting down: streams end
    double requests_per_second = 50;
    double request_burst = 200;
    Previews* previews = nullptr;  // /v1/previews (sync/service/previews.h); none: 404
    // GET /healthz `role`: "single", or with a shared store "leader" / "follower".
    std::function<std::string()> role;
  };

  explicit Api(Parts parts);
  ~Api();

  boost::asio::awaitable<std::optional<HttpResponse>> Handle(const HttpRequest& request,
                                                             ResponseWriter& writer,
                                                             const HttpPeer& peer);

  struct Call;  // one request being answered (api.cc)
  struct Route;

 private:
  HttpResponse Answer(Call& call);
  // The run, from the store pool when the store is shared.
  boost::asio::awaitable<std::optional<RunManager::LiveRun>> FindRun(int64_t id);
  boost::asio::awaitable<void> StreamEvents(const HttpRequest& request, ResponseWriter& writer,
                                            int64_t id);

  HttpResponse OpenApi(Call& call);
  HttpResponse Jobs(Call& call);
  HttpResponse TriggerRun(Call& call);
  HttpResponse ListRuns(Call& call);
  HttpResponse GetRun(Call& call);
  HttpResponse CancelRun(Call& call);
  HttpResponse RunLog(Call& call);
  HttpResponse RunReport(Call& call);
  HttpResponse Metrics(Call& call);
  HttpResponse Health(Call& call);
  HttpResponse Ready(Call& call);
  // /v1/previews: the work runs on the previews' thread (it asks a database server).
  boost::asio::awaitable<HttpResponse> CreatePreview(Call& call);
  boost::asio::awaitable<HttpResponse> ListPreviews(Call& call);
  boost::asio::awaitable<HttpResponse> DropPreview(Call& call);

  Parts parts_;
  RateLimiter limiter_;
  RunJsonCache run_json_;
  // With a shared (PostgreSQL) store, routes that read it run here, so a
  // slow or unreachable store never holds the I/O thread (nor /healthz).
  boost::asio::thread_pool store_pool_{2};
  std::vector<Route> routes_;
};

}  // namespace freshet
