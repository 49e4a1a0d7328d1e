#include "sync/engine/task_graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "sync/engine/test_hooks.h"

namespace freshet {

Connection& WorkerSession::Source() {
  if (!source_) {
    if (!open_source_) throw Error("internal: a task needs a source connection, none configured");
    source_.emplace(open_source_());
  }
  return *source_;
}

Connection& WorkerSession::Target(size_t which) {
  if (targets_.size() <= which) targets_.resize(which + 1);
  if (!targets_[which]) {
    if (!open_target_) throw Error("internal: a task needs a target connection, none configured");
    targets_[which] = std::make_unique<Connection>(open_target_(which));
  }
  return *targets_[which];
}

bool WorkerSession::Broken() const {
  if (source_ && PQstatus(source_->handle()) == CONNECTION_BAD) return true;
  for (const auto& target : targets_)
    if (target && PQstatus(target->handle()) == CONNECTION_BAD) return true;
  return false;
}

void WorkerSession::Reset() {
  source_.reset();
  targets_.clear();
}

size_t TaskGraph::Add(Task task) {
  for (size_t prerequisite : task.after)
    if (prerequisite >= tasks_.size())
      throw Error(
          fmt::format("internal: task '{}' depends on unknown task {}", task.name, prerequisite));
  tasks_.push_back(std::move(task));
  return tasks_.size() - 1;
}

void TaskGraph::SetRank(size_t first, int rank) {
  for (size_t id = first; id < tasks_.size(); ++id) tasks_[id].rank = rank;
}

void TaskGraph::SetResources(size_t first, const std::vector<size_t>& resources) {
  for (size_t id = first; id < tasks_.size(); ++id) tasks_[id].resources = resources;
}

void TaskGraph::CheckBefore(size_t first, const std::function<void()>& check) {
  for (size_t id = first; id < tasks_.size(); ++id) {
    auto body = std::move(tasks_[id].run);
    tasks_[id].run = [check, body](WorkerSession& session, std::stop_token stop) {
      check();
      body(session, stop);
    };
  }
}

namespace {

// Shared scheduling state of one Run, guarded by `mutex`.
struct RunState {
  RunState(const std::vector<Task>& tasks, int per_resource)
      : tasks(tasks),
        per_resource(per_resource),
        outcomes(tasks.size()),
        waiting_on(tasks.size()),
        dependents(tasks.size()),
        priority(tasks.size()) {
    for (size_t id = 0; id < tasks.size(); ++id) {
      waiting_on[id] = tasks[id].after.size();
      for (size_t prerequisite : tasks[id].after) dependents[prerequisite].push_back(id);
    }
    // Ids are in topological order, so one backwards pass gives every task
    // its weight plus the heaviest chain after it (in the graph or not).
    for (size_t id = tasks.size(); id-- > 0;) {
      double tail = tasks[id].tail;
      for (size_t next : dependents[id]) tail = std::max(tail, priority[next]);
      priority[id] = tasks[id].weight + tail;
    }
    for (size_t id = 0; id < tasks.size(); ++id) {
      if (waiting_on[id] == 0) ready.push_back(id);
      for (size_t resource : tasks[id].resources)
        if (resource >= in_use.size()) in_use.resize(resource + 1, 0);
    }
    remaining = tasks.size();
  }

  bool Fits(size_t id) const {
    if (per_resource <= 0) return true;
    for (size_t resource : tasks[id].resources)
      if (in_use[resource] >= per_resource) return false;
    return true;
  }

  // Ready task a goes before ready task b.
  bool Before(size_t a, size_t b) const {
    if (tasks[a].rank != tasks[b].rank) return tasks[a].rank < tasks[b].rank;
    if (priority[a] != priority[b]) return priority[a] > priority[b];
    return a < b;
  }

  // Blocks until a task is ready and fits its resources' limits (returns it,
  // counted as running) or none will ever be.
  std::optional<size_t> Next(std::stop_token stop) {
    std::unique_lock lock(mutex);
    for (;;) {
      if (failure || stop.stop_requested() || remaining == 0) return std::nullopt;
      std::optional<size_t> best;
      for (size_t i = 0; i < ready.size(); ++i)
        if (Fits(ready[i]) && (!best || Before(ready[i], ready[*best]))) best = i;
      if (best) {
        size_t id = ready[*best];
        ready.erase(ready.begin() + static_cast<std::ptrdiff_t>(*best));
        ++running;
        for (size_t resource : tasks[id].resources) ++in_use[resource];
        return id;
      }
      if (running == 0) return std::nullopt;  // only unreachable tasks left
      wake.wait(lock);
    }
  }

  void Finish(size_t id, std::exception_ptr error) {
    std::lock_guard lock(mutex);
    --running;
    --remaining;
    for (size_t resource : tasks[id].resources) --in_use[resource];
    if (!error) {
      outcomes[id].state = TaskState::kDone;
      for (size_t next : dependents[id])
        if (--waiting_on[next] == 0 && outcomes[next].state == TaskState::kPending)
          ready.push_back(next);
    } else {
      outcomes[id] = {TaskState::kFailed, error};
      if (tasks[id].fatal && !failure) failure = error;
      Skip(id, error);
    }
    wake.notify_all();
  }

  void Fail(std::exception_ptr error) {
    std::lock_guard lock(mutex);
    if (!failure) failure = error;
    wake.notify_all();
  }

  void Skip(size_t id, std::exception_ptr error) {
    for (size_t next : dependents[id]) {
      if (outcomes[next].state != TaskState::kPending) continue;
      outcomes[next] = {TaskState::kSkipped, error};
      --remaining;
      Skip(next, error);
    }
  }

  const std::vector<Task>& tasks;
  const int per_resource;
  std::vector<int> in_use;  // running tasks per resource
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<TaskOutcome> outcomes;
  std::vector<size_t> waiting_on;
  std::vector<std::vector<size_t>> dependents;
  std::vector<double> priority;
  std::vector<size_t> ready;
  size_t remaining = 0;
  int running = 0;
  std::exception_ptr failure;
};

}  // namespace

std::vector<TaskOutcome> TaskGraph::Run(int workers, const std::function<Connection()>& open_source,
                                        const std::function<Connection(size_t)>& open_target,
                                        std::stop_token stop, const RunLog& log) {
  RunState state(tasks_, per_resource_);
  if (tasks_.empty()) return state.outcomes;
  workers = std::max(1, std::min<int>(workers, static_cast<int>(tasks_.size())));
  std::stop_source cancel;  // fires on a fatal failure or an outside stop
  std::stop_callback forward(stop, [&] {
    cancel.request_stop();
    std::lock_guard lock(state.mutex);
    state.wake.notify_all();
  });
  std::vector<std::jthread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      try {
        WorkerSession session(open_source, open_target);
        while (auto id = state.Next(cancel.get_token())) {
          std::exception_ptr error;
          auto started = std::chrono::steady_clock::now();
          try {
            TestPause("start " + tasks_[*id].name, cancel.get_token());
            tasks_[*id].run(session, cancel.get_token());
            TestPause("done " + tasks_[*id].name, cancel.get_token());
            if (tasks_[*id].finished) tasks_[*id].finished();
          } catch (...) {
            error = std::current_exception();
          }
          log.Debug(
              "{}: {} in {:.2f} s", tasks_[*id].name, error ? "failed" : "done",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          // Recorded before the others are cancelled, so the run reports this
          // failure rather than a task it cancelled.
          state.Finish(*id, error);
          if (error && tasks_[*id].fatal) cancel.request_stop();
        }
      } catch (...) {
        state.Fail(std::current_exception());
        cancel.request_stop();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (state.failure) std::rethrow_exception(state.failure);
  if (stop.stop_requested()) throw Error("cancelled");
  return state.outcomes;
}

}  // namespace freshet
