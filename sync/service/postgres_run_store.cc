#include "sync/service/postgres_run_store.h"

#include <fmt/format.h>

#include <mutex>

#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"
#include "service_sql.h"
#include "sync/service/run_json.h"

namespace freshet {
namespace {

// pg_advisory_xact_lock key serializing schema creation: "freshsvc".
constexpr int64_t kSchemaLockKey = 0x6672657368737663;
constexpr int kSchemaVersion = 1;

constexpr std::string_view kColumns =
    "id, job, kind, state, trigger, requested_by, overrides, targets, created_at, started_at, "
    "finished_at, exit_status, error, report, rows_moved, bytes_moved, report_markdown, "
    "coalesce(scheduled_for, ''), live";
// The same without the reports, for lists.
constexpr std::string_view kListColumns =
    "id, job, kind, state, trigger, requested_by, overrides, targets, created_at, started_at, "
    "finished_at, exit_status, error, NULL, rows_moved, bytes_moved, '', "
    "coalesce(scheduled_for, ''), live";

RunRecord ReadRun(const Result& rows, int row) {
  RunRecord run;
  run.id = rows.GetInt(row, 0);
  run.job = rows.Get(row, 1);
  run.kind = rows.Get(row, 2);
  run.state = ParseRunState(rows.Text(row, 3));
  run.trigger = rows.Get(row, 4);
  run.requested_by = rows.Get(row, 5);
  run.overrides = nlohmann::json::parse(rows.Text(row, 6));
  run.targets = nlohmann::json::parse(rows.Text(row, 7)).get<std::vector<std::string>>();
  run.created_at = rows.Get(row, 8);
  run.started_at = rows.Get(row, 9);
  run.finished_at = rows.Get(row, 10);
  if (!rows.IsNull(row, 11)) run.exit_status = static_cast<int>(rows.GetInt(row, 11));
  run.error = rows.Get(row, 12);
  if (!rows.IsNull(row, 13)) run.report = nlohmann::json::parse(rows.Text(row, 13));
  run.rows = static_cast<uint64_t>(rows.GetInt(row, 14));
  run.bytes = static_cast<uint64_t>(rows.GetInt(row, 15));
  run.report_markdown = rows.Get(row, 16);
  run.scheduled_for = rows.Get(row, 17);
  if (!rows.IsNull(row, 18)) run.live = nlohmann::json::parse(rows.Text(row, 18));
  return run;
}

std::vector<RunRecord> ReadRuns(const Result& rows) {
  std::vector<RunRecord> runs;
  for (int row = 0; row < rows.Rows(); ++row) runs.push_back(ReadRun(rows, row));
  return runs;
}

std::optional<std::string> Optional(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

class PostgresRunStore final : public RunStore {
 public:
  PostgresRunStore(std::string conninfo, std::string replica)
      : conninfo_(std::move(conninfo)),
        replica_(std::move(replica)),
        description_("PostgreSQL " + ConnInfo::Parse(conninfo_).Describe()) {
    connection_ = std::make_unique<Connection>(Connection::Open(conninfo_, "run store"));
    InTransaction(*connection_, [&] {
      connection_->Exec(
          fmt::format("SET LOCAL client_min_messages = warning; SELECT "
                      "pg_advisory_xact_lock({})",
                      kSchemaLockKey));
      connection_->Exec(sql::kPostgresSchema);
      int version = static_cast<int>(
          connection_
              ->Exec("SELECT value::int FROM freshet_service.meta WHERE key = 'schema_version'")
              .GetInt(0, 0));
      if (version > kSchemaVersion)
        throw Error(ErrorKind::kUsage,
                    fmt::format("run store {}: schema version {} is newer than this freshet's ({})",
                                description_, version, kSchemaVersion));
    });
  }

  int64_t Insert(const RunRecord& run) override {
    return Locked([&] {
      Result inserted = connection_->Exec(
          "WITH run AS (INSERT INTO freshet_service.runs (job, kind, state, trigger, requested_by, "
          "overrides, targets, created_at, scheduled_for) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
          "$9) ON CONFLICT (job, scheduled_for) WHERE scheduled_for IS NOT NULL DO NOTHING "
          "RETURNING id) SELECT id, pg_notify($10, 'queued ' || id) FROM run",
          {run.job, run.kind, std::string(RunStateName(run.state)), run.trigger, run.requested_by,
           DumpJson(run.overrides), DumpJson(nlohmann::json(run.targets)), run.created_at,
           Optional(run.scheduled_for), std::string(kStoreChannel)});
      return inserted.Rows() == 0 ? int64_t{0} : inserted.GetInt(0, 0);
    });
  }

  bool Claim(int64_t id, const std::string& started_at) override {
    return Changed(
        "UPDATE freshet_service.runs SET state = 'running', started_at = $2, claimed_by = $3 "
        "WHERE id = $1 AND state = 'queued' RETURNING id",
        {std::to_string(id), started_at, replica_}, "running");
  }

  bool EndQueued(const RunRecord& run) override {
    return Changed(
        "UPDATE freshet_service.runs SET state = $2, finished_at = $3, error = $4, live = NULL "
        "WHERE id = $1 AND state = 'queued' RETURNING id",
        {std::to_string(run.id), std::string(RunStateName(run.state)), run.finished_at, run.error},
        "finished");
  }

  bool Finish(const RunRecord& run) override {
    return Changed(
        "UPDATE freshet_service.runs SET state = $2, started_at = $3, finished_at = $4, "
        "exit_status = $5, error = $6, report = $7, rows_moved = $8, bytes_moved = $9, "
        "report_markdown = $10, live = NULL WHERE id = $1 AND state IN ('queued', 'running') "
        "AND claimed_by IN ('', $11) RETURNING id",
        {std::to_string(run.id), std::string(RunStateName(run.state)), run.started_at,
         run.finished_at,
         run.exit_status ? std::optional<std::string>(std::to_string(*run.exit_status))
                         : std::nullopt,
         run.error, run.report.is_null() ? std::nullopt : std::optional(DumpJson(run.report)),
         std::to_string(run.rows), std::to_string(run.bytes), run.report_markdown, replica_},
        "finished");
  }

  bool TakeOver(int64_t id) override {
    return Changed(
        "UPDATE freshet_service.runs SET claimed_by = $2 WHERE id = $1 AND state = 'running' "
        "RETURNING id",
        {std::to_string(id), replica_}, "running");
  }

  void AppendLog(int64_t id, const RunLogLine& line) override {
    Locked([&] {
      connection_->Exec(
          "INSERT INTO freshet_service.run_log (run_id, at, level, message) VALUES ($1, $2, $3, "
          "$4)",
          {std::to_string(id), line.at, line.level, line.message});
      return 0;
    });
  }

  std::optional<RunRecord> Get(int64_t id) override {
    return Locked([&]() -> std::optional<RunRecord> {
      Result rows = connection_->Exec(
          fmt::format("SELECT {} FROM freshet_service.runs WHERE id = $1", kColumns),
          {std::to_string(id)});
      if (rows.Rows() == 0) return std::nullopt;
      return ReadRun(rows, 0);
    });
  }

  std::vector<RunRecord> List(const RunFilter& filter) override {
    return Locked([&] {
      std::string where;
      Params params;
      auto add = [&](std::string_view column, std::string value) {
        params.push_back(std::move(value));
        where += fmt::format("{} {} ${}", where.empty() ? " WHERE" : " AND", column, params.size());
      };
      if (filter.job) add("job =", *filter.job);
      if (filter.state) add("state =", std::string(RunStateName(*filter.state)));
      if (filter.before_id) add("id <", std::to_string(*filter.before_id));
      params.push_back(std::to_string(filter.limit));
      return ReadRuns(connection_->Exec(
          fmt::format("SELECT {} FROM freshet_service.runs{} ORDER BY id DESC LIMIT ${}",
                      kListColumns, where, params.size()),
          params));
    });
  }

  std::vector<RunLogLine> Log(int64_t id) override {
    return Locked([&] {
      Result rows = connection_->Exec(
          "SELECT at, level, message FROM freshet_service.run_log WHERE run_id = $1 ORDER BY seq",
          {std::to_string(id)});
      std::vector<RunLogLine> lines;
      for (int row = 0; row < rows.Rows(); ++row)
        lines.push_back({rows.Get(row, 0), rows.Get(row, 1), rows.Get(row, 2)});
      return lines;
    });
  }

  std::vector<RunRecord> Unfinished() override {
    return Locked([&] {
      return ReadRuns(connection_->Exec(
          fmt::format("SELECT {} FROM freshet_service.runs WHERE state IN ('queued', 'running') "
                      "ORDER BY id",
                      kColumns)));
    });
  }

  std::vector<std::pair<std::string, std::string>> LastSuccesses() override {
    return Locked([&] {
      Result rows = connection_->Exec(
          "SELECT job, max(finished_at) FROM freshet_service.runs WHERE state = 'succeeded' "
          "GROUP BY job ORDER BY job");
      std::vector<std::pair<std::string, std::string>> out;
      for (int row = 0; row < rows.Rows(); ++row)
        out.emplace_back(rows.Get(row, 0), rows.Get(row, 1));
      return out;
    });
  }

  int Prune(std::chrono::system_clock::time_point cutoff) override {
    return Locked([&] {
      Result deleted = connection_->Exec(
          "DELETE FROM freshet_service.runs WHERE state NOT IN ('queued', 'running') AND "
          "finished_at < $1",
          {IsoTime(cutoff)});
      return static_cast<int>(deleted.AffectedRows());
    });
  }

  std::string Describe() const override { return description_; }
  bool Shared() const override { return true; }

  void RequestCancel(int64_t id) override {
    Changed(
        "UPDATE freshet_service.runs SET cancel_requested = true WHERE id = $1 AND state = "
        "'running' RETURNING id",
        {std::to_string(id)}, "cancel");
  }

  std::vector<int64_t> CancelRequested() override {
    return Locked([&] {
      Result rows = connection_->Exec(
          "SELECT id FROM freshet_service.runs WHERE state = 'running' AND cancel_requested "
          "ORDER BY id");
      std::vector<int64_t> ids;
      for (int row = 0; row < rows.Rows(); ++row) ids.push_back(rows.GetInt(row, 0));
      return ids;
    });
  }

  void PublishLive(int64_t id, const nlohmann::json& live) override {
    Changed(
        "UPDATE freshet_service.runs SET live = $2 WHERE id = $1 AND state = 'running' RETURNING "
        "id",
        {std::to_string(id), DumpJson(live)}, "live");
  }

 private:
  // Runs an UPDATE ... RETURNING id; when it changed a row, announces
  // "<event> <id>". True if it changed one.
  bool Changed(std::string_view update, const Params& params, std::string_view event) {
    std::string sql =
        fmt::format("WITH changed AS ({}) SELECT pg_notify(${}, '{} ' || id) FROM changed", update,
                    params.size() + 1, event);
    Params all = params;
    all.push_back(std::string(kStoreChannel));
    return Locked([&] { return connection_->Exec(sql, all).Rows() > 0; });
  }

  // Runs `body` under the lock on a live connection: one the server dropped
  // is opened again first. Errors name the store.
  template <typename Body>
  auto Locked(Body&& body) -> decltype(body()) {
    std::lock_guard lock(mutex_);
    if (PQstatus(connection_->handle()) != CONNECTION_OK)
      connection_ = std::make_unique<Connection>(Connection::Open(conninfo_, "run store"));
    return body();
  }

  std::string conninfo_;
  std::string replica_;
  std::string description_;
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace

std::unique_ptr<RunStore> OpenPostgresRunStore(const std::string& conninfo, std::string replica) {
  return std::make_unique<PostgresRunStore>(conninfo, std::move(replica));
}

bool IsPostgresStore(const std::string& setting) {
  return setting.starts_with("postgres://") || setting.starts_with("postgresql://") ||
         setting.find('=') != std::string::npos;
}

}  // namespace freshet
