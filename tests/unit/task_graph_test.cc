// TaskGraph scheduling without a server: dependencies respected, heaviest
// chain first, failures skip dependents, fatal failures stop the run.
#include "sync/engine/task_graph.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <semaphore>
#include <thread>

namespace freshet {
namespace {

struct Recorder {
  std::mutex mutex;
  std::vector<std::string> order;
  void Record(const std::string& name) {
    std::lock_guard lock(mutex);
    order.push_back(name);
  }
  size_t Position(const std::string& name) {
    return std::find(order.begin(), order.end(), name) - order.begin();
  }
};

Task Named(Recorder& recorder, std::string name, double weight, std::vector<size_t> after = {}) {
  Task task;
  task.name = name;
  task.weight = weight;
  task.after = std::move(after);
  task.run = [&recorder, name](WorkerSession&, std::stop_token) { recorder.Record(name); };
  return task;
}

TEST(TaskGraphTest, RunsEveryTaskAfterItsPrerequisites) {
  Recorder recorder;
  TaskGraph graph;
  size_t load_a = graph.Add(Named(recorder, "load a", 10));
  size_t load_b = graph.Add(Named(recorder, "load b", 5));
  size_t index_a = graph.Add(Named(recorder, "index a", 3, {load_a}));
  graph.Add(Named(recorder, "fk a->b", 1, {index_a, load_b}));
  auto outcomes = graph.Run(3, {}, {}, {});
  ASSERT_EQ(recorder.order.size(), 4u);
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome.state, TaskState::kDone);
  EXPECT_LT(recorder.Position("load a"), recorder.Position("index a"));
  EXPECT_LT(recorder.Position("index a"), recorder.Position("fk a->b"));
  EXPECT_LT(recorder.Position("load b"), recorder.Position("fk a->b"));
}

TEST(TaskGraphTest, LowerRankGoesFirstAndLaterRanksFillIdleWorkers) {
  Recorder recorder;
  TaskGraph graph;
  // Rank 0: a long chain (load, then its rebuild); rank 1: two heavier loads.
  size_t load = graph.Add(Named(recorder, "0: load", 1));
  graph.Add(Named(recorder, "0: rebuild", 1, {load}));
  graph.SetRank(graph.size(), 1);  // nothing yet: no effect
  size_t first_of_one = graph.size();
  graph.Add(Named(recorder, "1: load x", 100));
  graph.Add(Named(recorder, "1: load y", 100));
  graph.SetRank(first_of_one, 1);
  graph.Run(1, {}, {}, {});
  std::vector<std::string> one_worker{"0: load", "0: rebuild", "1: load x", "1: load y"};
  EXPECT_EQ(recorder.order, one_worker);

  // Two workers: while rank 0's chain holds one, the other starts rank 1.
  Recorder busy;
  TaskGraph two;
  std::atomic<bool> rebuild_done{false}, rank_one_overlapped{false};
  std::mutex mutex;
  std::condition_variable started;
  bool other_started = false;
  Task slow_load = Named(busy, "0: load", 1);
  slow_load.run = [&](WorkerSession&, std::stop_token) {
    // Holds its worker until rank 1 has started on the other (bounded, so a
    // scheduler that waits for rank 0 fails the test instead of hanging it).
    std::unique_lock lock(mutex);
    started.wait_for(lock, std::chrono::seconds(30), [&] { return other_started; });
    busy.Record("0: load");
  };
  size_t slow = two.Add(std::move(slow_load));
  Task rebuild = Named(busy, "0: rebuild", 1, {slow});
  rebuild.run = [&](WorkerSession&, std::stop_token) { rebuild_done = true; };
  two.Add(std::move(rebuild));
  size_t later = two.size();
  Task other = Named(busy, "1: load", 100);
  other.run = [&](WorkerSession&, std::stop_token) {
    rank_one_overlapped = !rebuild_done;
    std::lock_guard lock(mutex);
    other_started = true;
    started.notify_all();
  };
  two.Add(std::move(other));
  two.SetRank(later, 1);
  two.Run(2, {}, {}, {});
  EXPECT_TRUE(rank_one_overlapped) << "an idle worker waited for a lower rank to finish";
}

TEST(TaskGraphTest, AtMostTheLimitRunsPerResourceAndResourcesRunSideBySide) {
  TaskGraph graph;
  std::mutex mutex;
  std::condition_variable changed;
  int in_use[2] = {0, 0}, most[2] = {0, 0}, both_seen = 0, starts = 0;
  bool limits_reached = false;
  for (int i = 0; i < 12; ++i) {
    Task task;
    task.name = fmt::format("task {}", i);
    size_t resource = i % 2;
    task.resources = {resource};
    task.run = [&, resource](WorkerSession&, std::stop_token) {
      std::unique_lock lock(mutex);
      most[resource] = std::max(most[resource], ++in_use[resource]);
      if (in_use[0] > 0 && in_use[1] > 0) ++both_seen;
      if (in_use[0] + in_use[1] >= 4) limits_reached = true;
      changed.notify_all();
      // The first four hold their workers until the limit is reached on both
      // resources (bounded: a scheduler that never gets there fails the test).
      if (++starts <= 4)
        changed.wait_for(lock, std::chrono::seconds(30), [&] { return limits_reached; });
      --in_use[resource];
    };
    graph.Add(std::move(task));
  }
  graph.LimitPerResource(2);
  auto outcomes = graph.Run(6, {}, {}, {});
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome.state, TaskState::kDone);
  EXPECT_EQ(most[0], 2);
  EXPECT_EQ(most[1], 2);
  EXPECT_GT(both_seen, 0) << "the two resources never worked at the same time";
}

TEST(TaskGraphTest, OneWorkerTakesTheHeaviestChainFirst) {
  Recorder recorder;
  TaskGraph graph;
  // "small" weighs more than "medium" alone, but "medium" heads a chain
  // (medium + its rebuild) heavier than either.
  graph.Add(Named(recorder, "small", 4));
  size_t medium = graph.Add(Named(recorder, "medium", 3));
  graph.Add(Named(recorder, "rebuild medium", 5, {medium}));
  graph.Run(1, {}, {}, {});
  std::vector<std::string> expected{"medium", "rebuild medium", "small"};
  EXPECT_EQ(recorder.order, expected);
}

TEST(TaskGraphTest, WorkOutsideTheGraphWaitingOnATaskCountsInItsChain) {
  Recorder recorder;
  TaskGraph graph;
  // A light chain ("read", then "finish") that work outside the graph (a
  // merge) waits on for longer than the heavy task takes goes first.
  graph.Add(Named(recorder, "heavy", 6));
  size_t read = graph.Add(Named(recorder, "read", 1));
  Task finish = Named(recorder, "finish", 1, {read});
  finish.tail = 10;
  graph.Add(std::move(finish));
  graph.Run(1, {}, {}, {});
  std::vector<std::string> expected{"read", "finish", "heavy"};
  EXPECT_EQ(recorder.order, expected);
}

TEST(TaskGraphTest, AFailedTaskSkipsItsDependentsOnly) {
  Recorder recorder;
  TaskGraph graph;
  Task broken;
  broken.name = "broken";
  broken.run = [](WorkerSession&, std::stop_token) { throw Error("index build failed"); };
  size_t failed = graph.Add(std::move(broken));
  size_t dependent = graph.Add(Named(recorder, "dependent", 1, {failed}));
  size_t transitive = graph.Add(Named(recorder, "transitive", 1, {dependent}));
  size_t independent = graph.Add(Named(recorder, "independent", 1));
  auto outcomes = graph.Run(2, {}, {}, {});
  EXPECT_EQ(outcomes[failed].state, TaskState::kFailed);
  EXPECT_EQ(outcomes[dependent].state, TaskState::kSkipped);
  EXPECT_EQ(outcomes[transitive].state, TaskState::kSkipped);
  EXPECT_EQ(outcomes[independent].state, TaskState::kDone);
  std::vector<std::string> expected{"independent"};
  EXPECT_EQ(recorder.order, expected);
  try {
    std::rethrow_exception(outcomes[transitive].error);
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "index build failed");
  }
}

TEST(TaskGraphTest, AFatalFailureStopsTheRunAndIsRethrown) {
  TaskGraph graph;
  std::atomic<int> started{0};
  Task fatal;
  fatal.name = "copy";
  fatal.fatal = true;
  fatal.weight = 100;
  fatal.run = [](WorkerSession&, std::stop_token) { throw Error("copying public.t: boom"); };
  graph.Add(std::move(fatal));
  for (int i = 0; i < 20; ++i) {
    Task later;
    later.name = "later";
    later.weight = 1;
    later.run = [&](WorkerSession&, std::stop_token) { ++started; };
    graph.Add(std::move(later));
  }
  EXPECT_THROW(
      {
        try {
          graph.Run(1, {}, {}, {});
        } catch (const Error& error) {
          EXPECT_STREQ(error.what(), "copying public.t: boom");
          throw;
        }
      },
      Error);
  EXPECT_EQ(started.load(), 0);  // the heaviest task ran first and stopped the rest
}

// Releases `ended` when the thread it belongs to exits: a thread_local's
// destructor runs at thread exit.
struct ThreadExit {
  std::binary_semaphore* ended = nullptr;
  ~ThreadExit() {
    if (ended) ended->release();
  }
};

TEST(TaskGraphTest, TheFailureRethrownIsTheCauseNotATaskItCancelled) {
  // One stream fails for real; cancelling the other takes a while (as
  // cancelling a COPY does: a round trip to its server), and meanwhile the
  // other stream fails "cancelled". Here the cancel returns only once the
  // other stream's worker thread has ended, so its failure is always in
  // before the cancel ends.
  TaskGraph graph;
  std::atomic<bool> waiting{false};
  std::binary_semaphore other_worker_ended{0};
  bool cancel_saw_it_end = false;
  using Callback = std::stop_callback<std::function<void()>>;
  std::optional<Callback> slow_cancel;  // outlives the tasks
  Task cancelled;
  cancelled.name = "other target";
  cancelled.fatal = true;
  cancelled.weight = 2;
  cancelled.run = [&](WorkerSession&, std::stop_token stop) {
    thread_local ThreadExit worker_exit;
    worker_exit.ended = &other_worker_ended;
    // Bounded: a run whose other worker never ends fails instead of hanging.
    slow_cancel.emplace(stop, std::function<void()>([&] {
                          cancel_saw_it_end =
                              other_worker_ended.try_acquire_for(std::chrono::seconds(30));
                        }));
    waiting = true;
    waiting.notify_all();
    while (!stop.stop_requested()) std::this_thread::yield();
    throw Error("restoring public.t: cancelled");
  };
  graph.Add(std::move(cancelled));
  Task cause;
  cause.name = "this target";
  cause.fatal = true;
  cause.weight = 1;
  cause.run = [&](WorkerSession&, std::stop_token) {
    waiting.wait(false);
    throw Error("restoring public.t: value too long");
  };
  graph.Add(std::move(cause));
  try {
    graph.Run(2, {}, {}, {});
    ADD_FAILURE() << "no failure rethrown";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "restoring public.t: value too long");
  }
  EXPECT_TRUE(cancel_saw_it_end) << "the cancelled task's worker never ended";
}

TEST(TaskGraphTest, AStopRequestCancelsRunningTasksAndThrows) {
  TaskGraph graph;
  Task waits;
  waits.name = "waits";
  std::atomic<bool> running{false};
  waits.run = [&](WorkerSession&, std::stop_token stop) {
    running = true;
    running.notify_all();
    while (!stop.stop_requested()) std::this_thread::yield();
  };
  graph.Add(std::move(waits));
  std::stop_source stop;
  std::jthread stopper([&] {
    running.wait(false);  // the task is under way: the stop must reach it
    stop.request_stop();
  });
  EXPECT_THROW(graph.Run(2, {}, {}, stop.get_token()), Error);
}

TEST(TaskGraphTest, RejectsADependencyOnAnUnknownTask) {
  TaskGraph graph;
  Task task;
  task.name = "orphan";
  task.after = {3};
  EXPECT_THROW(graph.Add(std::move(task)), Error);
}

}  // namespace
}  // namespace freshet
