#include "copy/socket_wait.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "copy/error.h"

namespace freshet {
namespace {

int MakeEventFd() {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw Error(std::string("cannot create an eventfd: ") + std::strerror(errno));
  return fd;
}

}  // namespace

void StopWaker::Notify::operator()() const {
  uint64_t one = 1;
  // Only fails when the counter would overflow, which a stop never reaches.
  [[maybe_unused]] ssize_t written = write(fd, &one, sizeof one);
}

StopWaker::StopWaker(std::stop_token stop) : stop_(stop), fd_(MakeEventFd()) {
  callback_.emplace(std::move(stop), Notify{fd_});
}

StopWaker::~StopWaker() {
  callback_.reset();  // waits for a running callback, so none writes to a closed fd
  close(fd_);
}

bool WaitForSockets(std::vector<SocketWait>& sockets, const StopWaker& waker) {
  std::vector<pollfd> polled;
  polled.reserve(sockets.size() + 1);
  polled.push_back({waker.fd(), POLLIN, 0});
  for (const SocketWait& wait : sockets) polled.push_back({wait.socket, wait.events, 0});
  for (;;) {
    if (waker.stopped()) return false;
    int n = poll(polled.data(), polled.size(), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(std::string("waiting for a database connection: ") + std::strerror(errno));
    for (size_t i = 0; i < sockets.size(); ++i) sockets[i].ready = polled[i + 1].revents;
    return !(polled[0].revents & POLLIN) && !waker.stopped();
  }
}

}  // namespace freshet
