#include "sync/engine/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

namespace freshet {

std::vector<std::exception_ptr> ParallelFor(size_t count, int jobs,
                                            const std::function<Connection()>& open,
                                            const std::function<void(Connection&, size_t)>& work) {
  std::vector<std::exception_ptr> errors(count);
  std::atomic<size_t> next{0};
  std::atomic<int> connected{0};
  std::exception_ptr connect_error;
  std::mutex connect_mutex;
  int threads_wanted = std::max(1, std::min<int>(jobs, static_cast<int>(count)));
  std::vector<std::jthread> threads;
  for (int t = 0; t < threads_wanted && count > 0; ++t) {
    threads.emplace_back([&] {
      std::optional<Connection> connection;
      try {
        connection.emplace(open());
        ++connected;
      } catch (...) {
        std::lock_guard lock(connect_mutex);
        if (!connect_error) connect_error = std::current_exception();
        return;
      }
      for (size_t i = next++; i < count; i = next++) {
        try {
          work(*connection, i);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // Items no thread could take (every connection failed).
  for (size_t i = next.load(); i < count; ++i) errors[i] = connect_error;
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
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::jthread> threads;
  for (int w = 0; w < std::max(1, std::min<int>(jobs, static_cast<int>(count))); ++w)
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < count;) {
        try {
          work(i);
        } catch (const std::exception& error) {
          std::lock_guard lock(mutex);
          failures.push_back(error.what());
        }
      }
    });
  threads.clear();  // joins
  std::sort(failures.begin(), failures.end());
  return failures;
}

}  // namespace freshet
