// SIGINT/SIGTERM request a stop (a sync's streams are cancelled and the target
// restored from the journal; a migration's statement is cancelled and its
// file rolled back); a second signal exits at once — the journal lets the next
// run or `freshet repair` restore the target. The signals are handled on a
// thread of their own, never in a signal handler.
#pragma once

#include <csignal>
#include <stop_token>
#include <thread>

namespace freshet {

class SignalStop {
 public:
  SignalStop();   // blocks the signals in the calling thread and starts the watcher
  ~SignalStop();  // stops the watcher
  SignalStop(const SignalStop&) = delete;
  SignalStop& operator=(const SignalStop&) = delete;

  std::stop_token token() const { return stop_.get_token(); }

 private:
  sigset_t set_;
  std::stop_source stop_;
  std::thread thread_;
};

}  // namespace freshet
