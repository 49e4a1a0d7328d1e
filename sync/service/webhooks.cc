#include "sync/service/webhooks.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "copy/error.h"
#include "sync/service/hmac.h"
#include "sync/service/run_json.h"

namespace freshet {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

struct Target {
  bool tls = false;
  std::string host, port, path;
};

// scheme://host[:port][/path?query]; userinfo is refused (credentials in a
// webhook URL belong in its secret or its path).
Target ParseTarget(const std::string& url) {
  Target target;
  size_t scheme_end = url.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    throw Error(ErrorKind::kUsage, "the webhook URL must start with http:// or https://");
  target.tls = scheme == "https";
  size_t authority = scheme_end + 3;
  size_t path = url.find_first_of("/?#", authority);
  std::string host_port =
      url.substr(authority, path == std::string::npos ? std::string::npos : path - authority);
  target.path = path == std::string::npos ? "/" : url.substr(path);
  if (target.path.front() != '/') target.path = "/" + target.path;
  if (size_t hash = target.path.find('#'); hash != std::string::npos) target.path.resize(hash);
  if (host_port.find('@') != std::string::npos)
    throw Error(ErrorKind::kUsage, "the webhook URL must not carry a user or password");
  size_t colon = host_port.rfind(':');
  bool bracketed = !host_port.empty() && host_port.front() == '[';
  if (colon != std::string::npos && (!bracketed || host_port.rfind(']') < colon)) {
    target.port = host_port.substr(colon + 1);
    host_port.resize(colon);
  } else {
    target.port = target.tls ? "443" : "80";
  }
  if (bracketed && host_port.size() > 2 && host_port.back() == ']')
    host_port = host_port.substr(1, host_port.size() - 2);
  target.host = host_port;
  if (target.host.empty() || target.port.empty() ||
      target.port.find_first_not_of("0123456789") != std::string::npos)
    throw Error(ErrorKind::kUsage, "the webhook URL has no valid host and port");
  return target;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

// Every step of a delivery (resolve, connect, handshake, write, read) is
// asynchronous, so the caller's run_for bounds it as a whole.
template <typename Stream>
asio::awaitable<int> Exchange(Stream& stream, const Target& target, const std::string& body,
                              const Headers& headers) {
  http::request<http::string_body> request(http::verb::post, target.path, 11);
  request.set(http::field::host, target.host);
  request.set(http::field::user_agent, "freshet-serve");
  request.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  co_await http::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  co_await http::async_read(stream, buffer, response, asio::use_awaitable);
  co_return static_cast<int>(response.result_int());
}

asio::awaitable<int> Post(const Target& target, const std::string& body, const Headers& headers) {
  auto executor = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(target.host, target.port, asio::use_awaitable);
  if (!target.tls) {
    beast::tcp_stream stream(executor);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_return co_await Exchange(stream, target, body, headers);
  }
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.set_default_verify_paths();
  context.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(executor, context);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), target.host.c_str()))
    throw Error("cannot set the TLS server name");
  stream.set_verify_callback(asio::ssl::host_name_verification(target.host));
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  co_return co_await Exchange(stream, target, body, headers);
}

std::string EventName(const RunRecord& run) {
  return fmt::format("run.{}", RunStateName(run.state));
}

}  // namespace

std::string WebhookBody(const Webhook& hook, const RunRecord& run) {
  if (hook.slack) {
    std::string text = fmt::format("freshet: job *{}* run {} {} after {:.1f} s", run.job, run.id,
                                   RunStateName(run.state), run.Seconds());
    if (!run.error.empty()) text += ": " + run.error;
    if (run.state == RunState::kSucceeded) text += fmt::format(" ({} rows)", run.rows);
    return DumpJson(nlohmann::json{{"text", text}});
  }
  return DumpJson(nlohmann::json{{"event", EventName(run)}, {"run", RunJson(run, std::nullopt)}});
}

int PostOverHttp(const std::string& url, const std::string& body, const Headers& headers) {
  constexpr auto kTimeout = std::chrono::seconds(30);
  Target target = ParseTarget(url);
  asio::io_context io;
  std::optional<int> status;
  std::exception_ptr failure;
  asio::co_spawn(io, Post(target, body, headers), [&](std::exception_ptr error, int answer) {
    if (error)
      failure = error;
    else
      status = answer;
  });
  io.run_for(kTimeout);
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& error) {
      throw Error(fmt::format("{} (host {})", error.code().message(), target.host));
    }
  }
  if (!status)
    throw Error(fmt::format("no answer within {} s (host {})", kTimeout.count(), target.host));
  return *status;
}

WebhookSender::WebhookSender(std::vector<Webhook> hooks, WebhookPost post)
    : hooks_(std::move(hooks)), post_(std::move(post)) {
  if (!hooks_.empty()) thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

WebhookSender::~WebhookSender() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
  if (!queue_.empty())
    spdlog::warn("webhooks: {} delivery(ies) not sent before the service stopped", queue_.size());
}

void WebhookSender::Notify(const RunRecord& run) {
  if (hooks_.empty()) return;
  std::string state(RunStateName(run.state));
  {
    std::lock_guard lock(mutex_);
    for (const Webhook& hook : hooks_) {
      if (std::find(hook.states.begin(), hook.states.end(), state) == hook.states.end()) continue;
      if (!hook.jobs.empty() &&
          std::find(hook.jobs.begin(), hook.jobs.end(), run.job) == hook.jobs.end())
        continue;
      queue_.push_back({&hook, WebhookBody(hook, run), EventName(run), run.id, 1,
                        std::chrono::steady_clock::now()});
    }
    ++notified_;
  }
  wake_.notify_all();
}

void WebhookSender::Loop(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    if (queue_.empty()) {
      wake_.wait(lock, stop, [this] { return !queue_.empty(); });
      continue;
    }
    auto next =
        std::min_element(queue_.begin(), queue_.end(),
                         [](const Delivery& a, const Delivery& b) { return a.due < b.due; });
    if (next->due > std::chrono::steady_clock::now()) {
      // Until the retry is due, or a new delivery arrives (it goes first).
      auto due = next->due;
      uint64_t seen = notified_;
      wake_.wait_until(lock, stop, due, [&] { return notified_ != seen; });
      continue;
    }
    Delivery delivery = std::move(*next);
    queue_.erase(next);
    lock.unlock();
    bool done = Deliver(delivery);
    lock.lock();
    if (!done) queue_.push_back(std::move(delivery));
  }
}

// One attempt; false when it should be retried (and then sets when).
bool WebhookSender::Deliver(Delivery& delivery) {
  const Webhook& hook = *delivery.hook;
  std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Freshet-Event", delivery.event},
      {"X-Freshet-Delivery", fmt::format("{}-{}", delivery.run_id, hook.name)}};
  if (!hook.secret.empty())
    headers.emplace_back("X-Freshet-Signature",
                         "sha256=" + HmacSha256Hex(hook.secret, delivery.body));
  std::string failure;
  try {
    int status = post_(hook.url, delivery.body, headers);
    if (status >= 200 && status < 300) {
      spdlog::info("webhook '{}': run {} delivered (attempt {})", hook.name, delivery.run_id,
                   delivery.attempt);
      return true;
    }
    failure = fmt::format("HTTP {}", status);
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (delivery.attempt >= hook.attempts) {
    spdlog::error("webhook '{}': run {} not delivered after {} attempt(s): {}", hook.name,
                  delivery.run_id, delivery.attempt, failure);
    return true;
  }
  auto wait = hook.backoff * (1 << std::min(delivery.attempt - 1, 16));
  spdlog::warn("webhook '{}': run {} attempt {} failed ({}); retrying in {} ms", hook.name,
               delivery.run_id, delivery.attempt, failure, wait.count());
  ++delivery.attempt;
  delivery.due = std::chrono::steady_clock::now() + wait;
  return false;
}

}  // namespace freshet
