#include "sync/cli/serve_cli.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "copy/error.h"
#include "sync/cli/config.h"
#include "sync/cli/serve_jobs.h"
#include "sync/cli/url_file.h"
#include "sync/cli/version.h"
#include "sync/service/service.h"

namespace freshet {
namespace {

// "127.0.0.1:7432", "[::1]:7432" or "0.0.0.0:80".
void ParseListen(const std::string& text, ServiceSettings& settings) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw Error(
        ErrorKind::kUsage,
        fmt::format("listen address '{}' must be ADDRESS:PORT, as in 127.0.0.1:7432", text));
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  std::string_view digits(text.data() + colon + 1, text.size() - colon - 1);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (error != std::errc() || end != digits.data() + digits.size() || port > 65535)
    throw Error(ErrorKind::kUsage,
                fmt::format("listen address '{}': the port must be 0 to 65535", text));
  settings.listen_address = host;
  settings.listen_port = static_cast<uint16_t>(port);
}

std::string ConfigPath(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("FRESHET_CONFIG"); env && *env) return env;
  throw Error(ErrorKind::kUsage,
              "freshet serve needs a config: --config freshet.toml (or FRESHET_CONFIG)");
}

std::string StoreSetting(const ServeArguments& args, const ServiceConfig& service) {
  if (!args.store.empty()) return args.store;
  if (service.store_env) {
    const char* value = std::getenv(service.store_env->c_str());
    if (!value || !*value)
      throw Error(ErrorKind::kUsage,
                  fmt::format("[service] store_env: environment variable {} is not set",
                              *service.store_env));
    return value;
  }
  if (service.store_file) return ReadUrlFile(*service.store_file, "[service] store_file");
  return service.store.value_or("freshet-service.db");
}

// host:pid, how a shared store's `claimed_by` and the logs name this process.
std::string ReplicaName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  return fmt::format("{}:{}", host, getpid());
}

// A clock that reads an ISO time from `path` at every call (the system
// clock while the file holds none).
Service::Clock TestClock(std::string path) {
  return [path = std::move(path)] {
    std::ifstream file(path);
    std::string text;
    std::getline(file, text);
    return ParseIsoTime(text).value_or(std::chrono::system_clock::now());
  };
}

}  // namespace

CLI::App* AddServeCommand(CLI::App& app, ServeArguments& args) {
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the service: scheduled jobs, an HTTP API to trigger and watch runs, metrics");
  serve->add_option("--listen", args.listen,
                    "ADDRESS:PORT to listen on (default: [service] listen, else 127.0.0.1:7432)");
  serve->add_option("--store", args.store,
                    "Run history: a SQLite file, or a postgres:// URL shared by several replicas "
                    "(default: [service] store, store_env or store_file, else freshet-service.db)");
  return serve;
}

int RunServe(const ServeArguments& args, const std::string& given_config) {
  std::string config_path = ConfigPath(given_config);
  Config config = Config::Load(config_path);
  ServiceSettings settings;
  settings.version = fmt::format("{} ({})", kVersion, kGitRevision);
  ParseListen(args.listen.empty() ? config.service.listen.value_or("127.0.0.1:7432") : args.listen,
              settings);
  settings.store = StoreSetting(args, config.service);
  settings.replica = ReplicaName();
  if (config.service.max_running) settings.max_running = *config.service.max_running;
  if (config.service.shutdown_timeout_seconds)
    settings.shutdown_timeout =
        std::chrono::seconds(static_cast<int64_t>(*config.service.shutdown_timeout_seconds));
  if (config.service.retention_seconds)
    settings.retention =
        std::chrono::seconds(static_cast<int64_t>(*config.service.retention_seconds));
  if (config.service.max_request_bytes)
    settings.body_limit = static_cast<size_t>(*config.service.max_request_bytes);
  if (config.service.rate_limit) {
    settings.requests_per_second = *config.service.rate_limit;
    settings.request_burst = std::max(1.0, *config.service.rate_limit * 4);
  }
  if (config.service.tls_cert && config.service.tls_key) {
    settings.tls_cert = ExpandEnvironment(*config.service.tls_cert, "[service] tls_cert");
    settings.tls_key = ExpandEnvironment(*config.service.tls_key, "[service] tls_key");
  }
  settings.tokens = config.service.tokens;
  if (const char* token = std::getenv("FRESHET_API_TOKEN"); token && *token)
    settings.tokens.push_back({"FRESHET_API_TOKEN", Sha256(token), Scope::kAdmin});
  if (settings.tokens.empty())
    throw Error(ErrorKind::kUsage,
                "freshet serve: no API token; set FRESHET_API_TOKEN (one admin token) or add "
                "[service.tokens.NAME] with sha256 and scope to the config");

  for (const ServiceConfig::WebhookConfig& entry : config.service.webhooks) {
    Webhook hook = entry.hook;
    auto from_env = [&](const std::string& variable, std::string_view what) {
      const char* value = std::getenv(variable.c_str());
      if (!value || !*value)
        throw Error(ErrorKind::kUsage, fmt::format("webhook '{}': environment variable {} ({}) "
                                                   "is not set",
                                                   hook.name, variable, what));
      return std::string(value);
    };
    if (entry.url_env) hook.url = from_env(*entry.url_env, "its URL");
    if (entry.secret_env) hook.secret = from_env(*entry.secret_env, "its signing secret");
    for (const std::string& job : hook.jobs)
      if (std::none_of(config.service_jobs.begin(), config.service_jobs.end(),
                       [&](const JobSpec& spec) { return spec.name == job; }))
        throw Error(
            ErrorKind::kUsage,
            fmt::format("webhook '{}' names job '{}', which is not configured", hook.name, job));
    settings.webhooks.push_back(std::move(hook));
  }
  ConfigJobExecutor executor(config_path, config);
  for (const JobSpec& job : config.service_jobs) executor.Check(job);
  Service::Clock clock = std::chrono::system_clock::now;
  if (const char* file = std::getenv("FRESHET_TEST_CLOCK_FILE"); file && *file) {
    // Tests move time by writing an ISO time into this file.
    clock = TestClock(file);
    settings.schedule_check = std::chrono::milliseconds(50);
    spdlog::warn("freshet serve: the clock is read from {} (FRESHET_TEST_CLOCK_FILE)", file);
  }
  Service service(settings, config.service_jobs, executor, clock);
  return service.Run();
}

}  // namespace freshet
