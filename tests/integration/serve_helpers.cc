#include "tests/integration/serve_helpers.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "apply/local_cluster.h"
#include "sync/service/api_tokens.h"

namespace freshet::testing {

const char kAccountsSchema[] = R"sql(
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, plan text
  CHECK (plan IN ('free', 'team')));
CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id),
  total numeric(12, 2), placed_at timestamptz);
CREATE INDEX orders_account ON orders (account_id);
)sql";

const char kAccountsRows[] = R"sql(
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', CASE WHEN g % 3 = 0 THEN 'team'
  ELSE 'free' END FROM generate_series(1, 2000) g;
INSERT INTO orders SELECT g, 1 + g % 2000, (g % 997) * 1.25, '2026-01-01'::timestamptz
  + g * interval '1 minute' FROM generate_series(1, 30000) g;
)sql";

const char kAccountsStaleRows[] = R"sql(
INSERT INTO accounts VALUES (1, 'old@example.com', 'free');
INSERT INTO orders VALUES (1, 1, 9.99, now());
)sql";

std::string Sha256Hex(const std::string& text) {
  std::string hex;
  for (unsigned char byte : Sha256(text)) hex += fmt::format("{:02x}", byte);
  return hex;
}

ServeDatabases::ServeDatabases() : ServeDatabases(Options{}) {}

ServeDatabases::ServeDatabases(Options options)
    : prod(SharedClusters::Source()),
      dev(SharedClusters::Target()),
      prod_db(prod.CreateUniqueDatabase("prod")),
      dev_db(options.dev_database ? dev.CreateUniqueDatabase("dev") : std::string()),
      options_(std::move(options)) {
  prod.Psql(prod_db, options_.schema + options_.prod_rows);
  if (!dev_db.empty()) dev.Psql(dev_db, options_.schema + options_.dev_rows);
}

std::string ServeDatabases::ProdUrl() const {
  std::string url = prod.Url(prod_db);
  if (options_.prod_password)
    url.replace(url.find("postgres@"), 9, std::string("postgres:") + kProdPassword + "@");
  return url;
}

std::string ServeDatabases::Config(const std::string& tables, const std::string& service) const {
  std::string config = fmt::format("\n[sources.prod]\nurl = \"{}\"\n", ProdUrl());
  if (!dev_db.empty()) config += fmt::format("[targets.dev]\nurl = \"{}\"\n", dev.Url(dev_db));
  config += fmt::format("[service]\nshutdown_timeout = \"0s\"\n{}\n", service);
  for (const Token& token : options_.tokens)
    config += fmt::format("[service.tokens.{}]\nsha256 = \"{}\"\nscope = \"{}\"\n", token.name,
                          Sha256Hex(token.secret), token.scope);
  return config + tables;
}

std::vector<std::string> ServeDatabases::Differing() const {
  return DifferingTables(prod, prod_db, dev, dev_db, {"public"});
}

std::string ServeDatabases::DevConstraints() const {
  return dev.Psql(dev_db,
                  "SELECT string_agg(conname || ' ' || replace(pg_get_constraintdef(oid), ' NOT "
                  "VALID', ''), E'\\n' ORDER BY conname) FROM pg_constraint WHERE "
                  "connamespace = 'public'::regnamespace") +
         dev.Psql(dev_db,
                  "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE "
                  "schemaname = 'public'");
}

ServeProcess::ServeProcess(std::string config, Environment env, std::string tls_ca,
                           std::string store)
    : tls_ca_(std::move(tls_ca)), store_(std::move(store)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "freshet-serve-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  std::ofstream(dir_ + "/freshet.toml") << config;
  port_ = FreeLoopbackPort();
  Start(std::move(env));
}

ServeProcess::~ServeProcess() {
  process_.reset();  // kills a service still running
  if (!std::getenv("FRESHET_KEEP_CLUSTERS")) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void ServeProcess::Start(Environment env, bool until_ready) {
  env["FRESHET_API_TOKEN"] = kAdminToken;
  process_.emplace(StartCommand(
      {FreshetBinary(), "serve", "--config", dir_ + "/freshet.toml", "--listen",
       fmt::format("127.0.0.1:{}", port_), "--store", store_.empty() ? dir_ + "/runs.db" : store_},
      env));
  // Readiness probe: /readyz answers 200 once the service listens and has
  // repaired what a previous process left; /healthz once it listens. The
  // deadline only turns a service that never gets there into a failure.
  const char* probe = until_ready ? "/readyz" : "/healthz";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto result = process_->WaitFor(std::chrono::milliseconds(20))) {
      ended_ = *result;
      process_.reset();
      throw std::runtime_error("freshet serve exited with " + std::to_string(ended_.exit_code) +
                               " before it was ready: " + ended_.err);
    }
    try {
      if (HttpCall(address(), "GET", probe).status == 200) return;
    } catch (const std::exception&) {  // not listening yet
    }
  }
  throw std::runtime_error(fmt::format(
      "freshet serve did not answer 200 on {} within 3 minutes: {}", probe, process_->Stderr()));
}

HttpResult ServeProcess::Get(const std::string& target) const {
  return HttpCall(address(), "GET", target, Bearer(kAdminToken));
}

HttpResult ServeProcess::Post(const std::string& target, const std::string& body) const {
  return HttpCall(address(), "POST", target, Bearer(kAdminToken), body);
}

int64_t ServeProcess::Trigger(const std::string& job, const std::string& body) const {
  HttpResult result = Post("/v1/jobs/" + job + "/runs", body);
  EXPECT_EQ(result.status, 202) << result.body;
  return result.Json().value("id", int64_t{0});
}

nlohmann::json ServeProcess::WaitForEnd(int64_t run) const {
  auto [status, events] =
      ReadEvents(address(), fmt::format("/v1/runs/{}/events", run), Bearer(kAdminToken));
  EXPECT_EQ(status, 200);
  if (events.empty() || events.back().event != "end") {
    ADD_FAILURE() << "the event stream of run " << run << " ended without an end event";
    return Get(fmt::format("/v1/runs/{}", run)).Json();
  }
  return nlohmann::json::parse(events.back().data);
}

RunResult ServeProcess::Stop(int signal) {
  process_->Signal(signal);
  ended_ = process_->Wait();
  process_.reset();
  return ended_;
}

void ServeProcess::Restart(Environment env, bool until_ready) {
  Start(std::move(env), until_ready);
}

}  // namespace freshet::testing
