// Runs blocking work (a database server's answer) on a thread pool and
// resumes the calling coroutine with its result or its exception, so the
// I/O thread never waits on a network.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

namespace freshet {

// `work` must capture only references and pointers (to the caller's
// coroutine frame, alive while it waits): g++ 12 destroys the function
// co_spawn takes by value twice, so a closure that owns a string frees it
// twice.
template <typename Work>
auto Offload(boost::asio::thread_pool& pool, Work work)
    -> boost::asio::awaitable<decltype(work())> {
  static_assert(std::is_trivially_destructible_v<Work>, "capture by reference");
  using Result = decltype(work());
  return boost::asio::co_spawn(
      pool, [work]() -> boost::asio::awaitable<Result> { co_return work(); },
      boost::asio::use_awaitable);
}

}  // namespace freshet
