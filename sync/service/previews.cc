#include "sync/service/previews.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "sync/service/api_error.h"
#include "sync/service/run_json.h"

namespace freshet {
namespace {

// The body of POST /v1/previews: {"name": "pr-123", "job"?: "previews"}.
std::pair<std::string, std::optional<std::string>> ParseCreateBody(const std::string& text) {
  nlohmann::json body;
  try {
    body =
        nlohmann::json::parse(text.find_first_not_of(" \t\r\n") == std::string::npos ? "{}" : text);
  } catch (const nlohmann::json::parse_error& error) {
    throw ApiError(400, fmt::format("the body is not JSON: {}", error.what()));
  }
  if (!body.is_object()) throw ApiError(400, "the body must be a JSON object");
  for (const auto& [key, value] : body.items())
    if (key != "name" && key != "job")
      throw ApiError(400,
                     fmt::format("'{}' is not a field of a preview; it takes name and job", key));
  if (!body.contains("name") || !body["name"].is_string())
    throw ApiError(400, R"(the body needs the preview's name as a string: {"name": "pr-123"})");
  std::optional<std::string> job;
  if (body.contains("job")) {
    if (!body["job"].is_string()) throw ApiError(400, "'job' must be a string");
    job = body["job"].get<std::string>();
  }
  return {body["name"].get<std::string>(), job};
}

double AgeSeconds(const std::string& created_at) {
  auto created = ParseIsoTime(created_at);
  if (!created) return 0;
  return std::chrono::duration<double>(std::chrono::system_clock::now() - *created).count();
}

}  // namespace

Previews::Previews(RunManager& runs, PreviewDatabases& databases)
    : runs_(runs), databases_(databases) {}

Previews::~Previews() { pool_.join(); }

std::vector<const JobSpec*> Previews::PreviewJobs() const {
  std::vector<const JobSpec*> jobs;
  for (const JobSpec& job : runs_.jobs())
    if (job.kind == "preview") jobs.push_back(&job);
  return jobs;
}

const JobSpec& Previews::JobFor(const std::optional<std::string>& name) const {
  std::vector<const JobSpec*> jobs = PreviewJobs();
  if (name) {
    const JobSpec* job = runs_.FindJob(*name);
    if (!job) throw ApiError(404, fmt::format("no job named '{}'", *name));
    if (job->kind != "preview")
      throw ApiError(400, fmt::format("job '{}' is a {} job, not a preview job", *name, job->kind));
    return *job;
  }
  if (jobs.empty())
    throw ApiError(404, "no preview job is configured ([jobs.NAME] kind = preview)");
  if (jobs.size() > 1) {
    std::vector<std::string> names;
    for (const JobSpec* job : jobs) names.push_back(job->name);
    throw ApiError(400, fmt::format("several preview jobs are configured ({}); say which with "
                                    "\"job\"",
                                    fmt::join(names, ", ")));
  }
  return *jobs.front();
}

std::vector<std::pair<std::string, int64_t>> Previews::ActiveRuns(const JobSpec& job) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const RunManager::LiveRun& run : runs_.Active())
    if (run.record.job == job.name && run.record.overrides.contains("name") &&
        run.record.overrides["name"].is_string())
      out.emplace_back(run.record.overrides["name"].get<std::string>(), run.record.id);
  return out;
}

Previews::Answer Previews::Create(const std::string& body, const std::string& requested_by,
                                  bool admin) {
  auto [name, job_name] = ParseCreateBody(body);
  const JobSpec& job = JobFor(job_name);
  databases_.CheckName(job, name);
  std::vector<PreviewInfo> existing = databases_.List(job);
  bool exists = std::any_of(existing.begin(), existing.end(),
                            [&](const PreviewInfo& preview) { return preview.name == name; });
  if (std::optional<int> limit = databases_.Limit(job); limit && !exists) {
    std::set<std::string> names;  // those that exist and those being created
    for (const PreviewInfo& preview : existing) names.insert(preview.name);
    for (const auto& [active, id] : ActiveRuns(job)) names.insert(active);
    if (static_cast<int>(names.size()) >= *limit)
      throw ApiError(409, fmt::format("job '{}' allows at most {} previews (max_previews) and {} "
                                      "exist or are being made; delete one first (DELETE "
                                      "/v1/previews/NAME)",
                                      job.name, *limit, names.size()));
  }
  int64_t id = runs_.Trigger(job.name, {{"name", name}}, "api", requested_by);
  std::optional<RunManager::LiveRun> run = runs_.Find(id);
  Answer answer;
  answer.status = 202;
  answer.body = run ? RunJson(run->record, run->watch) : nlohmann::json{{"id", id}};
  answer.body["url"] = fmt::format("/v1/runs/{}", id);
  answer.body["preview"] = {{"name", name},
                            {"job", job.name},
                            {"url", databases_.Url(job, name, admin)},
                            {"exists", exists}};
  answer.location = fmt::format("/v1/runs/{}", id);
  return answer;
}

Previews::Answer Previews::List(bool admin) {
  nlohmann::json previews = nlohmann::json::array();
  for (const JobSpec* job : PreviewJobs()) {
    std::vector<std::pair<std::string, int64_t>> active = ActiveRuns(*job);
    for (const PreviewInfo& preview : databases_.List(*job)) {
      nlohmann::json entry = {{"name", preview.name},
                              {"job", job->name},
                              {"database", preview.database},
                              {"url", databases_.Url(*job, preview.name, admin)},
                              {"size_bytes", preview.size_bytes},
                              {"created_at", preview.created_at},
                              {"age_seconds", AgeSeconds(preview.created_at)},
                              {"last_refresh", nullptr},
                              {"active_run", nullptr}};
      if (preview.refreshed_at)
        entry["last_refresh"] = {{"at", *preview.refreshed_at},
                                 {"run", preview.refreshed_by_run.value_or(0)}};
      for (const auto& [name, id] : active)
        if (name == preview.name) entry["active_run"] = id;
      previews.push_back(std::move(entry));
    }
  }
  return {200, {{"previews", previews}}, ""};
}

Previews::Answer Previews::Drop(const std::string& name,
                                const std::optional<std::string>& job_name) {
  std::vector<const JobSpec*> candidates;
  if (job_name) {
    candidates.push_back(&JobFor(job_name));
  } else {
    for (const JobSpec* job : PreviewJobs()) {
      std::vector<PreviewInfo> existing = databases_.List(*job);
      if (std::any_of(existing.begin(), existing.end(),
                      [&](const PreviewInfo& preview) { return preview.name == name; }))
        candidates.push_back(job);
    }
    if (candidates.empty()) throw ApiError(404, fmt::format("no preview named '{}'", name));
    if (candidates.size() > 1)
      throw ApiError(400, fmt::format("several preview jobs have a preview named '{}'; say which "
                                      "with ?job=",
                                      name));
  }
  const JobSpec& job = *candidates.front();
  for (const auto& [active, id] : ActiveRuns(job))
    if (active == name)
      throw ApiError(409, fmt::format("run {} of job '{}' is queued or running on preview '{}'; "
                                      "cancel it (POST /v1/runs/{}/cancel) or wait for its end",
                                      id, job.name, name, id));
  databases_.Drop(job, name);
  return {200, {{"name", name}, {"job", job.name}, {"dropped", true}}, ""};
}

}  // namespace freshet
