#include "sync/loader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "copy/copy_relay.h"

namespace freshet {
namespace {

const char* FormatOption(const PlannedTable& table) {
  return table.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)";
}

std::string ColumnList(const PlannedTable& table) {
  if (table.mapping.columns.empty()) return "";
  return " (" + QuoteIdentList(table.mapping.columns) + ")";
}

// Fault-injection hook for the integration tests that kill or race a run
// mid-load: FRESHET_TEST_UNIT_DELAY_MS sleeps after each stream. Unset in use.
std::chrono::milliseconds UnitDelay() {
  const char* value = std::getenv("FRESHET_TEST_UNIT_DELAY_MS");
  return std::chrono::milliseconds(value ? std::atoi(value) : 0);
}

struct UnitRef {
  int table;
  const CopyUnit* unit;
};

// Shared scheduling state, guarded by `mutex`.
class Scheduler {
 public:
  explicit Scheduler(const Plan& plan) : plan_(plan) {
    for (int t = 0; t < static_cast<int>(plan.tables.size()); ++t) {
      for (const auto& unit : plan.tables[t].units) pending_.push_back({t, &unit});
      units_left_.push_back(static_cast<int>(plan.tables[t].units.size()));
    }
    loads_.resize(plan.tables.size());
    first_start_.resize(plan.tables.size());
  }

  // Blocks until a unit is ready (returns it) or there is nothing left to do
  // or the run failed (returns nullopt).
  std::optional<UnitRef> Next(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (failure_ || stop.stop_requested() || pending_.empty()) return std::nullopt;
      int best = -1;
      for (int i = 0; i < static_cast<int>(pending_.size()); ++i) {
        if (!Ready(pending_[i].table)) continue;
        if (best < 0 || pending_[i].unit->estimated_bytes > pending_[best].unit->estimated_bytes)
          best = i;
      }
      if (best >= 0) {
        UnitRef ref = pending_[best];
        pending_.erase(pending_.begin() + best);
        if (!first_start_[ref.table]) first_start_[ref.table] = std::chrono::steady_clock::now();
        return ref;
      }
      wake_.wait(lock);
    }
  }

  // Returns true when this was the table's last unit.
  bool Done(const UnitRef& ref, const RelayResult& relayed) {
    std::lock_guard lock(mutex_);
    TableLoad& load = loads_[ref.table];
    load.rows += relayed.rows;
    load.bytes += relayed.bytes;
    bool last = --units_left_[ref.table] == 0;
    if (last)
      load.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - *first_start_[ref.table])
              .count();
    wake_.notify_all();
    return last;
  }

  void Fail(std::exception_ptr error) {
    std::lock_guard lock(mutex_);
    if (!failure_) failure_ = error;
    wake_.notify_all();
  }

  void Wake() { wake_.notify_all(); }
  std::exception_ptr failure() const { return failure_; }
  std::vector<TableLoad> loads() const { return loads_; }

 private:
  bool Ready(int table) const {
    for (int prerequisite : plan_.tables[table].prerequisites)
      if (units_left_[prerequisite] > 0) return false;
    return true;
  }

  const Plan& plan_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<UnitRef> pending_;
  std::vector<int> units_left_;
  std::vector<TableLoad> loads_;
  std::vector<std::optional<std::chrono::steady_clock::time_point>> first_start_;
  std::exception_ptr failure_;
};

}  // namespace

std::string CopyOutSql(const PlannedTable& table, const CopyUnit& unit) {
  if (unit.source_only)  // COPY table TO reads that table alone, like ONLY.
    return fmt::format("COPY {}{} TO STDOUT {}", unit.source.Quoted(), ColumnList(table),
                       FormatOption(table));
  std::string columns = table.mapping.columns.empty() ? "" : QuoteIdentList(table.mapping.columns);
  return fmt::format("COPY (SELECT {} FROM {}) TO STDOUT {}", columns, unit.source.Quoted(),
                     FormatOption(table));
}

std::string CopyInSql(const PlannedTable& table, const CopyUnit& unit) {
  return fmt::format("COPY {}{} FROM STDIN {}", unit.target.Quoted(), ColumnList(table),
                     FormatOption(table));
}

std::vector<TableLoad> LoadTables(const Plan& plan, const SourceSnapshot& snapshot,
                                  const std::string& target_url, int jobs, Progress* progress,
                                  std::stop_token stop) {
  Scheduler scheduler(plan);
  size_t unit_count = 0;
  for (const auto& table : plan.tables) unit_count += table.units.size();
  int workers = std::max(1, std::min<int>(jobs, static_cast<int>(unit_count)));
  if (unit_count == 0) return scheduler.loads();

  const std::chrono::milliseconds delay = UnitDelay();
  std::stop_source cancel;  // stops the other workers after a failure
  std::stop_callback forward(stop, [&] {
    cancel.request_stop();
    scheduler.Wake();
  });
  std::vector<std::jthread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      try {
        Connection source = snapshot.OpenWorker();
        Connection target = Connection::Open(target_url, "target");
        PinSyncSettings(target);
        while (auto ref = scheduler.Next(cancel.get_token())) {
          const PlannedTable& table = plan.tables[ref->table];
          if (progress) progress->MarkStarted(ref->table);
          std::string what = ref->unit->target == table.name
                                 ? table.name.Display()
                                 : table.name.Display() + " (" + ref->unit->target.Display() + ")";
          RelayResult relayed = RelayCopy(
              source, CopyOutSql(table, *ref->unit), target, CopyInSql(table, *ref->unit), what,
              progress ? &progress->Counters(ref->table) : nullptr, cancel.get_token());
          spdlog::debug("copied {}: {} rows, {} bytes", what, relayed.rows, relayed.bytes);
          if (delay.count() > 0) std::this_thread::sleep_for(delay);
          if (scheduler.Done(*ref, relayed) && progress) progress->MarkDone(ref->table);
        }
      } catch (...) {
        scheduler.Fail(std::current_exception());
        cancel.request_stop();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (scheduler.failure()) std::rethrow_exception(scheduler.failure());
  if (stop.stop_requested()) throw Error("sync cancelled");
  return scheduler.loads();
}

}  // namespace freshet
