// `freshet serve` end to end: a real service on loopback, real clusters, the
// API as scripts and the dashboard use it. Mid-run actions wait for named
// pause points (tests/integration/sync_helpers.h), never for time.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/serve_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kSchema[] = R"sql(
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, plan text
  CHECK (plan IN ('free', 'team')));
CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id),
  total numeric(12, 2), placed_at timestamptz);
CREATE INDEX orders_account ON orders (account_id);
)sql";

constexpr char kRows[] = R"sql(
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', CASE WHEN g % 3 = 0 THEN 'team'
  ELSE 'free' END FROM generate_series(1, 2000) g;
INSERT INTO orders SELECT g, 1 + g % 2000, (g % 997) * 1.25, '2026-01-01'::timestamptz
  + g * interval '1 minute' FROM generate_series(1, 30000) g;
)sql";

// A production database with rows, a development one with the schema and
// other rows, and the config of a service that refreshes one from the other.
struct Databases {
  PgCluster& prod = SharedClusters::Source();
  PgCluster& dev = SharedClusters::Target();
  std::string prod_db = prod.CreateUniqueDatabase("prod");
  std::string dev_db = dev.CreateUniqueDatabase("dev");

  Databases() {
    prod.Psql(prod_db, std::string(kSchema) + kRows);
    dev.Psql(dev_db, std::string(kSchema) +
                         "INSERT INTO accounts VALUES (1, 'old@example.com', 'free');"
                         "INSERT INTO orders VALUES (1, 1, 9.99, now());");
  }

  // prod's URL carries a password (trust auth ignores it), which must appear
  // in no answer, log or report.
  std::string ProdUrl() const {
    std::string url = prod.Url(prod_db);
    return url.replace(url.find("postgres@"), 9, std::string("postgres:") + kPassword + "@");
  }
  static constexpr char kPassword[] = "pw-that-must-not-leak";

  std::string Config(const std::string& jobs, const std::string& service = {}) const {
    return fmt::format(R"toml(
[sources.prod]
url = "{}"
[targets.dev]
url = "{}"
[service]
shutdown_timeout = "0s"
{}
[service.tokens.reader]
sha256 = "{}"
scope = "read"
{}
)toml",
                       ProdUrl(), dev.Url(dev_db), service, Sha256Hex("reader-token"),
                       jobs);
  }

  std::vector<std::string> Differing() const {
    return DifferingTables(prod, prod_db, dev, dev_db, {"public"});
  }
  std::string DevDigest() const {
    return TableDigest(dev, dev_db, "public.orders", {"id", "account_id", "total"}) +
           TableDigest(dev, dev_db, "public.accounts", {"id", "email", "plan"});
  }
  // Constraints and indexes of dev, by name and definition, sorted.
  std::string DevConstraints() const {
    return dev.Psql(dev_db,
                    "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid) || ' ' || "
                    "convalidated, E'\\n' ORDER BY conname) FROM pg_constraint WHERE connamespace "
                    "= 'public'::regnamespace") +
           dev.Psql(dev_db,
                    "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE "
                    "schemaname = 'public'");
  }
};

constexpr char kRefreshJob[] = R"toml(
[jobs.refresh]
kind = "sync"
from = "prod"
to = "dev"
jobs = 1
verify = true
)toml";

TEST(Serve, SyncTriggeredThroughTheApiEndsEqualAndServesItsReport) {
  Databases db;
  ServeProcess serve(db.Config(kRefreshJob));
  HttpResult jobs = serve.Get("/v1/jobs");
  ASSERT_EQ(jobs.status, 200) << jobs.body;
  EXPECT_EQ(jobs.Json()["jobs"][0]["name"], "refresh");

  int64_t id = serve.Trigger("refresh");
  ASSERT_GT(id, 0);
  auto [status, events] =
      ReadEvents(serve.port(), fmt::format("/v1/runs/{}/events", id), Bearer(kAdminToken));
  ASSERT_EQ(status, 200);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "end");
  nlohmann::json end = nlohmann::json::parse(events.back().data);
  EXPECT_EQ(end["state"], "succeeded") << end.dump(2) << serve.Stderr();
  EXPECT_EQ(end["exit_status"], 0);
  EXPECT_EQ(end["rows"], 32000);
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());

  HttpResult report = serve.Get(fmt::format("/v1/runs/{}/report", id));
  ASSERT_EQ(report.status, 200) << report.body;
  nlohmann::json json = report.Json();
  EXPECT_EQ(json["ok"], true);
  EXPECT_EQ(json["tables"].size(), 2u);
  HttpResult markdown = HttpCall(serve.port(), "GET", fmt::format("/v1/runs/{}/report", id),
                                 {{"Authorization", std::string("Bearer ") + kAdminToken},
                                  {"Accept", "text/markdown"}});
  EXPECT_EQ(markdown.status, 200);
  EXPECT_THAT(markdown.headers["content-type"], HasSubstr("text/markdown"));
  EXPECT_THAT(markdown.body, HasSubstr("public.orders"));

  HttpResult log = serve.Get(fmt::format("/v1/runs/{}/log", id));
  EXPECT_THAT(log.body, HasSubstr("succeeded"));
  HttpResult list = serve.Get("/v1/runs?job=refresh");
  EXPECT_EQ(list.Json()["runs"][0]["id"], id);
  for (const std::string& text : std::vector<std::string>{report.body, markdown.body, log.body, list.body, jobs.body,
                                  events.back().data, serve.Stderr()})
    EXPECT_THAT(text, ::testing::Not(HasSubstr(Databases::kPassword)));
}

}  // namespace
}  // namespace freshet::testing
