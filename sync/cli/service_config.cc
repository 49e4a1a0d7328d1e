#include "sync/cli/service_config.h"

#include <array>
#include <cctype>
#include <charconv>
#include <regex>
#include <span>

namespace freshet {
namespace {

constexpr std::array<std::string_view, 13> kServiceKeys = {"listen",      "store",
                                                           "store_env",   "store_file",
                                                           "max_running", "shutdown_timeout",
                                                           "retention",   "max_request_bytes",
                                                           "rate_limit",  "tokens",
                                                           "webhooks",    "tls_cert",
                                                           "tls_key"};
constexpr std::array<std::string_view, 8> kWebhookKeys = {
    "url", "url_env", "secret_env", "format", "on", "jobs", "attempts", "backoff"};
constexpr std::array<std::string_view, 2> kTokenKeys = {"sha256", "scope"};
// The keys every job takes, then each kind's own.
constexpr std::array<std::string_view, 6> kCommonJobKeys = {"kind",     "from", "to",
                                                            "schedule", "tz",   "when_busy"};
constexpr std::array<std::string_view, 10> kSyncJobKeys = {
    "include",  "exclude",    "jobs",         "verify",
    "strategy", "fk_outside", "lock_timeout", "allow_remote_target",
    "full",     "diff"};
constexpr std::array<std::string_view, 7> kCaptureJobKeys = {
    "include", "exclude", "jobs", "level", "zstd_threads", "chunk_size", "keep"};
constexpr std::array<std::string_view, 9> kRestoreJobKeys = {
    "include",  "exclude",    "jobs",         "verify",
    "strategy", "fk_outside", "lock_timeout", "allow_remote_target",
    "targets"};
constexpr std::array<std::string_view, 6> kMigrateJobKeys = {
    "migrations", "layout", "naming", "lock_timeout", "statement_timeout", "include_all"};
constexpr std::array<std::string_view, 14> kPreviewJobKeys = {
    "include",     "exclude",     "jobs",         "verify",
    "strategy",    "fk_outside",  "lock_timeout", "allow_remote_target",
    "migrations",  "layout",      "naming",       "statement_timeout",
    "include_all", "max_previews"};

struct JobKind {
  std::string_view name;
  std::span<const std::string_view> keys;
};
constexpr std::array<JobKind, 6> kJobKinds = {{{"sync", kSyncJobKeys},
                                               {"incremental", kSyncJobKeys},
                                               {"snapshot-capture", kCaptureJobKeys},
                                               {"snapshot-restore", kRestoreJobKeys},
                                               {"migrate-up", kMigrateJobKeys},
                                               {"preview", kPreviewJobKeys}}};

double Seconds(const TomlReader& reader, const toml::node& node, const std::string& path) {
  std::string text = reader.Duration(node, path);
  std::optional<double> seconds = DurationSeconds(text);
  if (!seconds) reader.Fail(node.source(), fmt::format("'{}' is not a duration", path));
  return *seconds;
}

// The kind of the job at `path`, and its keys checked against the kind's: a
// key of another kind is named as such, an unknown one gets a near miss.
const JobKind& ReadKind(const TomlReader& reader, const toml::table& table, const std::string& path,
                        std::string& kind_out) {
  const toml::node* kind = table.get("kind");
  if (!kind) reader.Fail(table.source(), fmt::format("'{}' needs a kind", path));
  kind_out = reader.NonEmptyString(*kind, path + ".kind");
  auto found = std::find_if(kJobKinds.begin(), kJobKinds.end(),
                            [&](const JobKind& known) { return known.name == kind_out; });
  if (found == kJobKinds.end()) {
    std::vector<std::string_view> names;
    for (const JobKind& known : kJobKinds) names.push_back(known.name);
    reader.Fail(kind->source(),
                fmt::format("'{}.kind' must be one of {}", path, fmt::join(names, ", ")));
  }
  std::vector<std::string_view> allowed(kCommonJobKeys.begin(), kCommonJobKeys.end());
  allowed.insert(allowed.end(), found->keys.begin(), found->keys.end());
  for (const auto& [key, node] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    bool other_kind = std::any_of(kJobKinds.begin(), kJobKinds.end(), [&](const JobKind& known) {
      return std::find(known.keys.begin(), known.keys.end(), key.str()) != known.keys.end();
    });
    if (other_kind)
      reader.Fail(node.source(),
                  fmt::format("'{}.{}' does not apply to {} jobs (they take {})", path,
                              PathPart(key.str()), kind_out, fmt::join(found->keys, ", ")));
  }
  reader.CheckKeys(table, path, allowed);
  return *found;
}

int64_t IntegerIn(const TomlReader& reader, const toml::node& node, const std::string& path,
                  int64_t low, int64_t high) {
  int64_t value = reader.Value<int64_t>(node, path, "an integer").get();
  if (value < low || value > high)
    reader.Fail(node.source(), fmt::format("'{}' must be {} to {}", path, low, high));
  return value;
}

// The options of `job` (already checked to belong to its kind), into
// job.options with the types the executors read.
void ReadJobOptions(const TomlReader& reader, const toml::table& table, const std::string& path,
                    JobSpec& job) {
  auto at = [&](std::string_view key) { return path + "." + std::string(key); };
  for (std::string_view key : {"include", "exclude", "full", "diff"})
    if (const toml::node* list = table.get(key))
      job.options[std::string(key)] = reader.Strings(*list, at(key));
  if (const toml::node* jobs = table.get("jobs"))
    job.options["jobs"] = IntegerIn(reader, *jobs, at("jobs"), 1, 64);
  for (std::string_view key : {"verify", "allow_remote_target", "include_all"})
    if (const toml::node* flag = table.get(key))
      job.options[std::string(key)] = reader.Value<bool>(*flag, at(key), "a boolean").get();
  if (const toml::node* strategy = table.get("strategy"))
    job.options["strategy"] = reader.OneOf(*strategy, at("strategy"), {"auto", "bulk", "ordered"});
  if (const toml::node* policy = table.get("fk_outside"))
    job.options["fk_outside"] = reader.OneOf(*policy, at("fk_outside"), {"error", "not-valid"});
  for (std::string_view key : {"lock_timeout", "statement_timeout"})
    if (const toml::node* timeout = table.get(key))
      job.options[std::string(key)] = reader.Duration(*timeout, at(key));
  if (const toml::node* level = table.get("level"))
    job.options["level"] = IntegerIn(reader, *level, at("level"), -7, 19);
  if (const toml::node* threads = table.get("zstd_threads"))
    job.options["zstd_threads"] = IntegerIn(reader, *threads, at("zstd_threads"), 0, 64);
  if (const toml::node* chunk = table.get("chunk_size"))
    job.options["chunk_size"] = IntegerIn(reader, *chunk, at("chunk_size"), 0, int64_t{1} << 30);
  if (const toml::node* limit = table.get("max_previews"))
    job.options["max_previews"] = IntegerIn(reader, *limit, at("max_previews"), 1, 10000);
  if (const toml::node* keep = table.get("keep"))
    job.options["keep"] = IntegerIn(reader, *keep, at("keep"), 1, 1000);
  if (const toml::node* order = table.get("targets"))
    job.options["targets"] = reader.OneOf(*order, at("targets"), {"auto", "together", "in-turn"});
  if (const toml::node* dir = table.get("migrations"))
    job.options["migrations"] = reader.NonEmptyString(*dir, at("migrations"));
  if (const toml::node* layout = table.get("layout"))
    job.options["layout"] = reader.OneOf(*layout, at("layout"), {"supabase", "prisma"});
  if (const toml::node* naming = table.get("naming"))
    job.options["naming"] =
        reader.OneOf(*naming, at("naming"), {"supabase", "strict", "datetime", "sequential"});
}

// What `from` and `to` must be for each kind, where the config alone tells.
void CheckJobShape(const TomlReader& reader, const toml::table& table, const std::string& path,
                   const JobSpec& job) {
  const toml::node* to = table.get("to");
  if (job.kind == "snapshot-capture") {
    if (!to)
      reader.Fail(table.source(),
                  fmt::format("'{}' needs `to`, the directory the snapshots go in", path));
    if (to->is_array())
      reader.Fail(
          to->source(),
          fmt::format("'{}.to' is the directory the snapshots go in: one path, not a list", path));
  }
  if (job.kind == "snapshot-restore" && job.from.empty())
    reader.Fail(table.source(),
                fmt::format("'{}' needs `from`, the snapshot directory (its `latest` capture is "
                            "restored)",
                            path));
  if (job.kind == "preview" && job.from.empty())
    reader.Fail(table.source(),
                fmt::format("'{}' needs `from`: a snapshot directory (its `latest` capture) or a "
                            "source",
                            path));
  if (job.kind == "preview" && (!to || to->is_array()))
    reader.Fail(to ? to->source() : table.source(),
                fmt::format("'{}.to' must name the one preview target (a [targets.NAME] with "
                            "url_template)",
                            path));
  if (job.kind == "migrate-up" && table.get("from"))
    reader.Fail(table.get("from")->source(),
                fmt::format("'{}.from': migrate-up jobs apply the files of `migrations`; they "
                            "take no `from`",
                            path));
}

// A job's kind, `from`, `to`, schedule and options.
JobSpec ReadJob(const TomlReader& reader, const std::string& name, const toml::node& node) {
  std::string path = "jobs." + PathPart(name);
  const toml::table& table = reader.Table(node, path);
  JobSpec job;
  job.name = name;
  ReadKind(reader, table, path, job.kind);
  if (const toml::node* from = table.get("from"))
    job.from = reader.NonEmptyString(*from, path + ".from");
  if (const toml::node* to = table.get("to"))
    job.to = to->is_array() ? reader.Strings(*to, path + ".to")
                            : std::vector<std::string>{reader.NonEmptyString(*to, path + ".to")};
  CheckJobShape(reader, table, path, job);
  if (const toml::node* schedule = table.get("schedule"))
    job.schedule = reader.NonEmptyString(*schedule, path + ".schedule");
  if (const toml::node* tz = table.get("tz"))
    job.time_zone = reader.NonEmptyString(*tz, path + ".tz");
  if (const toml::node* busy = table.get("when_busy"))
    job.queue_when_busy = reader.OneOf(*busy, path + ".when_busy", {"queue", "reject"}) == "queue";
  ReadJobOptions(reader, table, path, job);
  if (job.kind == "preview") job.overridable = {"name"};  // POST {"name": "pr-123"}
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
  int stores = 0;
  if (const toml::node* store = service.get("store")) {
    out.store = reader.NonEmptyString(*store, "service.store");
    ++stores;
  }
  if (const toml::node* store = service.get("store_env")) {
    out.store_env = reader.NonEmptyString(*store, "service.store_env");
    ++stores;
  }
  if (const toml::node* store = service.get("store_file")) {
    out.store_file = reader.NonEmptyString(*store, "service.store_file");
    ++stores;
  }
  if (stores > 1)
    reader.Fail(service.source(),
                "give one of 'service.store', 'service.store_env' and "
                "'service.store_file', not several");
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
  const toml::node* tls_cert = service.get("tls_cert");
  const toml::node* tls_key = service.get("tls_key");
  if (bool(tls_cert) != bool(tls_key))
    reader.Fail(service.source(),
                tls_cert
                    ? "'service.tls_cert' is set but 'service.tls_key' is not; TLS needs both"
                    : "'service.tls_key' is set but 'service.tls_cert' is not; TLS needs both");
  if (tls_cert) out.tls_cert = reader.NonEmptyString(*tls_cert, "service.tls_cert");
  if (tls_key) out.tls_key = reader.NonEmptyString(*tls_key, "service.tls_key");
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

void CheckUrlTemplate(const std::string& url_template, const std::string& what) {
  size_t scheme = url_template.find("://");
  std::string_view head = std::string_view(url_template).substr(0, scheme);
  if (scheme == std::string::npos || (head != "postgres" && head != "postgresql"))
    throw Error(
        ErrorKind::kUsage,
        fmt::format("{} must be a postgres:// URL with {{name}} in its database name", what));
  size_t name = url_template.find("{name}");
  if (name == std::string::npos || url_template.find("{name}", name + 1) != std::string::npos)
    throw Error(ErrorKind::kUsage, fmt::format("{} must hold {{name}} once", what));
  size_t path = url_template.find('/', scheme + 3);
  size_t query = url_template.find('?');
  if (path == std::string::npos || name < path || (query != std::string::npos && name > query))
    throw Error(ErrorKind::kUsage,
                fmt::format("{}: {{name}} must be in the database name (the URL's path), as in "
                            "postgres://user@host:5432/preview_{{name}}",
                            what));
}

void ReadTargetTemplate(const TomlReader& reader, const toml::table& table, const std::string& path,
                        Endpoint& out) {
  if (const toml::node* text = table.get("url_template")) {
    out.url_template = reader.NonEmptyString(*text, path + ".url_template");
    try {
      CheckUrlTemplate(*out.url_template, "'" + path + ".url_template'");
    } catch (const Error& error) {
      reader.Fail(text->source(), error.what());
    }
  }
  if (const toml::node* env = table.get("url_template_env"))
    out.url_template_env = reader.NonEmptyString(*env, path + ".url_template_env");
  if (const toml::node* file = table.get("url_template_file"))
    out.url_template_file = reader.NonEmptyString(*file, path + ".url_template_file");
  if (int(out.url_template.has_value()) + int(out.url_template_env.has_value()) +
          int(out.url_template_file.has_value()) >
      1)
    reader.Fail(table.source(), fmt::format("'{}' has more than one of url_template, "
                                            "url_template_env and url_template_file; set only one",
                                            path));
  for (std::string_view key : {"name_pattern", "maintenance_db"})
    if (table.get(key) && !out.IsTemplate())
      reader.Fail(
          table.get(key)->source(),
          fmt::format("'{}.{}' applies to preview templates (url_template) only", path, key));
  if (const toml::node* pattern = table.get("name_pattern")) {
    out.name_pattern = reader.NonEmptyString(*pattern, path + ".name_pattern");
    try {
      std::regex compiled(out.name_pattern);
    } catch (const std::regex_error& error) {
      reader.Fail(pattern->source(), fmt::format("'{}.name_pattern' is not a regular expression: "
                                                 "{}",
                                                 path, error.what()));
    }
  }
  if (const toml::node* db = table.get("maintenance_db"))
    out.maintenance_db = reader.NonEmptyString(*db, path + ".maintenance_db");
}

std::string Endpoint::ResolveUrlTemplate() const {
  Endpoint plain = *this;
  plain.url = url_template;
  plain.url_env = url_template_env;
  plain.url_file = url_template_file;
  plain.url_template.reset();
  plain.url_template_env.reset();
  plain.url_template_file.reset();
  std::string text = plain.ResolveUrl();
  CheckUrlTemplate(text, fmt::format("{} '{}': its URL template", role, name));
  return text;
}

void ReadJobsSection(const TomlReader& reader, const toml::node& node, std::vector<JobSpec>& out) {
  Positioned<JobSpec> read;
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
  AppendInFileOrder(read, out);
}

}  // namespace freshet
