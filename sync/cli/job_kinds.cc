#include "sync/cli/job_kinds.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "copy/conninfo.h"
#include "copy/error.h"
#include "sync/engine/sync_run.h"
#include "sync/service/api_error.h"

namespace freshet {

void CheckNamingTheJob(const JobSpec& job, const std::function<void()>& check) {
  try {
    check();
  } catch (const Error& error) {
    if (std::string_view(error.what()).starts_with("job '")) throw;
    throw Error(ErrorKind::kUsage, fmt::format("job '{}': {}", job.name, error.what()));
  }
}

void RefuseOverrides(const JobSpec& job, const nlohmann::json& overrides) {
  for (const auto& [key, value] : overrides.items())
    throw ApiError(400,
                   fmt::format("job '{}' takes no overrides, and '{}' is not one", job.name, key));
}

std::string TargetKey(const Config& config, const std::string& target) {
  if (config.targets.count(target)) return "target:" + target;
  // A connection string: named by host, port and database, never its password.
  return "target:" + ConnInfo::Parse(target).Describe();
}

std::optional<std::string> DatabaseKey(const std::function<std::string()>& url) {
  try {
    ConnInfo info = ConnInfo::Parse(url());
    auto value = [&](const char* key) {
      auto it = info.values.find(key);
      return it == info.values.end() ? std::string() : it->second;
    };
    std::string host = value("host").empty() ? value("hostaddr") : value("host");
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string database = value("dbname").empty() ? value("user") : value("dbname");
    return fmt::format("database:{}:{}/{}", host, value("port"), database);
  } catch (const Error&) {  // an unset url_env, a malformed URL: the run names it when it starts
    return std::nullopt;
  }
}

std::vector<std::string> TargetKeys(const Config& config, const std::vector<std::string>& targets) {
  std::vector<std::string> keys;
  for (const std::string& target : targets) keys.push_back(TargetKey(config, target));
  for (const std::string& target : targets) {
    std::optional<std::string> key =
        DatabaseKey([&] { return ResolveEndpoint(config.targets, target).ResolveUrl(); });
    if (key && std::find(keys.begin(), keys.end(), *key) == keys.end()) keys.push_back(*key);
  }
  return keys;
}

std::vector<std::string> SyncTargetNames(const Config& config, const JobSpec& job) {
  if (!job.to.empty()) return job.to;
  if (config.to) return {*config.to};
  throw Error(ErrorKind::kUsage,
              fmt::format("job '{}' has no `to`, and [sync] names no default target", job.name));
}

std::vector<std::string> RepairTarget(const std::string& url, int jobs) {
  std::vector<std::string> lines;
  RestoreOutcome outcome = RunRepair(url, jobs, kRepairLockWait);
  std::string where = ConnInfo::Parse(url).Describe();
  if (outcome.restored.empty() && outcome.problems.empty())
    lines.push_back(fmt::format("{}: nothing to restore", where));
  for (const std::string& line : outcome.restored)
    lines.push_back(fmt::format("{}: restored {}", where, line));
  for (const std::string& line : outcome.problems)
    lines.push_back(
        fmt::format("{}: problem: {} (the next run of the job finishes it)", where, line));
  return lines;
}

std::vector<std::string> TargetsOfRun(const Config& config, const std::vector<std::string>& names,
                                      const RunRecord& run, std::vector<std::string>& lines) {
  std::vector<std::string> out;
  std::vector<std::string> matched;
  for (const std::string& name : names) {
    std::string key = TargetKey(config, name);
    if (std::find(run.targets.begin(), run.targets.end(), key) == run.targets.end()) continue;
    out.push_back(name);
    matched.push_back(key);
  }
  for (const std::string& key : run.targets)
    if (!key.starts_with("database:") &&
        std::find(matched.begin(), matched.end(), key) == matched.end())
      lines.push_back(fmt::format(
          "{}: problem: the job no longer writes there, so it was not repaired; run `freshet "
          "repair --to URL` on it",
          key.substr(key.find(':') + 1)));
  return out;
}

JobExecutor::Report CombineReports(const std::vector<nlohmann::json>& reports,
                                   const std::vector<std::string>& markdown) {
  JobExecutor::Report out;
  if (reports.size() == 1)
    out.json = reports.front();
  else if (!reports.empty())
    out.json = reports;
  for (const std::string& text : markdown) out.markdown += text;
  return out;
}

ObserverStream::ObserverStream(RunObserver& observer) : std::ostream(nullptr), buffer_(observer) {
  rdbuf(&buffer_);
}

ObserverStream::~ObserverStream() { buffer_.Flush(); }

int ObserverStream::Buffer::overflow(int c) {
  if (c == traits_type::eof()) return traits_type::not_eof(c);
  if (c == '\n')
    Flush();
  else
    line_.push_back(static_cast<char>(c));
  return c;
}

void ObserverStream::Buffer::Flush() {
  if (!line_.empty()) observer_.Log(LogLevel::kInfo, line_);
  line_.clear();
}

}  // namespace freshet
