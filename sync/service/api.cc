#include "sync/service/api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <map>

#include "copy/conninfo.h"
#include "copy/error.h"
#include "service_docs.h"
#include "sync/service/api_error.h"
#include "sync/service/offload.h"
#include "sync/service/run_json.h"
#include "sync/service/static_files.h"

namespace freshet {

namespace asio = boost::asio;
namespace beast = boost::beast;

struct Api::Call {
  const HttpRequest& request;
  std::map<std::string, std::string> params;  // {id}, {job} from the path
  std::map<std::string, std::string> query;
  std::optional<ApiToken> token;
};

struct Api::Route {
  http::verb method;
  std::vector<std::string> pattern;  // path segments; "{name}" captures
  std::optional<Scope> scope;        // none: no token needed
  HttpResponse (Api::*handler)(Call&);
  // Instead of `handler`, for work that must not block the I/O thread.
  asio::awaitable<HttpResponse> (Api::*async_handler)(Call&) = nullptr;
};

namespace {

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding ('+' is a space in a query); nullopt when malformed.
std::optional<std::string> Decode(std::string_view text, bool query) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = HexValue(text[i + 1]), low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (query && text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(start, amp - start);
    size_t eq = pair.find('=');
    auto key = Decode(pair.substr(0, eq), true);
    auto value = Decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) throw ApiError(400, "malformed query string");
    if (!key->empty()) out[*key] = *value;
    start = amp + 1;
  }
  return out;
}

int64_t ParseId(const std::string& text, std::string_view what) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0)
    throw ApiError(400, fmt::format("{} must be a positive integer", what));
  return value;
}

bool Accepts(const HttpRequest& request, std::string_view type) {
  auto accept = request.find(http::field::accept);
  return accept != request.end() && accept->value().find(type) != std::string_view::npos;
}

HttpResponse Json(const HttpRequest& request, unsigned status, const nlohmann::json& body) {
  return JsonResponse(request, status, DumpJson(body, 2) + "\n");
}

HttpResponse Text(const HttpRequest& request, std::string_view type, std::string body) {
  HttpResponse response(http::status::ok, request.version());
  response.set(http::field::content_type, type);
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(body);
  return response;
}

}  // namespace

Api::Api(Parts parts)
    : parts_(std::move(parts)), limiter_(parts_.requests_per_second, parts_.request_burst) {
  using V = http::verb;
  routes_ = {
      {V::get, {"healthz"}, std::nullopt, &Api::Health},
      {V::get, {"readyz"}, std::nullopt, &Api::Ready},
      {V::get, {"metrics"}, Scope::kRead, &Api::Metrics},
      {V::get, {"v1", "openapi.json"}, Scope::kRead, &Api::OpenApi},
      {V::get, {"v1", "jobs"}, Scope::kRead, &Api::Jobs},
      {V::post, {"v1", "jobs", "{job}", "runs"}, Scope::kTrigger, &Api::TriggerRun},
      {V::get, {"v1", "runs"}, Scope::kRead, &Api::ListRuns},
      {V::get, {"v1", "runs", "{id}"}, Scope::kRead, &Api::GetRun},
      {V::get, {"v1", "runs", "{id}", "events"}, Scope::kRead, nullptr},
      {V::post, {"v1", "runs", "{id}", "cancel"}, Scope::kTrigger, &Api::CancelRun},
      {V::get, {"v1", "runs", "{id}", "log"}, Scope::kRead, &Api::RunLog},
      {V::get, {"v1", "runs", "{id}", "report"}, Scope::kRead, &Api::RunReport},
      {V::get, {"v1", "previews"}, Scope::kRead, nullptr, &Api::ListPreviews},
      {V::post, {"v1", "previews"}, Scope::kTrigger, nullptr, &Api::CreatePreview},
      {V::delete_, {"v1", "previews", "{name}"}, Scope::kTrigger, nullptr, &Api::DropPreview},
  };
}

Api::~Api() = default;

// GCC 12 warns -Wmismatched-new-delete on this coroutine's frame: Asio's
// awaitable frame has a class operator new/delete pair, which the warning
// does not see through (reported upstream as GCC bug 109224).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<std::optional<HttpResponse>> Api::Handle(const HttpRequest& request,
                                                         ResponseWriter& writer,
                                                         const HttpPeer& peer) {
  std::string_view target = request.target();
  size_t question = target.find('?');
  std::optional<std::string> path = Decode(target.substr(0, question), false);
  if (!path) co_return ErrorResponse(request, 400, "malformed path");
  if (!limiter_.Allow(peer.address)) {
    HttpResponse response = ErrorResponse(request, 429, "too many requests; slow down");
    response.set(http::field::retry_after, "1");
    co_return response;
  }
  std::vector<std::string> segments = Segments(*path);
  const Route* found = nullptr;
  std::string allowed;  // the methods the path takes, for a 405's Allow
  Call call{request, {}, {}, std::nullopt};
  for (const Route& route : routes_) {
    if (route.pattern.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& part = route.pattern[i];
      if (part.front() == '{')
        params[part.substr(1, part.size() - 2)] = segments[i];
      else
        match = part == segments[i];
    }
    if (!match) continue;
    if (route.method != request.method()) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(http::to_string(route.method));
      continue;
    }
    found = &route;
    call.params = std::move(params);
    break;
  }
  if (!found && request.method() == http::verb::get) {
    if (std::optional<HttpResponse> file = StaticFile(request)) co_return *file;
  }
  if (!found) {
    if (!allowed.empty()) {
      HttpResponse response = ErrorResponse(
          request, 405,
          fmt::format("{} is not allowed on {}", std::string(request.method_string()), *path));
      response.set(http::field::allow, allowed);
      co_return response;
    }
    co_return ErrorResponse(request, 404, fmt::format("no route {}", *path));
  }
  if (found->scope) {
    auto header = request.find(http::field::authorization);
    std::string_view value;
    if (header != request.end())
      value = std::string_view(header->value().data(), header->value().size());
    call.token = parts_.tokens->Authenticate(value);
    if (!call.token) {
      HttpResponse response =
          ErrorResponse(request, 401, "a bearer token is required (Authorization: Bearer ...)");
      response.set(http::field::www_authenticate, "Bearer realm=\"freshet\"");
      co_return response;
    }
    if (!Allows(call.token->scope, *found->scope))
      co_return ErrorResponse(
          request, 403,
          fmt::format("token '{}' has scope '{}'; {} {} needs '{}'", call.token->name,
                      ScopeName(call.token->scope), std::string(request.method_string()), *path,
                      ScopeName(*found->scope)));
  }
  try {
    if (question != std::string_view::npos) call.query = ParseQuery(target.substr(question + 1));
    if (found->async_handler) co_return co_await (this->*found->async_handler)(call);
    if (!found->handler) {  // the events stream writes to the connection itself
      int64_t id = ParseId(call.params.at("id"), "the run id");
      if (!co_await FindRun(id)) throw ApiError(404, fmt::format("no run {}", id));
      co_await StreamEvents(request, writer, id);
      co_return std::nullopt;
    }
    bool probe = found->handler == &Api::Health || found->handler == &Api::Ready;
    if (parts_.store->Shared() && !probe)
      co_return co_await Offload(store_pool_,
                                 [this, &call, found] { return (this->*found->handler)(call); });
    co_return (this->*found->handler)(call);
  } catch (const ApiError& error) {
    co_return ErrorResponse(request, static_cast<unsigned>(error.status()), error.what());
  } catch (const std::exception& error) {
    spdlog::error("http: {} {}: {}", std::string(request.method_string()), *path,
                  RedactSecrets(error.what()));
    co_return ErrorResponse(request, 500, RedactSecrets(error.what()));
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

HttpResponse Api::Health(Call& call) {
  return Json(call.request, 200,
              {{"status", "ok"}, {"role", parts_.role ? parts_.role() : std::string("single")}});
}

HttpResponse Api::Ready(Call& call) {
  std::optional<std::string> reason = parts_.not_ready();
  if (reason) return Json(call.request, 503, {{"status", "not ready"}, {"reason", *reason}});
  return Json(call.request, 200, {{"status", "ready"}});
}

HttpResponse Api::Metrics(Call& call) {
  return Text(call.request, "text/plain; version=0.0.4; charset=utf-8", parts_.metrics());
}

HttpResponse Api::OpenApi(Call& call) {
  return Text(call.request, "application/json", std::string(docs::kOpenapiJson));
}

HttpResponse Api::Jobs(Call& call) { return Json(call.request, 200, {{"jobs", parts_.jobs()}}); }

HttpResponse Api::TriggerRun(Call& call) {
  nlohmann::json overrides = nlohmann::json::object();
  const std::string& body = call.request.body();
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    try {
      overrides = nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& error) {
      throw ApiError(400, fmt::format("the body is not JSON: {}", error.what()));
    }
    if (!overrides.is_object()) throw ApiError(400, "the body must be a JSON object");
  }
  int64_t id = parts_.runs->Trigger(call.params.at("job"), overrides, "api", call.token->name);
  std::optional<RunManager::LiveRun> run = parts_.runs->Find(id);
  nlohmann::json body_out = RunJson(run->record, run->watch);
  body_out["url"] = fmt::format("/v1/runs/{}", id);
  HttpResponse response = Json(call.request, 202, body_out);
  response.set(http::field::location, fmt::format("/v1/runs/{}", id));
  return response;
}

HttpResponse Api::ListRuns(Call& call) {
  RunFilter filter;
  if (auto it = call.query.find("job"); it != call.query.end()) filter.job = it->second;
  if (auto it = call.query.find("state"); it != call.query.end()) {
    try {
      filter.state = ParseRunState(it->second);
    } catch (const std::invalid_argument&) {
      throw ApiError(400, fmt::format("state must be one of queued, running, succeeded, failed, "
                                      "cancelled, not '{}'",
                                      it->second));
    }
  }
  if (auto it = call.query.find("before"); it != call.query.end())
    filter.before_id = ParseId(it->second, "before");
  if (auto it = call.query.find("limit"); it != call.query.end())
    filter.limit = static_cast<int>(std::min<int64_t>(500, ParseId(it->second, "limit")));
  std::map<int64_t, RunWatch::Snapshot> live;
  for (RunManager::LiveRun& run : parts_.runs->Active())
    if (run.watch) live[run.record.id] = *run.watch;
  nlohmann::json runs = nlohmann::json::array();
  for (const RunRecord& run : parts_.store->List(filter)) {
    auto it = live.find(run.id);
    if (it != live.end()) {
      std::optional<RunManager::LiveRun> now = parts_.runs->Find(run.id);
      runs.push_back(RunJson(now ? now->record : run, it->second));
    } else {
      runs.push_back(RunJson(run, std::nullopt));
    }
  }
  return Json(call.request, 200, {{"runs", runs}});
}

HttpResponse Api::GetRun(Call& call) {
  int64_t id = ParseId(call.params.at("id"), "the run id");
  std::optional<RunManager::LiveRun> run = parts_.runs->Find(id);
  if (!run) throw ApiError(404, fmt::format("no run {}", id));
  return JsonResponse(call.request, 200, run_json_.Text(*run, RunJsonCache::Style::kIndented));
}

HttpResponse Api::CancelRun(Call& call) {
  int64_t id = ParseId(call.params.at("id"), "the run id");
  RunRecord record = parts_.runs->Cancel(id);
  std::optional<RunManager::LiveRun> run = parts_.runs->Find(id);
  return Json(call.request, 202, run ? RunJson(run->record, run->watch) : RunJson(record, {}));
}

HttpResponse Api::RunLog(Call& call) {
  int64_t id = ParseId(call.params.at("id"), "the run id");
  if (!parts_.runs->Find(id)) throw ApiError(404, fmt::format("no run {}", id));
  std::vector<RunLogLine> lines = parts_.store->Log(id);
  if (Accepts(call.request, "application/json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const RunLogLine& line : lines)
      out.push_back({{"at", line.at}, {"level", line.level}, {"message", line.message}});
    return Json(call.request, 200, {{"lines", out}});
  }
  std::string text;
  for (const RunLogLine& line : lines)
    text += fmt::format("{} {} {}\n", line.at, line.level, line.message);
  return Text(call.request, "text/plain; charset=utf-8", std::move(text));
}

HttpResponse Api::RunReport(Call& call) {
  int64_t id = ParseId(call.params.at("id"), "the run id");
  std::optional<RunManager::LiveRun> run = parts_.runs->Find(id);
  if (!run) throw ApiError(404, fmt::format("no run {}", id));
  if (!IsFinished(run->record.state))
    throw ApiError(409, fmt::format("run {} is {}; its report comes when it ends", id,
                                    RunStateName(run->record.state)));
  if (run->record.report.is_null())
    throw ApiError(404,
                   fmt::format("run {} ended without a report ({})", id,
                               run->record.error.empty() ? "none was made" : run->record.error));
  if (Accepts(call.request, "text/markdown"))
    return Text(call.request, "text/markdown; charset=utf-8", run->record.report_markdown);
  return Json(call.request, 200, run->record.report);
}

// The same GCC 12 warning as on Handle.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<std::optional<RunManager::LiveRun>> Api::FindRun(int64_t id) {
  if (!parts_.store->Shared()) co_return parts_.runs->Find(id);
  RunManager& runs = *parts_.runs;
  co_return co_await Offload(store_pool_, [&runs, &id] { return runs.Find(id); });
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

asio::awaitable<void> Api::StreamEvents(const HttpRequest& request, ResponseWriter& writer,
                                        int64_t id) {
  constexpr auto kWriteTimeout = std::chrono::seconds(30);  // a client that stopped reading
  HttpResponse head(http::status::ok, request.version());
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-store");
  head.set(http::field::connection, "close");
  head.set("X-Accel-Buffering", "no");
  if (co_await writer.WriteHeader(head.base(), kWriteTimeout)) co_return;
  EventBell::Waiter waiter(*parts_.bell);  // registered before the first look: no ring is lost
  std::string last;
  bool last_look = false;  // the service is stopping: the run's state once more, then the end
  for (;;) {
    std::optional<RunManager::LiveRun> run = co_await FindRun(id);
    if (!run) break;
    bool finished = IsFinished(run->record.state);
    std::string data = run_json_.Text(*run, RunJsonCache::Style::kCompact);
    std::string message;
    if (data != last) message = fmt::format("event: run\ndata: {}\n\n", data);
    if (finished) message += fmt::format("event: end\ndata: {}\n\n", data);
    if (message.empty()) message = ": waiting\n\n";  // also finds clients that went away
    last = std::move(data);
    boost::system::error_code error = co_await writer.Write(message, kWriteTimeout);
    if (error || finished || last_look) break;
    last_look = parts_.stopping();
    if (!last_look) co_await waiter.Wait(std::chrono::seconds(15));
  }
}

namespace {

HttpResponse PreviewResponse(const HttpRequest& request, const Previews::Answer& answer) {
  HttpResponse response = Json(request, answer.status, answer.body);
  if (!answer.location.empty()) response.set(http::field::location, answer.location);
  return response;
}

Previews& PreviewsOf(Previews* previews) {
  if (!previews) throw ApiError(404, "no preview job is configured ([jobs.NAME] kind = preview)");
  return *previews;
}

}  // namespace

asio::awaitable<HttpResponse> Api::CreatePreview(Call& call) {
  Previews& previews = PreviewsOf(parts_.previews);
  std::string body = call.request.body();
  std::string requested_by = call.token->name;
  bool admin = call.token->scope == Scope::kAdmin;
  Previews::Answer answer = co_await previews.Offload([&previews, &body, &requested_by, &admin] {
    return previews.Create(body, requested_by, admin);
  });
  co_return PreviewResponse(call.request, answer);
}

asio::awaitable<HttpResponse> Api::ListPreviews(Call& call) {
  Previews& previews = PreviewsOf(parts_.previews);
  bool admin = call.token->scope == Scope::kAdmin;
  Previews::Answer answer =
      co_await previews.Offload([&previews, &admin] { return previews.List(admin); });
  co_return PreviewResponse(call.request, answer);
}

asio::awaitable<HttpResponse> Api::DropPreview(Call& call) {
  Previews& previews = PreviewsOf(parts_.previews);
  std::string name = call.params.at("name");
  std::optional<std::string> job;
  if (auto it = call.query.find("job"); it != call.query.end()) job = it->second;
  Previews::Answer answer =
      co_await previews.Offload([&previews, &name, &job] { return previews.Drop(name, job); });
  co_return PreviewResponse(call.request, answer);
}

}  // namespace freshet
