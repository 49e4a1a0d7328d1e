#include "sync/verify.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace freshet {

std::string ChecksumSql(const QualifiedName& table, const std::vector<std::string>& columns,
                        bool from_only) {
  std::string row = "ROW(" + QuoteIdentList(columns) + ")::text";
  return fmt::format(
      "SELECT count(*), coalesce(sum(('x' || substr(md5({}), 1, 16))::bit(64)::bigint::numeric), "
      "0)::text FROM {}{}",
      row, from_only ? "ONLY " : "", table.Quoted());
}

namespace {

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
        PinSyncSettings(target);
        for (size_t i = next++; i < plan.tables.size() && !stop.stop_requested(); i = next++) {
          const PlannedTable& table = plan.tables[i];
          {
            std::lock_guard lock(failure_mutex);
            if (failure) return;
          }
          results[i].source = Checksum(
              source, ChecksumSql(table.name, table.mapping.columns, !table.source_partitioned));
          results[i].target = Checksum(target, ChecksumSql(table.name, table.mapping.columns,
                                                           table.target_kind == TableKind::kTable));
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
