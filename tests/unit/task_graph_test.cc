// TaskGraph scheduling without a server: dependencies respected, heaviest
// chain first, failures skip dependents, fatal failures stop the run.
#include "sync/task_graph.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
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

TEST(TaskGraphTest, AStopRequestCancelsRunningTasksAndThrows) {
  TaskGraph graph;
  Task waits;
  waits.name = "waits";
  waits.run = [](WorkerSession&, std::stop_token stop) {
    while (!stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  graph.Add(std::move(waits));
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
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
