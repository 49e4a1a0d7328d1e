// Wakes the connections that wait for news (Server-Sent Events): any thread
// rings; waiters on the io_context's thread wake and look at what changed.
// A waiter registers before it checks for news, so a ring between its check
// and its wait is never lost (the wake-up is posted to the same thread).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <set>

namespace freshet {

class EventBell {
 public:
  explicit EventBell(boost::asio::io_context& io) : io_(io) {}

  // Any thread: wakes every waiter (coalesced: one post per burst).
  void Ring();

  // On the io thread: a waiter's registration; Wait returns when the bell
  // rang since the registration (or now, if it did), or after `at_most`.
  class Waiter {
   public:
    explicit Waiter(EventBell& bell);
    ~Waiter();
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    boost::asio::awaitable<void> Wait(std::chrono::steady_clock::duration at_most);

   private:
    friend class EventBell;
    EventBell& bell_;
    boost::asio::steady_timer timer_;
    bool rang_ = false;
  };

 private:
  void WakeAll();

  boost::asio::io_context& io_;
  std::atomic<bool> pending_{false};
  std::set<Waiter*> waiters_;
};

}  // namespace freshet
