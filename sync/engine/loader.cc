#include "sync/engine/loader.h"

#include <fmt/format.h>

#include <condition_variable>
#include <cstdlib>
#include <thread>

#include "sync/engine/target_rules.h"
#include "sync/engine/test_hooks.h"

namespace freshet {
namespace {

const char* FormatOption(const PlannedTable& table) {
  return table.mapping.format == CopyFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)";
}

std::string ColumnList(const PlannedTable& table) {
  if (table.mapping.columns.empty()) return "";
  return " (" + QuoteIdentList(table.mapping.columns) + ")";
}

}  // namespace

std::string BlocksPredicate(const BlockRange& blocks) {
  std::string where = fmt::format("ctid >= '({},0)'::pg_catalog.tid", blocks.begin);
  if (blocks.end) where += fmt::format(" AND ctid < '({},0)'::pg_catalog.tid", *blocks.end);
  return where;
}

std::string CopyOutSql(const PlannedTable& table, const CopyUnit& unit) {
  std::string masked = MaskedSelectList(table.mapping.columns, table.masks);
  std::string columns = !masked.empty()                 ? masked
                        : table.mapping.columns.empty() ? ""
                                                        : QuoteIdentList(table.mapping.columns);
  if (unit.blocks)
    return fmt::format("COPY (SELECT {} FROM ONLY {} WHERE {}) TO STDOUT {}", columns,
                       unit.source.Quoted(), BlocksPredicate(*unit.blocks), FormatOption(table));
  if (!unit.row_filter.empty())  // a subset's rows, by ctid
    return fmt::format("COPY (SELECT {} FROM {}{} WHERE {}) TO STDOUT {}", columns,
                       unit.source_only ? "ONLY " : "", unit.source.Quoted(), unit.row_filter,
                       FormatOption(table));
  if (unit.source_only && !table.mapping.read_with_select && masked.empty())  // like ONLY
    return fmt::format("COPY {}{} TO STDOUT {}", unit.source.Quoted(), ColumnList(table),
                       FormatOption(table));
  return fmt::format("COPY (SELECT {} FROM {}{}) TO STDOUT {}", columns,
                     unit.source_only ? "ONLY " : "", unit.source.Quoted(), FormatOption(table));
}

std::string CopyInSql(const PlannedTable& table, const CopyUnit& unit) {
  return fmt::format("COPY {}{} FROM STDIN {}", unit.target.Quoted(), ColumnList(table),
                     FormatOption(table));
}

bool IsLostConnection(const Error& error, const WorkerSession& session) {
  const std::string& state = error.sqlstate();
  if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03")
    return true;
  return session.Broken();
}

LoadTasks::LoadTasks(const Plan& plan, Progress* progress, RetryPolicy retry, const RunLog& log)
    : plan_(plan),
      progress_(progress),
      retry_(retry),
      log_(log),
      table_tasks_(plan.tables.size()),
      loads_(plan.tables.size()),
      units_left_(plan.tables.size()),
      first_start_(plan.tables.size()),
      last_done_(std::chrono::steady_clock::now()) {
  for (size_t t = 0; t < plan.tables.size(); ++t) units_left_[t] = plan.tables[t].units.size();
}

void LoadTasks::AddTo(TaskGraph& graph) {
  const std::chrono::milliseconds delay = TestUnitDelay();
  for (size_t t = 0; t < plan_.tables.size(); ++t) {
    const PlannedTable& table = plan_.tables[t];
    std::vector<size_t> after;
    for (int prerequisite : table.prerequisites)
      after.insert(after.end(), table_tasks_[prerequisite].begin(),
                   table_tasks_[prerequisite].end());
    for (const CopyUnit& unit : table.units) {
      std::string what = unit.target == table.name
                             ? table.name.Display()
                             : table.name.Display() + " (" + unit.target.Display() + ")";
      if (unit.blocks)
        what += fmt::format(" blocks {}..{}", unit.blocks->begin,
                            unit.blocks->end ? std::to_string(*unit.blocks->end) : "end");
      Task task;
      task.name = "copy " + what;
      task.weight = static_cast<double>(std::max<int64_t>(unit.estimated_bytes, 1));
      task.after = after;
      task.fatal = true;
      task.run = [this, t, &table, &unit, what, delay](WorkerSession& session,
                                                       std::stop_token stop) {
        bool first = false;
        {
          std::lock_guard lock(mutex_);
          first = !first_start_[t];
          if (first) first_start_[t] = std::chrono::steady_clock::now();
        }
        if (first) log_.observer().TableStarted(table.name.Display());
        if (progress_) progress_->MarkStarted(t);
        RelayResult relayed = RelayWithRetries(t, unit, what, session, stop);
        log_.Debug("copied {}: {} rows, {} bytes", what, relayed.rows, relayed.bytes);
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        Finished(t, relayed);
      };
      size_t id = graph.Add(std::move(task));
      table_tasks_[t].push_back(id);
      unit_targets_.push_back({unit.target, id});
    }
  }
}

RelayResult LoadTasks::RelayWithRetries(size_t t, const CopyUnit& unit, const std::string& what,
                                        WorkerSession& session, std::stop_token stop) {
  const PlannedTable& table = plan_.tables[t];
  std::chrono::milliseconds backoff = retry_.backoff;
  for (int attempt = 1;; ++attempt) {
    uint64_t counted = progress_ ? progress_->Counters(t).bytes.load() : 0;
    try {
      std::unique_ptr<MaskRows> masker = StreamMasker(table.mapping.columns, table.masks);
      std::vector<RowTransform*> transforms;
      if (masker) transforms.push_back(masker.get());
      return RelayCopy(session.Source(), CopyOutSql(table, unit), session.Target(),
                       CopyInSql(table, unit), what, progress_ ? &progress_->Counters(t) : nullptr,
                       stop, std::move(transforms));
    } catch (const Error& error) {
      if (attempt >= retry_.attempts || stop.stop_requested() ||
          !IsLostConnection(error, session)) {
        // A server message can quote a value (a failed cast of an sql
        // rule's result): not for a table with masked columns.
        if (table.masks.empty()) throw;
        throw Error(WithoutValues(error.what()), error.sqlstate(), error.kind());
      }
      log_.Warn("{}; retrying this stream from the same snapshot in {} ms (attempt {} of {})",
                error.what(), backoff.count(), attempt + 1, retry_.attempts);
      if (progress_) {  // the failed attempt's bytes were rolled back with it
        auto& bytes = progress_->Counters(t).bytes;
        bytes.store(std::min(bytes.load(), counted));
      }
      {
        std::lock_guard lock(mutex_);
        ++loads_[t].retries;
      }
      session.Reset();
      std::mutex sleeping;
      std::condition_variable_any woken;
      std::unique_lock lock(sleeping);
      woken.wait_for(lock, stop, backoff, [] { return false; });
      if (stop.stop_requested()) throw Error(fmt::format("copying {}: cancelled", what));
      backoff *= 2;
    }
  }
}

void LoadTasks::Finished(size_t t, const RelayResult& relayed) {
  bool last;
  TableLoad done;
  {
    std::lock_guard lock(mutex_);
    TableLoad& load = loads_[t];
    load.rows += relayed.rows;
    load.bytes += relayed.bytes;
    last = --units_left_[t] == 0;
    auto now = std::chrono::steady_clock::now();
    if (last) load.seconds = std::chrono::duration<double>(now - *first_start_[t]).count();
    last_done_ = now;
    done = load;
  }
  if (last && progress_) progress_->MarkDone(t);
  if (last) log_.observer().TableDone(plan_.tables[t].name.Display(), done.rows, done.bytes);
  if (last && ++tables_done_ == plan_.tables.size())
    log_.Info("all {} tables loaded; finishing the rebuild of indexes and foreign keys",
              plan_.tables.size());
}

std::vector<size_t> LoadTasks::Gate(const QualifiedName& relation) const {
  std::vector<size_t> out;
  for (const auto& [target, id] : unit_targets_)
    if (target == relation) out.push_back(id);
  if (!out.empty()) return out;
  for (size_t t = 0; t < plan_.tables.size(); ++t)
    if (plan_.tables[t].name == relation) return table_tasks_[t];
  // A partition whose rows arrive through its root, or a relation outside the
  // plan: wait for every load.
  for (const auto& ids : table_tasks_) out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

std::vector<TableLoad> LoadTasks::loads() const {
  std::lock_guard lock(mutex_);
  return loads_;
}

std::chrono::steady_clock::time_point LoadTasks::last_done() const {
  std::lock_guard lock(mutex_);
  return last_done_;
}

}  // namespace freshet
