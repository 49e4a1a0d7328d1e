#include "sync/cli/signal_stop.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace freshet {

SignalStop::SignalStop() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGUSR1);  // only to wake the watcher at shutdown
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  thread_ = std::thread([this] {
    int signal = 0;
    int count = 0;
    while (sigwait(&set_, &signal) == 0) {
      if (signal == SIGUSR1) return;  // shutdown of this watcher
      if (++count > 1) std::_Exit(130);
      spdlog::warn("interrupted: stopping (press Ctrl-C again to exit at once)");
      stop_.request_stop();
    }
  });
}

SignalStop::~SignalStop() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace freshet
