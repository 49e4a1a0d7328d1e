// Waiting on libpq sockets without ever blocking past a stop: a StopWaker
// turns a std::stop_token into a file descriptor that becomes readable when a
// stop is requested, so one poll() waits for "the socket is ready" or "stop",
// whichever comes first. The stop callback only writes to an eventfd; the
// thread that waits then does the work of stopping (cancelling queries), so
// the thread that requested the stop (a signal handler's) never blocks in
// libpq.
#pragma once

#include <poll.h>

#include <optional>
#include <stop_token>
#include <vector>

namespace freshet {

// Thread-safe: the stop callback may run on any thread. Not movable (the
// callback holds its address).
class StopWaker {
 public:
  explicit StopWaker(std::stop_token stop);  // throws Error when no eventfd can be made
  ~StopWaker();
  StopWaker(const StopWaker&) = delete;
  StopWaker& operator=(const StopWaker&) = delete;

  bool stopped() const { return stop_.stop_requested(); }
  int fd() const { return fd_; }

 private:
  struct Notify {
    int fd;
    void operator()() const;
  };
  std::stop_token stop_;
  int fd_ = -1;
  std::optional<std::stop_callback<Notify>> callback_;  // reset before fd_ closes
};

// One socket to wait on, and for what (POLLIN, POLLOUT or both).
struct SocketWait {
  int socket = -1;
  short events = 0;
  short ready = 0;  // set by WaitForSockets: what happened (POLLIN, POLLOUT, POLLERR, POLLHUP)
};

// Waits until one of `sockets` is ready or a stop is requested. Returns false
// when the stop woke it (the sockets' `ready` may still be set). Sockets of
// -1 are ignored. Throws Error if poll() fails.
bool WaitForSockets(std::vector<SocketWait>& sockets, const StopWaker& waker);

}  // namespace freshet
