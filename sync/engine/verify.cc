#include "sync/engine/verify.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sync/engine/task_graph.h"

namespace freshet {

std::string ChecksumSql(const QualifiedName& table, const std::vector<std::string>& values,
                        bool from_only, const std::string& where) {
  std::string row = "ROW(" + fmt::format("{}", fmt::join(values, ", ")) + ")::text";
  return fmt::format(
      "SELECT count(*), coalesce(sum(('x' || substr(md5({}), 1, 16))::bit(64)::bigint::numeric), "
      "0)::text FROM {}{}{}",
      row, from_only ? "ONLY " : "", table.Quoted(), where.empty() ? "" : " WHERE " + where);
}

namespace {

// The planned expressions, or the quoted columns for plans built without
// them.
std::vector<std::string> ValuesOf(const PlannedTable& table,
                                  const std::vector<std::string>& planned) {
  if (planned.size() == table.mapping.columns.size()) return planned;
  std::vector<std::string> quoted;
  for (const auto& column : table.mapping.columns) quoted.push_back(QuoteIdent(column));
  return quoted;
}

TableChecksum Checksum(Connection& connection, const std::string& sql) {
  Result result = connection.Exec(sql);
  return {static_cast<uint64_t>(result.GetInt(0, 0)), result.Get(0, 1)};
}

// Both sides' checksums of one table.
TableVerification VerifyTable(const PlannedTable& table, Connection& source, Connection& target) {
  TableVerification result;
  result.source = Checksum(source, ChecksumSql(table.name, ValuesOf(table, table.verify_source),
                                               !table.source_partitioned, table.subset_filter));
  std::string target_sql = ChecksumSql(table.name, ValuesOf(table, table.verify_target),
                                       table.target_kind == TableKind::kTable);
  if (table.force_row_security.empty()) {
    result.target = Checksum(target, target_sql);
    return result;
  }
  // Policies forced on the owner would hide rows (and row_security = off
  // makes the read fail): lift FORCE in a transaction that is rolled back, so
  // the target is read whole and left as it is.
  target.Exec("BEGIN");
  try {
    for (const auto& relation : table.force_row_security)
      target.Exec(fmt::format("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY", relation.Quoted()));
    result.target = Checksum(target, target_sql);
  } catch (...) {
    target.Exec("ROLLBACK");
    throw;
  }
  target.Exec("ROLLBACK");
  return result;
}

}  // namespace

void CheckVerification(RunReport& report) {
  report.verified = true;
  auto mismatched = report.Mismatched();
  if (!mismatched.empty())
    throw Error(ErrorKind::kMismatch,
                fmt::format("verification failed: {} differ between source and target",
                            fmt::join(mismatched, ", ")));
}

// One fatal task per table on the run's worker pool (TaskGraph): the first
// failure, or a stop, ends the verification.
std::vector<TableVerification> VerifyTables(const Plan& plan, const SourceSnapshot& snapshot,
                                            const std::string& target_url, int jobs,
                                            std::stop_token stop) {
  std::vector<TableVerification> results(plan.tables.size());
  TaskGraph graph;
  for (size_t i = 0; i < plan.tables.size(); ++i) {
    Task task;
    task.name = "verify " + plan.tables[i].name.Display();
    task.fatal = true;
    task.run = [&plan, &results, i](WorkerSession& session, std::stop_token token) {
      CancelOnStop cancel_source(session.Source(), token);
      CancelOnStop cancel_target(session.Target(), token);
      results[i] = VerifyTable(plan.tables[i], session.Source(), session.Target());
    };
    graph.Add(std::move(task));
  }
  try {
    graph.Run(
        jobs, [&snapshot] { return snapshot.OpenWorker(); },
        [&target_url](size_t) {
          Connection target = Connection::Open(target_url, "target");
          PinReadSettings(target);
          return target;
        },
        stop);
  } catch (const Error& error) {
    if (stop.stop_requested()) throw Error("verification cancelled");
    throw;
  }
  return results;
}

}  // namespace freshet
