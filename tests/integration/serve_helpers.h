// `freshet serve` under test: a real service process on a loopback port with
// its own config, store and admin token, and the databases it refreshes.
#pragma once

#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tests/integration/sync_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/pg_cluster.h"

namespace freshet::testing {

inline constexpr char kAdminToken[] = "admin-token-for-tests-7f3a";

// Two related tables (accounts, orders: 2,000 and 30,000 rows) for tests
// that sync through the service.
extern const char kAccountsSchema[];
extern const char kAccountsRows[];

// The hex SHA-256 of `text`, as [service.tokens] takes it.
std::string Sha256Hex(const std::string& text);

class ServeProcess {
 public:
  // Writes `config` to a fresh directory and starts the service with
  // FRESHET_API_TOKEN=kAdminToken plus `env`; waits until /readyz answers 200
  // (or the process ends: the test fails with its output). With `tls_ca`
  // (the PEM certificate that issued the config's [service] tls_cert), every
  // call of the helpers goes over HTTPS and trusts it.
  explicit ServeProcess(std::string config, Environment env = {}, std::string tls_ca = {});
  ~ServeProcess();

  int port() const { return port_; }
  // The port, and the CA to trust when the service speaks HTTPS.
  ServiceAddress address() const { return {port_, tls_ca_}; }
  BackgroundProcess& process() { return *process_; }
  std::string Stderr() const { return process_ ? process_->Stderr() : ended_.err; }

  // API calls with the admin token.
  HttpResult Get(const std::string& target) const;
  HttpResult Post(const std::string& target, const std::string& body = {}) const;
  // Triggers `job` and returns the new run's id (the test fails on another status).
  int64_t Trigger(const std::string& job, const std::string& body = {}) const;
  // Follows the run's event stream to its end and returns the last event's run.
  nlohmann::json WaitForEnd(int64_t run) const;

  // Sends `signal` and waits for the exit.
  RunResult Stop(int signal = SIGTERM);
  // Starts the service again on the same port, config and store (after Stop),
  // with `env`; waits until /readyz answers 200, or with `until_ready` false
  // only until it listens (/healthz), e.g. while its recovery is paused.
  void Restart(Environment env = {}, bool until_ready = true);

 private:
  void Start(Environment env, bool until_ready = true);

  std::string dir_;
  int port_ = 0;
  std::string tls_ca_;
  std::optional<BackgroundProcess> process_;
  RunResult ended_;
};

}  // namespace freshet::testing
