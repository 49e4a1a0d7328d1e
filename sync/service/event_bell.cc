#include "sync/service/event_bell.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace freshet {

void EventBell::Ring() {
  if (pending_.exchange(true)) return;
  boost::asio::post(io_, [this] {
    pending_ = false;
    WakeAll();
  });
}

void EventBell::WakeAll() {
  for (Waiter* waiter : waiters_) {
    waiter->rang_ = true;
    waiter->timer_.cancel();
  }
}

EventBell::Waiter::Waiter(EventBell& bell) : bell_(bell), timer_(bell.io_) {
  bell_.waiters_.insert(this);
}

EventBell::Waiter::~Waiter() { bell_.waiters_.erase(this); }

boost::asio::awaitable<void> EventBell::Waiter::Wait(std::chrono::steady_clock::duration at_most) {
  if (!rang_) {
    timer_.expires_after(at_most);
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  rang_ = false;
}

}  // namespace freshet
