// Preview branches: the logic of the /v1/previews routes. A preview is one
// database made from a preview job's template target and a name ("pr-123").
// Creating or refreshing one is a run of the preview job with the override
// {"name": ...} (so runs, cancel, events, logs and reports work as for any
// job, and two runs never write one preview at once); listing and dropping
// ask the database server, through PreviewDatabases, which the job executor
// implements (sync/cli/preview_jobs.h): the service knows no URLs.
//
// Thread-safety: Create, List and Drop block on the database server; the API
// calls them through Offload, which runs them one at a time on the
// previews' own thread, never on the I/O thread. That one thread also makes
// the limit check and the trigger of one Create atomic with respect to
// another.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sync/service/job.h"
#include "sync/service/offload.h"
#include "sync/service/run_manager.h"

namespace freshet {

// One preview database as its server describes it.
struct PreviewInfo {
  std::string name;      // "pr-123"
  std::string database;  // "preview_pr-123"
  int64_t size_bytes = 0;
  std::string created_at;                   // ISO 8601 UTC
  std::optional<std::string> refreshed_at;  // its last successful refresh
  std::optional<int64_t> refreshed_by_run;  // ... by that run
};

// The database side of a preview job's previews. Implementations mark the
// databases they create, and list and drop only databases so marked.
// Thread-safety: any method may be called from any thread.
class PreviewDatabases {
 public:
  virtual ~PreviewDatabases() = default;
  // Throws ApiError(400) saying why `name` cannot be a preview of `job`
  // (the target's name pattern, the database name's length).
  virtual void CheckName(const JobSpec& job, const std::string& name) const = 0;
  // The preview's connection URL, with its password only when asked.
  virtual std::string Url(const JobSpec& job, const std::string& name,
                          bool with_password) const = 0;
  // The job's `max_previews`; nullopt: no limit.
  virtual std::optional<int> Limit(const JobSpec& job) const = 0;
  // The previews of `job` that exist now. Throws Error when the server
  // cannot be reached.
  virtual std::vector<PreviewInfo> List(const JobSpec& job) = 0;
  // Drops the preview's database (terminating its sessions). Throws
  // ApiError(404) when `job` has no such preview.
  virtual void Drop(const JobSpec& job, const std::string& name) = 0;
};

class Previews {
 public:
  // What a route answers: a status, a JSON body, and a Location ("" none).
  struct Answer {
    unsigned status = 200;
    nlohmann::json body;
    std::string location;
  };

  // `runs` and `databases` must outlive the Previews.
  Previews(RunManager& runs, PreviewDatabases& databases);
  ~Previews();  // waits for the call under way
  Previews(const Previews&) = delete;
  Previews& operator=(const Previews&) = delete;

  // POST /v1/previews {"name": ..., "job"?: ...}: triggers a run of the
  // preview job (creating the database, or refreshing it); 202 with the run
  // and {"preview": {name, job, database, url, exists}}. The URL has its
  // password only for `admin`. Throws ApiError: 400 malformed body or name,
  // 404 no such preview job, 409 the limit reached.
  Answer Create(const std::string& body, const std::string& requested_by, bool admin);
  // GET /v1/previews: every preview of every preview job, with size, age,
  // last refresh and the run under way.
  Answer List(bool admin);
  // DELETE /v1/previews/{name}[?job=...]: drops it. Throws ApiError: 404
  // none, 400 several jobs have one of that name and `job` is not given,
  // 409 a run of it is queued or running.
  Answer Drop(const std::string& name, const std::optional<std::string>& job);

  // Runs `work` (returning an Answer) on the previews' thread and resumes the
  // caller with its result or its exception (sync/service/offload.h).
  template <typename Work>
  boost::asio::awaitable<Answer> Offload(Work work) {
    return freshet::Offload(pool_, work);
  }

 private:
  std::vector<const JobSpec*> PreviewJobs() const;
  const JobSpec& JobFor(const std::optional<std::string>& name) const;
  // Queued or running runs of `job`, by preview name.
  std::vector<std::pair<std::string, int64_t>> ActiveRuns(const JobSpec& job);

  RunManager& runs_;
  PreviewDatabases& databases_;
  boost::asio::thread_pool pool_{1};
};

}  // namespace freshet
