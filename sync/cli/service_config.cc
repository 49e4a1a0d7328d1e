#include "sync/cli/service_config.h"

#include <array>
#include <cctype>
#include <charconv>

namespace freshet {
namespace {

constexpr std::array<std::string_view, 9> kServiceKeys = {
    "listen",     "store",  "max_running", "shutdown_timeout", "retention", "max_request_bytes",
    "rate_limit", "tokens", "webhooks"};
constexpr std::array<std::string_view, 8> kWebhookKeys = {
    "url", "url_env", "secret_env", "format", "on", "jobs", "attempts", "backoff"};
constexpr std::array<std::string_view, 2> kTokenKeys = {"sha256", "scope"};
constexpr std::array<std::string_view, 16> kJobKeys = {
    "kind",    "from", "to",     "schedule", "tz",         "when_busy",    "include",
    "exclude", "jobs", "verify", "strategy", "fk_outside", "lock_timeout", "allow_remote_target",
    "full",    "diff"};
constexpr std::array<std::string_view, 2> kSupportedKinds = {"sync", "incremental"};
constexpr std::array<std::string_view, 3> kLaterKinds = {"snapshot-capture", "snapshot-restore",
                                                         "migrate-up"};

double Seconds(const TomlReader& reader, const toml::node& node, const std::string& path) {
  std::string text = reader.Duration(node, path);
  std::optional<double> seconds = DurationSeconds(text);
  if (!seconds) reader.Fail(node.source(), fmt::format("'{}' is not a duration", path));
  return *seconds;
}

// A job's `from`, `to`, schedule and options.
JobSpec ReadJob(const TomlReader& reader, const std::string& name, const toml::node& node) {
  std::string path = "jobs." + PathPart(name);
  const toml::table& table = reader.Table(node, path);
  reader.CheckKeys(table, path, kJobKeys);
  JobSpec job;
  job.name = name;
  const toml::node* kind = table.get("kind");
  if (!kind) reader.Fail(table.source(), fmt::format("'{}' needs a kind", path));
  job.kind = reader.NonEmptyString(*kind, path + ".kind");
  if (std::find(kLaterKinds.begin(), kLaterKinds.end(), job.kind) != kLaterKinds.end())
    reader.Fail(kind->source(),
                fmt::format("'{}.kind' = \"{}\" is not supported by this freshet yet (sync and "
                            "incremental jobs are)",
                            path, job.kind));
  if (std::find(kSupportedKinds.begin(), kSupportedKinds.end(), job.kind) == kSupportedKinds.end())
    reader.Fail(kind->source(),
                fmt::format("'{}.kind' must be one of {}", path, fmt::join(kSupportedKinds, ", ")));
  if (const toml::node* from = table.get("from"))
    job.from = reader.NonEmptyString(*from, path + ".from");
  if (const toml::node* to = table.get("to"))
    job.to = to->is_array() ? reader.Strings(*to, path + ".to")
                            : std::vector<std::string>{reader.NonEmptyString(*to, path + ".to")};
  if (const toml::node* schedule = table.get("schedule"))
    job.schedule = reader.NonEmptyString(*schedule, path + ".schedule");
  if (const toml::node* tz = table.get("tz"))
    job.time_zone = reader.NonEmptyString(*tz, path + ".tz");
  if (const toml::node* busy = table.get("when_busy"))
    job.queue_when_busy = reader.OneOf(*busy, path + ".when_busy", {"queue", "reject"}) == "queue";
  for (std::string_view key : {"include", "exclude", "full", "diff"})
    if (const toml::node* list = table.get(key))
      job.options[std::string(key)] = reader.Strings(*list, path + "." + std::string(key));
  if (const toml::node* jobs = table.get("jobs")) {
    int64_t value = reader.Value<int64_t>(*jobs, path + ".jobs", "an integer").get();
    if (value < 1 || value > 64)
      reader.Fail(jobs->source(), fmt::format("'{}.jobs' must be 1 to 64", path));
    job.options["jobs"] = value;
  }
  for (std::string_view key : {"verify", "allow_remote_target"})
    if (const toml::node* flag = table.get(key))
      job.options[std::string(key)] =
          reader.Value<bool>(*flag, path + "." + std::string(key), "a boolean").get();
  if (const toml::node* strategy = table.get("strategy"))
    job.options["strategy"] =
        reader.OneOf(*strategy, path + ".strategy", {"auto", "bulk", "ordered"});
  if (const toml::node* policy = table.get("fk_outside"))
    job.options["fk_outside"] = reader.OneOf(*policy, path + ".fk_outside", {"error", "not-valid"});
  if (const toml::node* timeout = table.get("lock_timeout"))
    job.options["lock_timeout"] = reader.Duration(*timeout, path + ".lock_timeout");
  return job;
}

ServiceConfig::WebhookConfig ReadWebhook(const TomlReader& reader, const std::string& name,
                                         const toml::node& node) {
  std::string path = "service.webhooks." + PathPart(name);
  const toml::table& table = reader.Table(node, path);
  reader.CheckKeys(table, path, kWebhookKeys);
  ServiceConfig::WebhookConfig out;
  out.hook.name = name;
  const toml::node* url = table.get("url");
  const toml::node* url_env = table.get("url_env");
  if (bool(url) == bool(url_env))
    reader.Fail(table.source(), fmt::format("'{}' needs one of url and url_env", path));
  if (url) {
    out.hook.url = reader.NonEmptyString(*url, path + ".url");
    if (!out.hook.url.starts_with("http://") && !out.hook.url.starts_with("https://"))
      reader.Fail(url->source(), fmt::format("'{}.url' must start with http:// or https://", path));
  }
  if (url_env) out.url_env = reader.NonEmptyString(*url_env, path + ".url_env");
  if (const toml::node* secret = table.get("secret_env"))
    out.secret_env = reader.NonEmptyString(*secret, path + ".secret_env");
  if (const toml::node* format = table.get("format"))
    out.hook.slack = reader.OneOf(*format, path + ".format", {"json", "slack"}) == "slack";
  if (const toml::node* on = table.get("on")) {
    out.hook.states = reader.Strings(*on, path + ".on");
    for (const std::string& state : out.hook.states)
      if (state != "succeeded" && state != "failed" && state != "cancelled")
        reader.Fail(on->source(), fmt::format("'{}.on' takes succeeded, failed and cancelled, "
                                              "not '{}'",
                                              path, state));
  }
  if (const toml::node* jobs = table.get("jobs"))
    out.hook.jobs = reader.Strings(*jobs, path + ".jobs");
  if (const toml::node* attempts = table.get("attempts")) {
    int64_t value = reader.Value<int64_t>(*attempts, path + ".attempts", "an integer").get();
    if (value < 1 || value > 20)
      reader.Fail(attempts->source(), fmt::format("'{}.attempts' must be 1 to 20", path));
    out.hook.attempts = static_cast<int>(value);
  }
  if (const toml::node* backoff = table.get("backoff"))
    out.hook.backoff = std::chrono::milliseconds(
        static_cast<int64_t>(Seconds(reader, *backoff, path + ".backoff") * 1000));
  return out;
}

}  // namespace

std::optional<double> DurationSeconds(std::string_view text) {
  if (!IsDuration(text)) return std::nullopt;
  size_t end = 0;
  while (end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.'))
    ++end;
  double number = std::stod(std::string(text.substr(0, end)));
  std::string_view unit = text.substr(end);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (unit == "us") return number / 1e6;
  if (unit == "ms") return number / 1e3;
  if (unit.empty() || unit == "s") return number;
  if (unit == "min") return number * 60;
  if (unit == "h") return number * 3600;
  if (unit == "d") return number * 86400;
  return std::nullopt;
}

void ReadServiceSection(const TomlReader& reader, const toml::node& node, ServiceConfig& out) {
  const toml::table& service = reader.Table(node, "service");
  reader.CheckKeys(service, "service", kServiceKeys);
  if (const toml::node* listen = service.get("listen"))
    out.listen = reader.NonEmptyString(*listen, "service.listen");
  if (const toml::node* store = service.get("store"))
    out.store = reader.NonEmptyString(*store, "service.store");
  if (const toml::node* limit = service.get("max_running")) {
    int64_t value = reader.Value<int64_t>(*limit, "service.max_running", "an integer").get();
    if (value < 1 || value > 64)
      reader.Fail(limit->source(), "'service.max_running' must be 1 to 64");
    out.max_running = static_cast<int>(value);
  }
  if (const toml::node* timeout = service.get("shutdown_timeout"))
    out.shutdown_timeout_seconds = Seconds(reader, *timeout, "service.shutdown_timeout");
  if (const toml::node* retention = service.get("retention"))
    out.retention_seconds = Seconds(reader, *retention, "service.retention");
  if (const toml::node* bytes = service.get("max_request_bytes")) {
    int64_t value = reader.Value<int64_t>(*bytes, "service.max_request_bytes", "an integer").get();
    if (value < 1024)
      reader.Fail(bytes->source(), "'service.max_request_bytes' must be at least 1024");
    out.max_request_bytes = value;
  }
  if (const toml::node* rate = service.get("rate_limit")) {
    double value = rate->is_integer()
                       ? static_cast<double>(rate->as_integer()->get())
                       : reader.Value<double>(*rate, "service.rate_limit", "a number").get();
    if (value <= 0) reader.Fail(rate->source(), "'service.rate_limit' must be positive");
    out.rate_limit = value;
  }
  if (const toml::node* hooks = service.get("webhooks"))
    for (const auto& [key, value] : reader.Table(*hooks, "service.webhooks"))
      out.webhooks.push_back(ReadWebhook(reader, std::string(key.str()), value));
  if (const toml::node* tokens = service.get("tokens")) {
    for (const auto& [key, value] : reader.Table(*tokens, "service.tokens")) {
      std::string name(key.str());
      std::string path = "service.tokens." + PathPart(name);
      const toml::table& table = reader.Table(value, path);
      reader.CheckKeys(table, path, kTokenKeys);
      const toml::node* hash = table.get("sha256");
      const toml::node* scope = table.get("scope");
      if (!hash || !scope)
        reader.Fail(table.source(), fmt::format("'{}' needs sha256 and scope", path));
      ApiToken token;
      token.name = name;
      try {
        token.sha256 =
            ParseTokenHash(reader.NonEmptyString(*hash, path + ".sha256"), "'" + path + ".sha256'");
        token.scope = ParseScope(reader.NonEmptyString(*scope, path + ".scope"));
      } catch (const Error& error) {
        reader.Fail(table.source(), error.what());
      }
      out.tokens.push_back(std::move(token));
    }
  }
}

void ReadJobsSection(const TomlReader& reader, const toml::node& node, std::vector<JobSpec>& out) {
  std::vector<std::pair<toml::source_position, JobSpec>> read;
  for (const auto& [key, value] : reader.Table(node, "jobs")) {
    std::string name(key.str());
    bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    const toml::source_region& where = key.source().begin.line > 0 ? key.source() : value.source();
    if (!valid)
      reader.Fail(where, fmt::format("job name {} must be letters, digits, '-', '_' or '.' (it "
                                     "is part of the API's URLs)",
                                     PathPart(name)));
    read.emplace_back(where.begin, ReadJob(reader, name, value));
  }
  std::stable_sort(read.begin(), read.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
  });
  for (auto& entry : read) out.push_back(std::move(entry.second));
}

}  // namespace freshet
