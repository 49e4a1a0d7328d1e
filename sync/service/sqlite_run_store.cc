// The embedded SQLite run store (sync/service/run_store.h): one connection,
// serialized by a mutex; WAL so a reader (sqlite3 by hand) never blocks it.
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <mutex>

#include "copy/error.h"
#include "service_sql.h"
#include "sync/service/run_json.h"
#include "sync/service/run_store.h"

namespace freshet {
namespace {

constexpr std::string_view kColumns =
    "id, job, kind, state, trigger, requested_by, overrides, targets, created_at, started_at, "
    "finished_at, exit_status, error, report, rows_moved, bytes_moved, report_markdown";
// The same without the reports, for lists.
constexpr std::string_view kListColumns =
    "id, job, kind, state, trigger, requested_by, overrides, targets, created_at, started_at, "
    "finished_at, exit_status, error, NULL, rows_moved, bytes_moved, ''";

RunRecord ReadRun(SQLite::Statement& row) {
  RunRecord run;
  run.id = row.getColumn(0).getInt64();
  run.job = row.getColumn(1).getString();
  run.kind = row.getColumn(2).getString();
  run.state = ParseRunState(row.getColumn(3).getString());
  run.trigger = row.getColumn(4).getString();
  run.requested_by = row.getColumn(5).getString();
  run.overrides = nlohmann::json::parse(row.getColumn(6).getString());
  run.targets = nlohmann::json::parse(row.getColumn(7).getString()).get<std::vector<std::string>>();
  run.created_at = row.getColumn(8).getString();
  run.started_at = row.getColumn(9).getString();
  run.finished_at = row.getColumn(10).getString();
  if (!row.getColumn(11).isNull()) run.exit_status = row.getColumn(11).getInt();
  run.error = row.getColumn(12).getString();
  if (!row.getColumn(13).isNull())
    run.report = nlohmann::json::parse(row.getColumn(13).getString());
  run.rows = static_cast<uint64_t>(row.getColumn(14).getInt64());
  run.bytes = static_cast<uint64_t>(row.getColumn(15).getInt64());
  run.report_markdown = row.getColumn(16).getString();
  return run;
}

// While alive, commits of `db` do not wait for an fsync (WAL mode's
// synchronous = NORMAL); afterwards every commit syncs again (FULL).
class NoSyncCommits {
 public:
  explicit NoSyncCommits(SQLite::Database& db) : db_(db) {
    db_.exec("PRAGMA synchronous = NORMAL");
  }
  ~NoSyncCommits() {
    try {
      db_.exec("PRAGMA synchronous = FULL");
    } catch (const SQLite::Exception&) {  // it stays NORMAL: durable against crashes still
    }
  }
  NoSyncCommits(const NoSyncCommits&) = delete;
  NoSyncCommits& operator=(const NoSyncCommits&) = delete;

 private:
  SQLite::Database& db_;
};

class SqliteRunStore final : public RunStore {
 public:
  explicit SqliteRunStore(const std::string& path)
      : path_(path),
        db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX) {
    db_.setBusyTimeout(5000);
    int version = db_.execAndGet("PRAGMA user_version").getInt();
    if (version > 1)
      throw Error(ErrorKind::kUsage,
                  fmt::format("run store {}: schema version {} is newer than this freshet's (1)",
                              path, version));
    db_.exec(std::string(sql::kSqliteSchema));
    db_.exec("PRAGMA foreign_keys = ON");
    db_.exec("PRAGMA synchronous = FULL");  // every state change is on disk when it returns
  }

  int64_t Insert(const RunRecord& run) override {
    return Locked([&] {
      SQLite::Statement insert(db_,
                               "INSERT INTO runs (job, kind, state, trigger, requested_by, "
                               "overrides, targets, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      insert.bind(1, run.job);
      insert.bind(2, run.kind);
      insert.bind(3, std::string(RunStateName(run.state)));
      insert.bind(4, run.trigger);
      insert.bind(5, run.requested_by);
      insert.bind(6, DumpJson(run.overrides));
      insert.bind(7, DumpJson(nlohmann::json(run.targets)));
      insert.bind(8, run.created_at);
      insert.exec();
      return db_.getLastInsertRowid();
    });
  }

  bool Claim(int64_t id, const std::string& started_at) override {
    return Locked([&] {
      SQLite::Statement update(
          db_,
          "UPDATE runs SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued'");
      update.bind(1, started_at);
      update.bind(2, id);
      return update.exec() == 1;
    });
  }

  bool EndQueued(const RunRecord& run) override {
    return Locked([&] {
      SQLite::Statement update(db_,
                               "UPDATE runs SET state = ?, finished_at = ?, error = ? WHERE id = ? "
                               "AND state = 'queued'");
      update.bind(1, std::string(RunStateName(run.state)));
      update.bind(2, run.finished_at);
      update.bind(3, run.error);
      update.bind(4, run.id);
      return update.exec() == 1;
    });
  }

  std::string Describe() const override { return "SQLite file " + path_; }

  bool Finish(const RunRecord& run) override {
    return Locked([&] {
      SQLite::Statement update(db_,
                               "UPDATE runs SET state = ?, started_at = ?, finished_at = ?, "
                               "exit_status = ?, error = ?, report = ?, rows_moved = ?, "
                               "bytes_moved = ?, report_markdown = ? WHERE id = ?");
      update.bind(1, std::string(RunStateName(run.state)));
      update.bind(2, run.started_at);
      update.bind(3, run.finished_at);
      if (run.exit_status)
        update.bind(4, *run.exit_status);
      else
        update.bind(4);
      update.bind(5, run.error);
      if (run.report.is_null())
        update.bind(6);
      else
        update.bind(6, DumpJson(run.report));
      update.bind(7, static_cast<int64_t>(run.rows));
      update.bind(8, static_cast<int64_t>(run.bytes));
      update.bind(9, run.report_markdown);
      update.bind(10, run.id);
      return update.exec() == 1;
    });
  }

  // A log line is committed without an fsync of its own: the run's engine
  // thread writes it, and an fsync competes with the databases' own writes
  // on the disk. Its WAL frames become durable with the next commit that
  // syncs (a run's end, any state change), or at the next checkpoint; a
  // crash of the service process loses none of them, a power cut may lose
  // the last lines of a running run.
  void AppendLog(int64_t id, const RunLogLine& line) override {
    Locked([&] {
      NoSyncCommits no_sync(db_);
      SQLite::Statement insert(db_,
                               "INSERT INTO run_log (run_id, seq, at, level, message) VALUES (?, "
                               "(SELECT coalesce(max(seq), 0) + 1 FROM run_log WHERE run_id = ?), "
                               "?, ?, ?)");
      insert.bind(1, id);
      insert.bind(2, id);
      insert.bind(3, line.at);
      insert.bind(4, line.level);
      insert.bind(5, line.message);
      insert.exec();
      return 0;
    });
  }

  std::optional<RunRecord> Get(int64_t id) override {
    return Locked([&]() -> std::optional<RunRecord> {
      SQLite::Statement query(db_, fmt::format("SELECT {} FROM runs WHERE id = ?", kColumns));
      query.bind(1, id);
      if (!query.executeStep()) return std::nullopt;
      return ReadRun(query);
    });
  }

  std::vector<RunRecord> List(const RunFilter& filter) override {
    return Locked([&] {
      // Only the conditions asked for, so SQLite can use runs_job; no reports.
      std::string where;
      auto add = [&](std::string_view condition) {
        where += where.empty() ? " WHERE " : " AND ";
        where += condition;
      };
      if (filter.job) add("job = :job");
      if (filter.state) add("state = :state");
      if (filter.before_id) add("id < :before");
      SQLite::Statement query(
          db_,
          fmt::format("SELECT {} FROM runs{} ORDER BY id DESC LIMIT :limit", kListColumns, where));
      if (filter.job) query.bind(":job", *filter.job);
      if (filter.state) query.bind(":state", std::string(RunStateName(*filter.state)));
      if (filter.before_id) query.bind(":before", *filter.before_id);
      query.bind(":limit", filter.limit);
      std::vector<RunRecord> runs;
      while (query.executeStep()) runs.push_back(ReadRun(query));
      return runs;
    });
  }

  std::vector<RunLogLine> Log(int64_t id) override {
    return Locked([&] {
      SQLite::Statement query(
          db_, "SELECT at, level, message FROM run_log WHERE run_id = ? ORDER BY seq");
      query.bind(1, id);
      std::vector<RunLogLine> lines;
      while (query.executeStep())
        lines.push_back({query.getColumn(0).getString(), query.getColumn(1).getString(),
                         query.getColumn(2).getString()});
      return lines;
    });
  }

  std::vector<RunRecord> Unfinished() override {
    return Locked([&] {
      SQLite::Statement query(
          db_, fmt::format("SELECT {} FROM runs WHERE state IN ('queued', 'running') ORDER BY id",
                           kColumns));
      std::vector<RunRecord> runs;
      while (query.executeStep()) runs.push_back(ReadRun(query));
      return runs;
    });
  }

  std::vector<std::pair<std::string, std::string>> LastSuccesses() override {
    return Locked([&] {
      SQLite::Statement query(db_,
                              "SELECT job, max(finished_at) FROM runs WHERE state = 'succeeded' "
                              "GROUP BY job ORDER BY job");
      std::vector<std::pair<std::string, std::string>> out;
      while (query.executeStep())
        out.emplace_back(query.getColumn(0).getString(), query.getColumn(1).getString());
      return out;
    });
  }

  int Prune(std::chrono::system_clock::time_point cutoff) override {
    return Locked([&] {
      SQLite::Transaction transaction(db_);
      std::string before = IsoTime(cutoff);
      SQLite::Statement logs(db_,
                             "DELETE FROM run_log WHERE run_id IN (SELECT id FROM runs WHERE "
                             "state NOT IN ('queued', 'running') AND finished_at < ?)");
      logs.bind(1, before);
      logs.exec();
      SQLite::Statement runs(
          db_, "DELETE FROM runs WHERE state NOT IN ('queued', 'running') AND finished_at < ?");
      runs.bind(1, before);
      int deleted = runs.exec();
      transaction.commit();
      return deleted;
    });
  }

 private:
  // Runs `body` under the lock; SQLite's exceptions become Error naming the store.
  template <typename Body>
  auto Locked(Body&& body) -> decltype(body()) {
    std::lock_guard lock(mutex_);
    try {
      return body();
    } catch (const SQLite::Exception& error) {
      throw Error(fmt::format("run store {}: {}", path_, error.what()));
    }
  }

  std::string path_;
  std::mutex mutex_;
  SQLite::Database db_;
};

}  // namespace

std::unique_ptr<RunStore> OpenSqliteRunStore(const std::string& path) {
  try {
    return std::make_unique<SqliteRunStore>(path);
  } catch (const SQLite::Exception& error) {
    throw Error(ErrorKind::kUsage, fmt::format("cannot open run store {}: {}", path, error.what()));
  }
}

}  // namespace freshet
