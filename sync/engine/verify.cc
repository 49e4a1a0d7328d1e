#include "sync/engine/verify.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace freshet {

std::string ChecksumSql(const QualifiedName& table, const std::vector<std::string>& values,
                        bool from_only) {
  std::string row = "ROW(" + fmt::format("{}", fmt::join(values, ", ")) + ")::text";
  return fmt::format(
      "SELECT count(*), coalesce(sum(('x' || substr(md5({}), 1, 16))::bit(64)::bigint::numeric), "
      "0)::text FROM {}{}",
      row, from_only ? "ONLY " : "", table.Quoted());
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

}  // namespace

std::vector<TableVerification> VerifyTables(const Plan& plan, const SourceSnapshot& snapshot,
                                            const std::string& target_url, int jobs,
                                            std::stop_token stop) {
  std::vector<TableVerification> results(plan.tables.size());
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  int workers = std::max(1, std::min<int>(jobs, static_cast<int>(plan.tables.size())));
  std::vector<std::jthread> threads;
  for (int w = 0; w < workers && !plan.tables.empty(); ++w) {
    threads.emplace_back([&] {
      try {
        Connection source = snapshot.OpenWorker();
        Connection target = Connection::Open(target_url, "target");
        PinReadSettings(target);
        CancelOnStop cancel_source(source, stop);
        CancelOnStop cancel_target(target, stop);
        for (size_t i = next++; i < plan.tables.size() && !stop.stop_requested(); i = next++) {
          const PlannedTable& table = plan.tables[i];
          {
            std::lock_guard lock(failure_mutex);
            if (failure) return;
          }
          results[i].source =
              Checksum(source, ChecksumSql(table.name, ValuesOf(table, table.verify_source),
                                           !table.source_partitioned));
          std::string target_sql = ChecksumSql(table.name, ValuesOf(table, table.verify_target),
                                               table.target_kind == TableKind::kTable);
          if (table.force_row_security.empty()) {
            results[i].target = Checksum(target, target_sql);
            continue;
          }
          // Policies forced on the owner would hide rows (and row_security =
          // off makes the read fail): lift FORCE in a transaction that is
          // rolled back, so the target is read whole and left as it is.
          target.Exec("BEGIN");
          try {
            for (const auto& relation : table.force_row_security)
              target.Exec(
                  fmt::format("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY", relation.Quoted()));
            results[i].target = Checksum(target, target_sql);
          } catch (...) {
            target.Exec("ROLLBACK");
            throw;
          }
          target.Exec("ROLLBACK");
        }
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
  if (stop.stop_requested()) throw Error("verification cancelled");
  return results;
}

}  // namespace freshet
