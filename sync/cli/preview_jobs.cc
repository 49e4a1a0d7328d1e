#include "sync/cli/preview_jobs.h"

#include <fmt/format.h>

#include <filesystem>
#include <optional>
#include <regex>

#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"
#include "copy/identifiers.h"
#include "copy/markdown.h"
#include "sync/cli/job_kinds.h"
#include "sync/cli/snapshot_cli.h"
#include "sync/cli/snapshot_store.h"
#include "sync/cli/sync_options.h"
#include "sync/engine/report.h"
#include "sync/service/api_error.h"

namespace freshet {
namespace {

// A database freshet made for a preview carries a comment holding this JSON
// key (with the name, the job, when it was made and last refreshed).
constexpr char kMarker[] = "freshet_preview";

constexpr char kFindDatabaseSql[] =
    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1";
constexpr char kListPreviewsSql[] =
    "SELECT datname, shobj_description(oid, 'pg_database'), pg_database_size(oid) "
    "FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE '%\"freshet_preview\"%' "
    "ORDER BY datname";

// The preview's URL: the template with `name` (percent-encoded) for {name}.
std::string PreviewUrl(const std::string& url_template, const std::string& name) {
  std::string url = url_template;
  url.replace(url.find("{name}"), 6, PercentEncode(name));
  return url;
}

// The URL with `database` as its database: the maintenance connection.
std::string WithDatabase(const std::string& url, const std::string& database) {
  size_t path = url.find('/', url.find("://") + 3);
  size_t query = url.find('?');
  return url.substr(0, path + 1) + PercentEncode(database) +
         (query == std::string::npos ? "" : url.substr(query));
}

// The URL without its password (in the user info or a password= parameter).
std::string WithoutPassword(std::string url) {
  size_t start = url.find("://") + 3;
  size_t at = url.rfind('@', url.find('/', start));
  if (at != std::string::npos && at > start) {
    size_t colon = url.find(':', start);
    if (colon != std::string::npos && colon < at) url.erase(colon, at - colon);
  }
  static const std::regex kPasswordParameter("([?&])password=[^&]*&?");
  url = std::regex_replace(url, kPasswordParameter, "$1");
  if (!url.empty() && (url.back() == '?' || url.back() == '&')) url.pop_back();
  return url;
}

std::string DatabaseOf(const std::string& url) {
  ConnInfo info = ConnInfo::Parse(url);
  auto it = info.values.find("dbname");
  return it == info.values.end() ? "" : it->second;
}

// The marker comment of a database, when it is a preview of `job`.
std::optional<nlohmann::json> MarkerOf(const std::optional<std::string>& comment,
                                       const JobSpec& job) {
  if (!comment) return std::nullopt;
  nlohmann::json marker = nlohmann::json::parse(*comment, nullptr, false);
  if (!marker.is_object() || !marker.contains(kMarker) || marker.value("job", "") != job.name)
    return std::nullopt;
  return marker;
}

bool IsSource(const Config& config, const std::string& from) {
  return config.sources.count(from) || from.find("://") != std::string::npos ||
         from.find('=') != std::string::npos;
}

std::string NameOf(const nlohmann::json& overrides) {
  if (!overrides.contains("name") || !overrides["name"].is_string()) return "";
  return overrides["name"].get<std::string>();
}

}  // namespace

PreviewJobs::PreviewJobs(std::string config_path, const Config& config)
    : config_path_(std::move(config_path)), config_(config) {}

const Endpoint& PreviewJobs::Target(const JobSpec& job) const {
  auto it = config_.targets.find(job.to.at(0));
  if (it == config_.targets.end() || !it->second.IsTemplate())
    throw Error(ErrorKind::kUsage,
                fmt::format("job '{}': `to` = '{}' is not a preview target (a [targets.NAME] with "
                            "url_template)",
                            job.name, job.to.at(0)));
  return it->second;
}

void PreviewJobs::Check(const JobSpec& job) const {
  CheckNamingTheJob(job, [&] {
    const Endpoint& target = Target(job);
    target.ResolveUrlTemplate();
    CheckMigrationsJob(config_, job);
    if (!IsSource(config_, job.from)) return;
    ResolveEndpoint(config_.sources, job.from).ResolveUrl();
    // Every run would be refused after creating its database: say so now.
    // (From snapshots, a masked snapshot needs no rules; the restore checks.)
    if (target.masked && config_.mask.rules.empty())
      throw Error(ErrorKind::kUsage,
                  fmt::format("target '{}' is marked masked = true and the config has no [mask] "
                              "rules, so no preview could be synced from '{}'",
                              target.name, job.from));
  });
}

void PreviewJobs::CheckName(const JobSpec& job, const std::string& name) const {
  const Endpoint& target = Target(job);
  std::string shown = name.size() > 80 ? name.substr(0, 80) + "..." : name;
  if (!std::regex_match(name, std::regex(target.name_pattern)))
    throw ApiError(400, fmt::format("preview name '{}' does not match the pattern {} of target "
                                    "'{}'",
                                    shown, target.name_pattern, target.name));
  std::string database = DatabaseOf(PreviewUrl(target.ResolveUrlTemplate(), name));
  if (database.size() > 63)
    throw ApiError(400, fmt::format("preview name '{}' makes the database name {}, longer than "
                                    "PostgreSQL's 63 bytes",
                                    shown, database));
}

std::string PreviewJobs::Url(const JobSpec& job, const std::string& name,
                             bool with_password) const {
  std::string url = PreviewUrl(Target(job).ResolveUrlTemplate(), name);
  return with_password ? url : WithoutPassword(url);
}

std::optional<int> PreviewJobs::Limit(const JobSpec& job) const {
  return JobOption<int>(job, "max_previews");
}

std::vector<std::string> PreviewJobs::Targets(const JobSpec& job,
                                              const nlohmann::json& overrides) const {
  for (const auto& [key, value] : overrides.items())
    if (key != "name")
      throw ApiError(400, fmt::format("job '{}' takes the override name only, and '{}' is not it",
                                      job.name, key));
  std::string name = NameOf(overrides);
  if (name.empty())
    throw ApiError(
        400,
        fmt::format(R"(job '{}' makes previews: say which, as {{"name": "pr-123"}})", job.name));
  CheckName(job, name);
  std::vector<std::string> keys = {fmt::format("target:{}/{}", job.to.at(0), name)};
  if (std::optional<std::string> database =
          DatabaseKey([&] { return PreviewUrl(Target(job).ResolveUrlTemplate(), name); }))
    keys.push_back(*database);
  return keys;
}

bool PreviewJobs::EnsureDatabase(const JobSpec& job, const std::string& name,
                                 const RunContext& context) {
  const Endpoint& target = Target(job);
  std::string url_template = target.ResolveUrlTemplate();
  std::string database = DatabaseOf(PreviewUrl(url_template, name));
  std::lock_guard lock(create_mutex_);
  Connection server =
      Connection::Open(WithDatabase(url_template, target.maintenance_db), "preview server");
  Result found = server.Exec(kFindDatabaseSql, {database});
  if (found.Rows() > 0) {
    std::optional<nlohmann::json> marker = MarkerOf(found.GetOptional(0, 0), job);
    if (!marker || marker->value(kMarker, "") != name)
      throw Error(ErrorKind::kRefused,
                  fmt::format("database {} exists and is not a preview freshet made for job "
                              "'{}'; refusing to write to it",
                              database, job.name));
    return false;
  }
  if (std::optional<int> limit = Limit(job)) {
    size_t existing = List(job).size();
    if (static_cast<int>(existing) >= *limit)
      throw Error(ErrorKind::kRefused,
                  fmt::format("job '{}' allows at most {} previews (max_previews) and {} exist; "
                              "no database was created for '{}'",
                              job.name, *limit, existing, name));
  }
  nlohmann::json marker = {{kMarker, name},
                           {"job", job.name},
                           {"created_at", IsoTime(std::chrono::system_clock::now())},
                           {"created_by_run", context.run.id}};
  server.Exec("CREATE DATABASE " + QuoteIdent(database));
  server.Exec("COMMENT ON DATABASE " + QuoteIdent(database) + " IS " + QuoteLiteral(marker.dump()));
  context.observer.Log(LogLevel::kInfo,
                       fmt::format("preview '{}': created database {}", name, database));
  return true;
}

void PreviewJobs::MarkRefreshed(const JobSpec& job, const std::string& name, int64_t run) {
  const Endpoint& target = Target(job);
  std::string url_template = target.ResolveUrlTemplate();
  std::string database = DatabaseOf(PreviewUrl(url_template, name));
  Connection server =
      Connection::Open(WithDatabase(url_template, target.maintenance_db), "preview server");
  Result found = server.Exec(kFindDatabaseSql, {database});
  if (found.Rows() == 0) return;
  std::optional<nlohmann::json> marker = MarkerOf(found.GetOptional(0, 0), job);
  if (!marker) return;
  (*marker)["refreshed_at"] = IsoTime(std::chrono::system_clock::now());
  (*marker)["refreshed_by_run"] = run;
  server.Exec("COMMENT ON DATABASE " + QuoteIdent(database) + " IS " +
              QuoteLiteral(marker->dump()));
}

// Step 3: the latest snapshot of `from` restored into the preview, or a sync
// from `from` when it is a source; the report as the command's.
void PreviewJobs::Load(const RunContext& context, const std::string& url, const std::string& label,
                       nlohmann::json& report, std::string& markdown) {
  const JobSpec& job = context.job;
  const Endpoint& target = Target(job);
  auto safety = [&](SafetyOptions& options) {
    options.target_name = label;
    options.protected_target = target.protected_target;
    options.allow_writes = target.allow_writes;
    options.masked_target = target.masked;
  };
  if (IsSource(config_, job.from)) {
    SyncArguments args;
    args.config_path = config_path_;
    args.from = job.from;
    args.to = url;
    args.jobs = JobOption<int>(job, "jobs");
    args.include = JobOption<std::vector<std::string>>(job, "include").value_or(args.include);
    args.exclude = JobOption<std::vector<std::string>>(job, "exclude").value_or(args.exclude);
    args.verify = JobOption<bool>(job, "verify").value_or(false);
    args.allow_remote_target = JobOption<bool>(job, "allow_remote_target").value_or(false);
    args.strategy = JobOption<std::string>(job, "strategy").value_or("auto");
    args.fk_outside = JobOption<std::string>(job, "fk_outside");
    args.lock_timeout = JobOption<std::string>(job, "lock_timeout");
    SyncOptions options = ResolveSyncOptions(args, true);
    safety(options.safety);
    options.observer = &context.observer;
    RunReport run;
    try {
      RunSync(options, run, context.stop);
    } catch (...) {
      if (!run.command.empty()) {
        report = RenderJson(run);
        markdown = RenderMarkdown(run);
      }
      throw;
    }
    report = RenderJson(run);
    markdown = RenderMarkdown(run);
    return;
  }
  LockedSnapshot snapshot = LockSnapshot(std::filesystem::absolute(job.from));
  context.observer.Log(LogLevel::kInfo,
                       fmt::format("restoring snapshot {}", snapshot.path.string()));
  SnapshotArguments args;
  args.dir = snapshot.path.string();
  args.to = {url};
  args.include = JobOption<std::vector<std::string>>(job, "include").value_or(args.include);
  args.exclude = JobOption<std::vector<std::string>>(job, "exclude").value_or(args.exclude);
  args.jobs = JobOption<int>(job, "jobs");
  args.verify = JobOption<bool>(job, "verify").value_or(false);
  args.allow_remote_target = JobOption<bool>(job, "allow_remote_target").value_or(false);
  args.strategy = JobOption<std::string>(job, "strategy").value_or(args.strategy);
  args.fk_outside = JobOption<std::string>(job, "fk_outside").value_or(args.fk_outside);
  args.lock_timeout = JobOption<std::string>(job, "lock_timeout").value_or(args.lock_timeout);
  RestoreOptions options = ResolveRestoreOptions(args, config_);
  safety(options.targets.front().safety);
  options.observer = &context.observer;
  std::vector<RunReport> runs;
  auto keep = [&] {
    if (runs.empty() || runs.front().target.empty()) return;
    report = RenderJson(runs.front());
    markdown = RenderMarkdown(runs.front());
  };
  try {
    RestoreAndReport(options, runs, context.stop);
  } catch (...) {
    keep();
    throw;
  }
  keep();
}

void PreviewJobs::Execute(const RunContext& context, Report& report) {
  const JobSpec& job = context.job;
  std::string name = NameOf(context.run.overrides);
  CheckName(job, name);
  std::string url = PreviewUrl(Target(job).ResolveUrlTemplate(), name);
  std::string label = fmt::format("{}/{}", job.to.at(0), name);
  nlohmann::json preview = {{"name", name}, {"database", DatabaseOf(url)}, {"created", false}};
  nlohmann::json migrate, load;
  std::string migrate_markdown, load_markdown;
  auto keep = [&](const std::string& error) {
    report.json = {{"command", "preview"},
                   {"ok", error.empty()},
                   {"error", error.empty() ? nlohmann::json() : nlohmann::json(error)},
                   {"preview", preview},
                   {"migrate", migrate},
                   {"load", load}};
    report.markdown = fmt::format("## freshet preview {}\n\n{}{}{}\n", MarkdownCode(name),
                                  error.empty() ? "" : "Failed: " + MarkdownCell(error) + "\n\n",
                                  migrate_markdown, load_markdown);
  };
  try {
    preview["created"] = EnsureDatabase(job, name, context);
    ThrowIfStopped(context.stop, fmt::format("preview '{}'", name));
    MigrateTarget(config_, job, url, context, migrate);
    if (migrate.is_object())
      migrate_markdown = fmt::format("### Migrations\n\n{} applied\n\n", migrate["applied"].size());
    Load(context, url, label, load, load_markdown);
    MarkRefreshed(job, name, context.run.id);
  } catch (const std::exception& error) {
    keep(RedactSecrets(error.what()));
    throw;
  }
  keep("");
}

std::vector<std::string> PreviewJobs::Repair(const JobSpec& job, const RunRecord& run) {
  std::string name = NameOf(run.overrides);
  if (name.empty()) return {"nothing to repair: the run named no preview"};
  const Endpoint& target = Target(job);
  std::string url_template = target.ResolveUrlTemplate();
  std::string database = DatabaseOf(PreviewUrl(url_template, name));
  Connection server =
      Connection::Open(WithDatabase(url_template, target.maintenance_db), "preview server");
  if (server.Exec(kFindDatabaseSql, {database}).Rows() == 0)
    return {fmt::format("preview '{}': nothing to repair, its database is gone", name)};
  return RepairTarget(PreviewUrl(url_template, name), JobOption<int>(job, "jobs").value_or(4));
}

std::vector<PreviewInfo> PreviewJobs::List(const JobSpec& job) {
  const Endpoint& target = Target(job);
  Connection server = Connection::Open(
      WithDatabase(target.ResolveUrlTemplate(), target.maintenance_db), "preview server");
  Result rows = server.Exec(kListPreviewsSql);
  std::vector<PreviewInfo> out;
  for (int row = 0; row < rows.Rows(); ++row) {
    std::optional<nlohmann::json> marker = MarkerOf(rows.GetOptional(row, 1), job);
    if (!marker) continue;
    PreviewInfo info;
    info.name = marker->value(kMarker, "");
    info.database = rows.Get(row, 0);
    info.size_bytes = rows.GetInt(row, 2);
    info.created_at = marker->value("created_at", "");
    if (marker->contains("refreshed_at")) {
      info.refreshed_at = marker->value("refreshed_at", "");
      info.refreshed_by_run = marker->value("refreshed_by_run", int64_t{0});
    }
    out.push_back(std::move(info));
  }
  return out;
}

void PreviewJobs::Drop(const JobSpec& job, const std::string& name) {
  const Endpoint& target = Target(job);
  std::string url_template = target.ResolveUrlTemplate();
  std::string database = DatabaseOf(PreviewUrl(url_template, name));
  std::lock_guard lock(create_mutex_);
  Connection server =
      Connection::Open(WithDatabase(url_template, target.maintenance_db), "preview server");
  Result found = server.Exec(kFindDatabaseSql, {database});
  std::optional<nlohmann::json> marker =
      found.Rows() > 0 ? MarkerOf(found.GetOptional(0, 0), job) : std::nullopt;
  if (!marker || marker->value(kMarker, "") != name)
    throw ApiError(404, fmt::format("job '{}' has no preview named '{}'", job.name, name));
  server.Exec("DROP DATABASE " + QuoteIdent(database) + " WITH (FORCE)");
}

}  // namespace freshet
