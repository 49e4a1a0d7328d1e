// The applier: one session holds the advisory lock, creates and reads the
// history tables and does every refusal check before anything runs; each
// pending file then runs on a fresh session of its own (BEGIN, SET LOCAL
// defaults, its statements one by one, its history rows, COMMIT), so a file's
// session-level SETs never reach the next file.
#include "apply/applier.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "apply/edit_check.h"
#include "apply/history.h"
#include "apply/migration_error.h"
#include "apply/sql_statements.h"
#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"
#include "copy/identifiers.h"
#include "copy/pooler_check.h"
#include "copy/server_copy.h"

namespace freshet {
namespace {

constexpr const char* kLabel = "database";

// A pending file, parsed, with what to run of it.
struct PlannedFile {
  const MigrationFile* file = nullptr;
  std::vector<Statement> statements;
  std::vector<bool> skip;  // a BEGIN/COMMIT pair wrapping the whole file: ours replaces it
  // `-- freshet:no-transaction`, or the file's one statement cannot run in a
  // transaction (CREATE INDEX CONCURRENTLY, VACUUM, ...).
  bool outside_transaction = false;
};

std::string Plural(size_t count, const char* noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

std::string Join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

MigrationSet LoadRunnable(const MigrateOptions& options, std::ostream& log) {
  MigrationSet set = LoadMigrations(options.dir, options.layout);
  log << SkippedNotes(set);
  ThrowIfBlocked(set);
  return set;
}

const char* HistoryTable(Layout layout) {
  return layout == Layout::kPrisma ? "public._prisma_migrations"
                                   : "supabase_migrations.schema_migrations";
}

std::vector<Statement> ParseFile(const MigrationFile& file) {
  SplitResult split = SplitStatements(file.content);
  if (split.error)
    throw MigrationError(
        Error(ErrorKind::kUsage,
              fmt::format("{}:{}:{}: {}; fix the file (nothing was applied)", file.filename,
                          split.error->line, split.error->column, split.error->message)),
        {{file.filename, 0, split.error->line, split.error->column}});
  return std::move(split.statements);
}

// "TRANS_STMT_COMMIT" etc. when `text` is a transaction control statement,
// with `has_options` set for BEGIN/START with modes; empty otherwise.
std::string TransactionKind(const std::string& text, bool* has_options) {
  std::string word;
  for (char c : text) {
    if (!std::isalpha(static_cast<unsigned char>(c))) break;
    word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  static const std::set<std::string> kWords = {"begin",    "start", "commit", "end",
                                               "rollback", "abort", "prepare"};
  if (!kWords.count(word)) return {};
  nlohmann::json tree = nlohmann::json::parse(ParseToJson(text));
  const nlohmann::json& stmt = tree["stmts"][0]["stmt"];
  if (!stmt.contains("TransactionStmt")) return {};
  const nlohmann::json& node = stmt["TransactionStmt"];
  *has_options = node.contains("options");
  std::string kind = node.value("kind", "");
  if (kind == "TRANS_STMT_SAVEPOINT" || kind == "TRANS_STMT_RELEASE" ||
      kind == "TRANS_STMT_ROLLBACK_TO")
    return {};
  return kind;
}

// Parses a pending file and checks that freshet can run it as asked.
PlannedFile Plan(const MigrationFile& file) {
  PlannedFile planned{&file, ParseFile(file), {}};
  size_t count = planned.statements.size();
  planned.skip.assign(count, false);
  planned.outside_transaction =
      file.no_transaction || (count == 1 && MustRunOutsideTransaction(planned.statements[0].text));
  if (file.no_transaction) {
    if (count != 1)
      throw Error(ErrorKind::kUsage,
                  fmt::format("{} is marked `-- freshet:no-transaction` but holds {}; such a "
                              "migration must hold exactly one statement: split it into several "
                              "files (nothing was applied)",
                              file.filename, Plural(count, "statement")));
    return planned;
  }
  std::vector<std::string> kinds(count);
  std::vector<bool> options(count, false);
  for (size_t i = 0; i < count; ++i) {
    bool has_options = false;
    kinds[i] = TransactionKind(planned.statements[i].text, &has_options);
    options[i] = has_options;
  }
  // A plain BEGIN ... COMMIT around the whole file is redundant with ours.
  if (count >= 2 && (kinds[0] == "TRANS_STMT_BEGIN" || kinds[0] == "TRANS_STMT_START") &&
      !options[0] && kinds[count - 1] == "TRANS_STMT_COMMIT")
    planned.skip[0] = planned.skip[count - 1] = true;
  for (size_t i = 0; i < count; ++i) {
    if (kinds[i].empty() || planned.skip[i]) continue;
    const Statement& statement = planned.statements[i];
    throw MigrationError(
        Error(ErrorKind::kUsage,
              fmt::format("{}: statement {} (line {}) is transaction control ({}); freshet runs "
                          "each migration in one transaction of its own: remove it, or move "
                          "the work into a `-- freshet:no-transaction` file (nothing was "
                          "applied)",
                          file.filename, i + 1, statement.line, Abbreviate(statement.text, 40))),
        {{file.filename, static_cast<int>(i + 1), statement.line, statement.column}});
  }
  return planned;
}

// Why `file`'s content no longer matches what was applied, with the way out.
std::string DescribeEdit(Connection& connection, const MigrationFile& file,
                         const AppliedVersion& applied, Layout layout) {
  std::string head =
      fmt::format("{} was edited after it was applied (checksum {} when applied, {} now)",
                  file.filename, applied.sha256->substr(0, 12), file.sha256.substr(0, 12));
  std::string repair = fmt::format("`freshet migrate repair --status applied {}`", file.version);
  std::optional<std::vector<std::string>> recorded;
  if (layout == Layout::kSupabase) recorded = RecordedStatements(connection, file.version);
  std::optional<bool> same;
  if (recorded) {
    SplitResult split = SplitStatements(file.content);
    if (!split.error)
      same = SameSqlIgnoringComments(*recorded, HistoryStatements(file.content, split.statements));
  }
  if (same && *same)
    return fmt::format(
        "{}: only comments or whitespace changed, the SQL is what ran; accept the "
        "edit with {} (records the new checksum, runs nothing)",
        head, repair);
  if (same)
    return fmt::format(
        "{}: the SQL changed; revert the edit and put the change in a new "
        "migration (if the database already matches the edited file, accept it "
        "with {})",
        head, repair);
  return fmt::format(
      "{}: {} keeps no copy of the statements, so freshet cannot tell whether only "
      "comments changed; revert the edit and put the change in a new migration, "
      "or accept the edit with {}",
      head, HistoryTable(layout), repair);
}

// The refusals of `up`; returns the pending files in version order.
std::vector<const MigrationFile*> CheckHistory(Connection& connection, const MigrationSet& set,
                                               const std::map<std::string, AppliedVersion>& history,
                                               bool include_all) {
  std::map<std::string, const MigrationFile*> local;
  for (const MigrationFile& file : set.files) local[file.version] = &file;
  Layout layout = set.layout.layout;

  std::vector<std::string> missing, failed;
  for (const auto& [version, applied] : history) {
    if (!local.count(version)) missing.push_back(version);
    if (applied.failed) failed.push_back(version);
  }
  if (!failed.empty())
    throw Error(ErrorKind::kRefused,
                fmt::format("{} records a run of {} that started and never finished (Prisma's "
                            "\"failed\" migration); check what it left in the database, then mark "
                            "it with `freshet migrate repair --status reverted VERSION` (to run it "
                            "again) or `--status applied VERSION` (it is in place)",
                            HistoryTable(layout), Join(failed, ", ")));
  if (!missing.empty())
    throw Error(ErrorKind::kRefused,
                fmt::format("remote has versions not in the directory {}: {}; restore the files "
                            "or run `freshet migrate repair --status reverted VERSION`",
                            set.dir, Join(missing, ", ")));

  std::vector<std::string> edited;
  std::vector<const MigrationFile*> pending;
  for (const MigrationFile& file : set.files) {
    auto found = history.find(file.version);
    if (found == history.end())
      pending.push_back(&file);
    else if (!ContentMatches(found->second, file, layout))
      edited.push_back(DescribeEdit(connection, file, found->second, layout));
  }
  if (!edited.empty()) throw Error(ErrorKind::kRefused, Join(edited, "\n"));

  if (!include_all && !history.empty()) {
    const std::string& newest = history.rbegin()->first;
    std::vector<std::string> older;
    for (const MigrationFile* file : pending)
      if (file->version < newest) older.push_back(file->filename);
    if (!older.empty())
      throw Error(
          ErrorKind::kRefused,
          fmt::format("pending migration{} {} {} older than the newest applied version "
                      "{}; pass --include-all to apply {} anyway",
                      older.size() == 1 ? "" : "s", Join(older, ", "),
                      older.size() == 1 ? "is" : "are", newest, older.size() == 1 ? "it" : "them"));
  }
  return pending;
}

// File line and column of the 1-based character `position` in `statement`.
void PositionInFile(const Statement& statement, int position, int* line, int* column) {
  *line = statement.line;
  *column = statement.column;
  int characters = 0;
  for (char c : statement.text) {
    if ((static_cast<unsigned char>(c) & 0xC0) == 0x80) continue;  // UTF-8 continuation
    if (++characters >= position) break;
    if (c == '\n') {
      ++*line;
      *column = 1;
    } else {
      ++*column;
    }
  }
}

std::string Field(const PGresult* result, int code) {
  const char* value = result ? PQresultErrorField(result, code) : nullptr;
  return value ? value : "";
}

// Runs statement `number` (1-based) of `file`; on failure throws Error naming
// file, statement, file line and column, and the server's error.
void ExecuteStatement(Connection& connection, const MigrationFile& file, const Statement& statement,
                      size_t number, bool in_transaction, std::stop_token stop) {
  // COPY FROM STDIN has no data in a migration; COPY TO STDOUT's is dropped.
  Result result = ExecDroppingCopyData(connection, statement.text,
                                       "COPY FROM STDIN is not supported in migrations", stop);
  ExecStatusType status = result.Status();
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
  std::string primary = Field(result.get(), PG_DIAG_MESSAGE_PRIMARY);
  std::string sqlstate = Field(result.get(), PG_DIAG_SQLSTATE);
  std::string server;
  if (primary.empty()) {
    server = connection.MakeError(result.get(), {}).what();
  } else {
    server = fmt::format("{}: {}", Field(result.get(), PG_DIAG_SEVERITY), primary);
    if (!sqlstate.empty()) server += fmt::format(" (SQLSTATE {})", sqlstate);
    std::string hint = Field(result.get(), PG_DIAG_MESSAGE_HINT);
    if (hint.empty() && sqlstate == "55P03")
      hint =
          "another session holds a conflicting lock: retry, raise --lock-timeout, or SET "
          "lock_timeout in the migration";
    for (auto [label, text] :
         {std::pair{"DETAIL", Field(result.get(), PG_DIAG_MESSAGE_DETAIL)}, std::pair{"HINT", hint},
          std::pair{"CONTEXT", Field(result.get(), PG_DIAG_CONTEXT)}})
      if (!text.empty()) server += fmt::format("\n{}: {}", label, text);
    server += fmt::format("\non {}", connection.Describe());
  }
  int line = statement.line, column = statement.column;
  std::string where = fmt::format("line {}", line);
  std::string position = Field(result.get(), PG_DIAG_STATEMENT_POSITION);
  if (!position.empty()) {
    PositionInFile(statement, std::atoi(position.c_str()), &line, &column);
    where = fmt::format("line {}, column {}", line, column);
  }
  std::string outcome =
      in_transaction
          ? fmt::format("the transaction was rolled back: nothing of {} was applied", file.filename)
          : std::string(
                "it ran outside a transaction: check what it left behind (a failed CREATE "
                "INDEX CONCURRENTLY leaves an INVALID index to drop) before retrying");
  throw MigrationError(
      Error(fmt::format("{}: statement {} ({}) failed: {}\nstatement: {}\n{}; later "
                        "migrations were not run",
                        file.filename, number, where, server, Abbreviate(statement.text), outcome),
            sqlstate, ErrorKind::kRuntime),
      {{file.filename, static_cast<int>(number), line, column}});
}

// SET [LOCAL] of the default timeouts, before the file's own statements.
std::vector<std::string> DefaultSettings(const MigrateOptions& options, bool local) {
  std::vector<std::string> out;
  const char* scope = local ? "SET LOCAL" : "SET";
  if (!options.lock_timeout.empty())
    out.push_back(fmt::format("{} lock_timeout = {}", scope, QuoteLiteral(options.lock_timeout)));
  if (!options.statement_timeout.empty())
    out.push_back(
        fmt::format("{} statement_timeout = {}", scope, QuoteLiteral(options.statement_timeout)));
  return out;
}

// Applies one file on a fresh session (settings a file makes with plain SET
// cannot leak into the next one), with its history rows.
void ApplyFile(const MigrateOptions& options, const PlannedFile& planned, std::ostream& log) {
  const MigrationFile& file = *planned.file;
  log << fmt::format("applying {} ({})... ", file.filename,
                     Plural(planned.statements.size(), "statement"))
      << std::flush;
  auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
  };
  std::vector<std::string> history = HistoryStatements(file.content, planned.statements);
  bool in_transaction = !planned.outside_transaction;
  enum class Phase { kSetup, kStatements, kRecord } phase = Phase::kSetup;
  try {
    Connection connection = Connection::Open(options.db_url, kLabel);
    CancelOnStop cancel(connection, options.stop);
    try {
      // SET LOCAL first, so the file's own SET statements override the defaults.
      if (in_transaction) connection.Exec("BEGIN");
      for (const std::string& set : DefaultSettings(options, in_transaction)) connection.Exec(set);
      phase = Phase::kStatements;
      for (size_t i = 0; i < planned.statements.size(); ++i)
        if (!planned.skip[i])
          ExecuteStatement(connection, file, planned.statements[i], i + 1, in_transaction,
                           options.stop);
      phase = Phase::kRecord;
      int64_t duration = elapsed_ms();
      if (!in_transaction) connection.Exec("BEGIN");
      RecordApplied(connection, file, history, duration, options.layout.layout);
      connection.Exec("COMMIT");
    } catch (const Error&) {
      try {
        connection.Exec("ROLLBACK");
      } catch (const Error&) {
      }
      throw;
    }
  } catch (const Error& error) {
    log << "failed" << std::endl;
    if (phase == Phase::kStatements) throw;  // ExecuteStatement's message is complete
    std::string message =
        phase == Phase::kRecord && !in_transaction
            ? fmt::format(
                  "{} ran, but its history rows could not be written: {}\nrecord it with "
                  "`freshet migrate repair --status applied {}`",
                  file.filename, error.what(), file.version)
            : fmt::format("{}: {}\nnothing of {} was applied; later migrations were not run",
                          file.filename, error.what(), file.filename);
    throw Error(message, error.sqlstate(), error.kind());
  }
  log << fmt::format("done in {:.1f} s", static_cast<double>(elapsed_ms()) / 1000.0) << std::endl;
}

std::string DryRunText(const MigrateOptions& options, const std::vector<PlannedFile>& plan) {
  if (plan.empty()) return "-- nothing to apply: the database is up to date\n";
  std::string out;
  for (const PlannedFile& planned : plan) {
    const MigrationFile& file = *planned.file;
    std::vector<std::string> settings = DefaultSettings(options, !planned.outside_transaction);
    out += fmt::format(
        "-- {}: {}, {}\n", file.filename, Plural(planned.statements.size(), "statement"),
        file.no_transaction           ? "outside a transaction (-- freshet:no-transaction)"
        : planned.outside_transaction ? "outside a transaction (its statement cannot "
                                        "run in one)"
                                      : "in one transaction");
    for (const std::string& set : settings) out += set + ";\n";
    for (size_t i = 0; i < planned.statements.size(); ++i) {
      const Statement& statement = planned.statements[i];
      out +=
          fmt::format("-- statement {} (line {}){}\n{};\n", i + 1, statement.line,
                      planned.skip[i] ? ", skipped: freshet's own transaction wraps the file" : "",
                      statement.text);
    }
    out += fmt::format("-- then record {} in {} and _freshet.migration_log\n\n", file.version,
                       HistoryTable(options.layout.layout));
  }
  return out;
}

}  // namespace

const char* StateName(MigrationState state) {
  switch (state) {
    case MigrationState::kApplied:
      return "applied";
    case MigrationState::kPending:
      return "pending";
    case MigrationState::kModified:
      return "modified";
    case MigrationState::kMissingLocally:
      return "missing-locally";
    case MigrationState::kFailed:
      return "failed";
  }
  return "unknown";
}

UpResult MigrateUp(const MigrateOptions& options, std::ostream& log) {
  MigrationSet set = LoadRunnable(options, log);
  RequireSessionPerConnection(options.db_url, kLabel);
  Connection connection = Connection::Open(options.db_url, kLabel);
  CancelOnStop cancel(connection, options.stop);
  Layout layout = options.layout.layout;
  if (!options.dry_run) {
    AcquireApplierLock(connection, log);
    EnsureHistoryTables(connection, layout);
  }
  std::map<std::string, AppliedVersion> history = ReadHistory(connection, layout);
  std::vector<PlannedFile> plan;
  for (const MigrationFile* file : CheckHistory(connection, set, history, options.include_all))
    plan.push_back(Plan(*file));

  UpResult result;
  result.database = ConnInfo::Parse(options.db_url).Describe();
  for (const PlannedFile& planned : plan) result.applied.push_back(planned.file->filename);
  if (options.dry_run) {
    result.dry_run_text = DryRunText(options, plan);
    return result;
  }
  if (plan.empty())
    log << fmt::format("{} is up to date ({} applied)", connection.Describe(),
                       Plural(history.size(), "migration"))
        << std::endl;
  for (const PlannedFile& planned : plan) {
    ThrowIfStopped(options.stop, fmt::format("migrate up, before {}", planned.file->filename));
    auto started = std::chrono::steady_clock::now();
    ApplyFile(options, planned, log);
    result.seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (options.on_applied) options.on_applied(planned.file->filename, result.seconds.back());
  }
  ReleaseApplierLock(connection);
  return result;
}

std::vector<VersionStatus> MigrationStatus(const MigrateOptions& options) {
  MigrationSet set = LoadMigrations(options.dir, options.layout);  // badly named: not migrations
  RequireSessionPerConnection(options.db_url, kLabel);
  Connection connection = Connection::Open(options.db_url, kLabel);
  std::map<std::string, AppliedVersion> history = ReadHistory(connection, options.layout.layout);
  std::map<std::string, VersionStatus> rows;
  for (const MigrationFile& file : set.files) {
    VersionStatus& row = rows[file.version];
    row.version = file.version;
    row.name = file.name;
    auto found = history.find(file.version);
    if (found == history.end()) continue;  // pending
    const AppliedVersion& applied = found->second;
    row.state = applied.failed                                         ? MigrationState::kFailed
                : ContentMatches(applied, file, options.layout.layout) ? MigrationState::kApplied
                                                                       : MigrationState::kModified;
    row.applied_at = applied.applied_at;
  }
  for (const auto& [version, applied] : history) {
    if (rows.count(version)) continue;
    VersionStatus& row = rows[version];
    row.version = version;
    row.name = applied.name;
    row.state = applied.failed ? MigrationState::kFailed : MigrationState::kMissingLocally;
    row.applied_at = applied.applied_at;
  }
  std::vector<VersionStatus> out;
  for (auto& [version, row] : rows) out.push_back(std::move(row));
  return out;
}

void MigrateRepair(const MigrateOptions& options, const std::vector<std::string>& versions,
                   bool applied) {
  if (versions.empty()) throw Error(ErrorKind::kUsage, "migrate repair: name at least one VERSION");
  std::vector<std::string> unique = versions;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());

  struct ToRecord {
    const MigrationFile* file;
    std::vector<std::string> statements;
  };
  MigrationSet set = LoadMigrations(options.dir, options.layout);
  std::vector<ToRecord> records;
  if (applied) {
    for (const std::string& version : unique) {
      auto found = std::find_if(set.files.begin(), set.files.end(),
                                [&](const MigrationFile& file) { return file.version == version; });
      if (found == set.files.end())
        throw Error(ErrorKind::kUsage,
                    fmt::format("cannot mark {} applied: no migration file with that version in "
                                "{} (nothing was changed)",
                                version, options.dir));
      records.push_back({&*found, HistoryStatements(found->content, ParseFile(*found))});
    }
  }
  RequireSessionPerConnection(options.db_url, kLabel);
  Connection connection = Connection::Open(options.db_url, kLabel);
  std::ostringstream ignored;
  AcquireApplierLock(connection, ignored);
  Layout layout = options.layout.layout;
  EnsureHistoryTables(connection, layout);
  connection.Exec("BEGIN");
  try {
    if (applied) {
      for (const ToRecord& record : records)
        RecordApplied(connection, *record.file, record.statements, std::nullopt, layout);
    } else {
      DeleteHistory(connection, unique, layout);
    }
    connection.Exec("COMMIT");
  } catch (const Error&) {
    try {
      connection.Exec("ROLLBACK");
    } catch (const Error&) {
    }
    throw;
  }
  ReleaseApplierLock(connection);
}

MigrationSet CheckMigrationsRunnable(const std::string& dir, const MigrationLayout& layout) {
  MigrationSet set = LoadMigrations(dir, layout);
  ThrowIfBlocked(set);
  for (const MigrationFile& file : set.files) Plan(file);
  return set;
}

}  // namespace freshet
