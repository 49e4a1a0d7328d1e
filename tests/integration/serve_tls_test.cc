// `freshet serve` over TLS: a throwaway self-signed certificate for 127.0.0.1
// made with the openssl CLI, the service started with [service] tls_cert and
// tls_key, and a client that trusts that certificate and nothing else.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/serve_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A directory of throwaway certificates, removed at the end of the test.
class CertificateDir {
 public:
  CertificateDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "freshet-tls-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  ~CertificateDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // A self-signed certificate valid for IP 127.0.0.1 and its key:
  // NAME.crt and NAME.key.
  void Make(const std::string& name) {
    RunResult made = RunCommand(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", Key(name), "-out", Cert(name), "-days", "2", "-subj",
         "/CN=freshet test " + name, "-addext", "subjectAltName=IP:127.0.0.1"});
    if (made.exit_code != 0) throw std::runtime_error("openssl req failed: " + made.err);
  }
  std::string Cert(const std::string& name) const { return dir_ + "/" + name + ".crt"; }
  std::string Key(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  std::string Read(const std::string& path) const {
    std::ifstream file(path);
    return {std::istreambuf_iterator<char>(file), {}};
  }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

constexpr char kSchema[] = R"sql(
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id),
  total numeric(12, 2));
)sql";

constexpr char kRows[] = R"sql(
INSERT INTO accounts SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 500) g;
INSERT INTO orders SELECT g, 1 + g % 500, g * 0.25 FROM generate_series(1, 3000) g;
)sql";

// prod with rows (no password in its URL), dev with the schema, and a
// service config refreshing one from the other, with `service` lines added
// under [service].
struct Databases : ServeDatabases {
  Databases()
      : ServeDatabases({.schema = kSchema,
                        .prod_rows = kRows,
                        .dev_rows = "",
                        .prod_password = false,
                        .tokens = {}}) {}  // the admin token only

  std::string Config(const std::string& service) const {
    return ServeDatabases::Config(R"toml(
[jobs.refresh]
kind = "sync"
from = "prod"
to = "dev"
jobs = 1
)toml",
                                  service);
  }
};

std::string TlsLines(const std::string& cert, const std::string& key) {
  return fmt::format("tls_cert = \"{}\"\ntls_key = \"{}\"\n", cert, key);
}

// A service over `db` answering HTTPS with the certificate made as "server"
// in `certs`, which its client trusts.
ServeProcess ServeTls(const Databases& db, const CertificateDir& certs) {
  return ServeProcess(db.Config(TlsLines(certs.Cert("server"), certs.Key("server"))), {},
                      certs.Cert("server"));
}

// Runs `freshet serve` on `config` until it exits (it is expected not to
// start) and returns how it ended.
RunResult ServeOnce(const CertificateDir& dir, const std::string& config) {
  std::string path = dir.path() + "/freshet.toml";
  std::ofstream(path) << config;
  return RunCommand({FreshetBinary(), "serve", "--config", path, "--listen", "127.0.0.1:0",
                     "--store", dir.path() + "/runs.db"},
                    {{"FRESHET_API_TOKEN", kAdminToken}});
}

TEST(ServeTls, AnswersHttpsWithTheConfiguredCertificate) {
  Databases db;
  CertificateDir certs;
  certs.Make("server");
  ServeProcess serve = ServeTls(db, certs);
  EXPECT_THAT(serve.Stderr(),
              HasSubstr(fmt::format("listening on https://127.0.0.1:{}", serve.port())));
  EXPECT_EQ(HttpCall(serve.address(), "GET", "/healthz").status, 200);
  HttpResult jobs = serve.Get("/v1/jobs");
  ASSERT_EQ(jobs.status, 200) << jobs.body;
  EXPECT_EQ(jobs.Json()["jobs"][0]["name"], "refresh");
  EXPECT_EQ(HttpCall(serve.address(), "GET", "/v1/jobs").status, 401);
  EXPECT_THAT(serve.Stderr(), Not(HasSubstr("PRIVATE KEY")));
}

TEST(ServeTls, PlainHttpToTheTlsPortGetsNoHttpAnswer) {
  Databases db;
  CertificateDir certs;
  certs.Make("server");
  ServeProcess serve = ServeTls(db, certs);
  // The server closes the connection (at most after a TLS alert); it returns
  // before RawExchange's deadline, else that fails the test.
  std::string answer =
      RawExchange(serve.port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_THAT(answer, Not(HasSubstr("HTTP/1.")));
  EXPECT_THROW(HttpCall(serve.port(), "GET", "/healthz"), std::runtime_error);
  // The service still answers over TLS.
  EXPECT_EQ(HttpCall(serve.address(), "GET", "/healthz").status, 200);
}

TEST(ServeTls, EventStreamOverTlsFollowsARunToItsEnd) {
  Databases db;
  CertificateDir certs;
  certs.Make("server");
  ServeProcess serve = ServeTls(db, certs);
  int64_t id = serve.Trigger("refresh");
  ASSERT_GT(id, 0);
  auto [status, events] =
      ReadEvents(serve.address(), fmt::format("/v1/runs/{}/events", id), Bearer(kAdminToken));
  ASSERT_EQ(status, 200);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().event, "run");
  EXPECT_EQ(events.back().event, "end");
  nlohmann::json end = nlohmann::json::parse(events.back().data);
  EXPECT_EQ(end["id"], id);
  EXPECT_EQ(end["state"], "succeeded") << end.dump(2) << serve.Stderr();
  EXPECT_EQ(end["rows"], 3500);
  EXPECT_EQ(db.dev.Psql(db.dev_db, "SELECT count(*) FROM orders"), "3000");
}

TEST(ServeTls, OversizedBodyGetsAReadable413OverTls) {
  Databases db;
  CertificateDir certs;
  certs.Make("server");
  ServeProcess serve = ServeTls(db, certs);
  for (int attempt = 0; attempt < 5; ++attempt) {
    HttpResult big = serve.Post("/v1/jobs/refresh/runs", std::string(70 * 1024, ' '));
    ASSERT_EQ(big.status, 413) << big.body;
    EXPECT_THAT(big.Json()["error"].get<std::string>(), HasSubstr("larger than 65536 bytes"));
  }
  EXPECT_EQ(serve.Get("/v1/runs").Json()["runs"].size(), 0u);
}

TEST(ServeTls, KeyOfAnotherCertificateStopsTheServiceNamingTheFile) {
  Databases db;
  CertificateDir certs;
  certs.Make("server");
  certs.Make("other");
  RunResult ended = ServeOnce(certs, db.Config(TlsLines(certs.Cert("server"), certs.Key("other"))));
  EXPECT_NE(ended.exit_code, 0);
  EXPECT_THAT(ended.err, HasSubstr(fmt::format("tls_key '{}' does not match the certificate",
                                               certs.Key("other"))));
  EXPECT_THAT(ended.err, Not(HasSubstr("listening on")));
  for (const std::string& key : {certs.Key("other"), certs.Key("server")}) {
    std::string secret = certs.Read(key);
    size_t start = secret.find('\n') + 1;  // the first line of base64 after the PEM header
    EXPECT_THAT(ended.err, Not(HasSubstr(secret.substr(start, 40))));
  }
}

TEST(ServeTls, MissingCertificateFileStopsTheServiceNamingIt) {
  Databases db;
  CertificateDir certs;
  certs.Make("server");
  std::string missing = certs.path() + "/missing.crt";
  RunResult ended = ServeOnce(certs, db.Config(TlsLines(missing, certs.Key("server"))));
  EXPECT_NE(ended.exit_code, 0);
  EXPECT_THAT(ended.err, HasSubstr(fmt::format("tls_cert '{}' cannot be read", missing)));
}

TEST(ServeTls, CertificateWithoutKeyIsAConfigError) {
  Databases db;
  CertificateDir certs;
  certs.Make("server");
  RunResult ended =
      ServeOnce(certs, db.Config(fmt::format("tls_cert = \"{}\"\n", certs.Cert("server"))));
  EXPECT_EQ(ended.exit_code, 2) << ended.err;
  EXPECT_THAT(ended.err, HasSubstr("'service.tls_cert' is set but 'service.tls_key' is not"));
}

}  // namespace
}  // namespace freshet::testing
