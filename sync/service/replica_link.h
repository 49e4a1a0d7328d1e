// A replica's link to the others through the shared PostgreSQL store:
//  - the leader lock: a session advisory lock on the store database, held by
//    one replica at a time and released by the server when that session
//    ends, however its process ended (a kill -9 included);
//  - the store's announcements (LISTEN freshet_service; see
//    sync/service/postgres_run_store.h).
//
// One thread connects, listens and, while this replica is not the leader,
// tries the lock once a turn. The leader checks its session every turn.
// Callbacks, all on that thread (they must not block it for long):
//   became_leader()         this replica holds the lock from now on;
//   lost_leadership(why)    the session holding it broke: another replica may
//                           take over, so this one must stop running runs.
//                           The link stops after calling it;
//   announced(payload)      a NOTIFY on the channel ("queued 12", ...);
//   turn()                  once a turn, after the announcements.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace freshet {

class ReplicaLink {
 public:
  struct Callbacks {
    std::function<void()> became_leader;
    std::function<void(const std::string&)> lost_leadership;
    std::function<void(const std::string&)> announced;
    std::function<void()> turn;
  };

  ReplicaLink(std::string conninfo, Callbacks callbacks,
              std::chrono::milliseconds turn = std::chrono::seconds(1));
  ~ReplicaLink();  // stops the thread; a leader's lock goes with its session
  ReplicaLink(const ReplicaLink&) = delete;
  ReplicaLink& operator=(const ReplicaLink&) = delete;

  void Start();
  bool leader() const { return leader_; }

 private:
  void Loop(std::stop_token stop);

  std::string conninfo_;
  Callbacks callbacks_;
  std::chrono::milliseconds turn_;
  std::atomic<bool> leader_{false};
  std::jthread thread_;
};

}  // namespace freshet
