// `freshet serve` under test: a real service process on a loopback port with
// its own config, store and admin token, and the databases it refreshes.
#pragma once

#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/sync_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/pg_cluster.h"

namespace freshet::testing {

inline constexpr char kAdminToken[] = "admin-token-for-tests-7f3a";

// Two related tables (accounts, orders: 2,000 and 30,000 rows) for tests
// that sync through the service.
extern const char kAccountsSchema[];
extern const char kAccountsRows[];
// What dev holds before a refresh: one account and one order prod does not have.
extern const char kAccountsStaleRows[];

// A job `refresh`: sync prod -> dev, one job, verified.
inline constexpr char kRefreshJob[] = R"toml(
[jobs.refresh]
kind = "sync"
from = "prod"
to = "dev"
jobs = 1
verify = true
)toml";

// The hex SHA-256 of `text`, as [service.tokens] takes it.
std::string Sha256Hex(const std::string& text);

// The databases a service under test refreshes, on the shared clusters:
// prod_db on `prod` (SharedClusters::Source) with a schema and rows, dev_db
// on `dev` (SharedClusters::Target) with the same schema and other rows, and
// the config of a service over them. Each instance makes databases of its
// own; it does not drop them (the shared clusters go with the test binary).
class ServeDatabases {
 public:
  // A [service.tokens.NAME] entry besides the admin token: `secret` is the
  // bearer token, `scope` "read", "trigger" or "admin".
  struct Token {
    std::string name;
    std::string secret;
    std::string scope;
  };
  struct Options {
    std::string schema = kAccountsSchema;  // on both sides
    std::string prod_rows = kAccountsRows;
    std::string dev_rows = kAccountsStaleRows;
    // Without it there is no dev database (dev_db is empty) and no
    // [targets.dev]: `dev` is only the server of the test's own targets.
    bool dev_database = true;
    // Whether prod's URL in the config carries kProdPassword (trust auth
    // ignores it), which must appear in no answer, log or report.
    bool prod_password = true;
    std::vector<Token> tokens;
  };
  static constexpr char kProdPassword[] = "pw-that-must-not-leak";

  ServeDatabases();
  explicit ServeDatabases(Options options);
  ServeDatabases(const ServeDatabases&) = delete;
  ServeDatabases& operator=(const ServeDatabases&) = delete;

  // prod_db's URL, with kProdPassword unless Options::prod_password is false.
  std::string ProdUrl() const;
  // A service config: source `prod`, target `dev` (with a dev database),
  // [service] with shutdown_timeout = "0s" (a stop cancels runs at once) and
  // the `service` lines, the tokens, then `tables`: the jobs, and any targets
  // of the test's own.
  std::string Config(const std::string& tables, const std::string& service = {}) const;

  // Tables of public whose rows differ between prod_db and dev_db.
  std::vector<std::string> Differing() const;
  // Constraints (validated or not) and indexes of dev, by name and
  // definition, sorted.
  std::string DevConstraints() const;

  PgCluster& prod;
  PgCluster& dev;
  const std::string prod_db;
  const std::string dev_db;

 private:
  Options options_;
};

class ServeProcess {
 public:
  // Writes `config` to a fresh directory and starts the service with
  // FRESHET_API_TOKEN=kAdminToken plus `env`; waits until /readyz answers 200
  // (or the process ends: the test fails with its output). With `tls_ca`
  // (the PEM certificate that issued the config's [service] tls_cert), every
  // call of the helpers goes over HTTPS and trusts it.
  // `store` is the run store (--store): a SQLite file in that directory when
  // empty, or e.g. a PostgreSQL URL shared with another ServeProcess.
  explicit ServeProcess(std::string config, Environment env = {}, std::string tls_ca = {},
                        std::string store = {});
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
  std::string store_;
  std::optional<BackgroundProcess> process_;
  RunResult ended_;
};

}  // namespace freshet::testing
