#include "sync/engine/parallel.h"

#include <fmt/format.h>

#include <algorithm>

#include "sync/engine/task_graph.h"

namespace freshet {

// Both run on TaskGraph, the one worker pool of a run: independent tasks,
// taken in order, none fatal.
std::vector<std::exception_ptr> ParallelFor(size_t count, int jobs,
                                            const std::function<Connection()>& open,
                                            const std::function<void(Connection&, size_t)>& work) {
  TaskGraph graph;
  for (size_t i = 0; i < count; ++i) {
    Task task;
    task.name = fmt::format("item {}", i);
    task.run = [&work, i](WorkerSession& session, std::stop_token) { work(session.Target(), i); };
    graph.Add(std::move(task));
  }
  std::vector<TaskOutcome> outcomes = graph.Run(jobs, {}, [&open](size_t) { return open(); }, {});
  std::vector<std::exception_ptr> errors(count);
  for (size_t i = 0; i < outcomes.size(); ++i) errors[i] = outcomes[i].error;
  return errors;
}

std::string ExceptionMessage(const std::exception_ptr& error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
  return "";
}

std::vector<std::string> ForEachParallel(size_t count, int jobs,
                                         const std::function<void(size_t)>& work) {
  TaskGraph graph;
  for (size_t i = 0; i < count; ++i) {
    Task task;
    task.name = fmt::format("item {}", i);
    task.run = [&work, i](WorkerSession&, std::stop_token) { work(i); };
    graph.Add(std::move(task));
  }
  std::vector<std::string> failures;
  for (const TaskOutcome& outcome : graph.Run(jobs, {}, {}, {}))
    if (outcome.error) failures.push_back(ExceptionMessage(outcome.error));
  std::sort(failures.begin(), failures.end());
  return failures;
}

}  // namespace freshet
