#include "sync/service/replica_link.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"
#include "sync/service/postgres_run_store.h"

namespace freshet {
namespace {

// pg_try_advisory_lock key of the leader: "freshldr".
constexpr int64_t kLeaderLockKey = 0x66726573686c6472;

// Waits up to `timeout` for the connection's socket to be readable, then
// reads what came. Throws Error when the session broke.
void AwaitInput(Connection& connection, std::chrono::milliseconds timeout) {
  pollfd socket{PQsocket(connection.handle()), POLLIN, 0};
  if (socket.fd < 0) throw Error("the store connection is closed");
  if (poll(&socket, 1, static_cast<int>(timeout.count())) < 0 && errno != EINTR)
    throw Error(fmt::format("waiting on the store connection: {}", std::strerror(errno)));
  if (!PQconsumeInput(connection.handle()) || PQstatus(connection.handle()) != CONNECTION_OK)
    throw Error(fmt::format("the store connection broke: {}",
                            RedactSecrets(PQerrorMessage(connection.handle()))));
}

// Calls a callback; what it throws is logged.
template <typename F, typename... Args>
void Call(const F& callback, const Args&... args) {
  if (!callback) return;
  try {
    callback(args...);
  } catch (const std::exception& error) {
    spdlog::error("store link: {}", RedactSecrets(error.what()));
  }
}

}  // namespace

ReplicaLink::ReplicaLink(std::string conninfo, Callbacks callbacks, std::chrono::milliseconds turn)
    : conninfo_(std::move(conninfo)), callbacks_(std::move(callbacks)), turn_(turn) {}

ReplicaLink::~ReplicaLink() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void ReplicaLink::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void ReplicaLink::Loop(std::stop_token stop) {
  std::unique_ptr<Connection> connection;
  std::mutex mutex;
  std::condition_variable_any pause;  // between attempts after a failure; a stop ends it
  bool failing = false;
  while (!stop.stop_requested()) {
    try {
      if (!connection) {
        connection = std::make_unique<Connection>(Connection::Open(conninfo_, "run store"));
        connection->Exec(fmt::format("LISTEN {}", kStoreChannel));
        if (failing) spdlog::info("store link: connected again");
        failing = false;
      }
      if (!leader_) {
        if (connection->Exec(fmt::format("SELECT pg_try_advisory_lock({})", kLeaderLockKey))
                .GetBool(0, 0)) {
          leader_ = true;
          Call(callbacks_.became_leader);
        }
      } else {
        connection->Exec("SELECT 1");  // the session that holds the lock is alive
      }
      AwaitInput(*connection, turn_);
      while (PGnotify* notice = PQnotifies(connection->handle())) {
        std::string payload = notice->extra ? notice->extra : "";
        PQfreemem(notice);
        Call(callbacks_.announced, payload);
      }
      Call(callbacks_.turn);
    } catch (const std::exception& error) {
      connection.reset();
      std::string why = RedactSecrets(error.what());
      if (leader_) {
        leader_ = false;
        Call(callbacks_.lost_leadership, why);
        return;
      }
      if (!failing) spdlog::warn("store link: {}; trying again", why);
      failing = true;
      std::unique_lock lock(mutex);
      pause.wait_for(lock, stop, turn_, [] { return false; });
    }
  }
}

}  // namespace freshet
