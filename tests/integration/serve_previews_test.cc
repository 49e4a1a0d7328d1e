// Preview branches through `freshet serve`: POST /v1/previews creates a
// database from the template target, migrates it and restores the latest
// snapshot (or syncs from the source) into it; POST again refreshes it; GET
// lists them; DELETE drops them. Real service, real clusters; mid-run
// actions wait for named pause points, never for time.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "tests/integration/serve_helpers.h"

namespace freshet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kPassword[] = "pw-of-the-preview-server";
constexpr char kTriggerToken[] = "ci-token-for-previews";

constexpr char kSchema[] = R"sql(
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, plan text);
CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id),
  total numeric(12, 2));
CREATE INDEX orders_account ON orders (account_id);
)sql";

constexpr char kRows[] = R"sql(
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 'free' FROM generate_series(1, 2000) g;
INSERT INTO orders SELECT g, 1 + g % 2000, g * 0.5 FROM generate_series(1, 30000) g;
)sql";

// prod with rows; previews made on the dev cluster, their databases named
// "<prefix>_<name>" with a prefix of this test's own; the schema as a
// migration; a service config with a capture job and a preview job.
struct Clusters : ServeDatabases {
  PgCluster& server = dev;  // where previews are made; no dev database
  std::string prefix = NewPrefix();
  ScratchDir scratch;
  std::string snapshots = scratch / "snapshots";
  std::string migrations = scratch / "migrations";

  Clusters()
      : ServeDatabases({.schema = kSchema,
                        .prod_rows = kRows,
                        .dev_database = false,
                        .prod_password = false,
                        .tokens = {{"ci", kTriggerToken, "trigger"}}}) {
    fs::create_directories(migrations);
    std::ofstream(migrations + "/20250101000000_schema.sql") << kSchema;
  }
  ~Clusters() {
    for (const std::string& db :
         Lines(server.Psql("postgres", "SELECT datname FROM pg_database WHERE datname LIKE '" +
                                           prefix + "\\_%'")))
      server.DropDatabase(db);
  }

  static std::string NewPrefix() {
    static std::atomic<int> counter{0};
    return fmt::format("pv{}x{}", ::getpid(), counter++);
  }
  std::string Database(const std::string& name) const { return prefix + "_" + name; }
  // The run key of the preview's database (no user, no password).
  std::string DatabaseKey(const std::string& name) const {
    return fmt::format("database:127.0.0.1:{}/{}", server.port(), Database(name));
  }
  bool Exists(const std::string& name) const {
    return server.Psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" +
                                       Database(name) + "'") == "1";
  }
  std::vector<std::string> Differing(const std::string& name) const {
    return DifferingTables(prod, prod_db, server, Database(name), {"public"});
  }

  // `from` is "snapshots" (the capture job's directory) or "prod".
  std::string Config(const std::string& from, const std::string& preview_options = {}) const {
    std::string url_template = server.Url(prefix + "_NAME");
    url_template.replace(url_template.find("postgres@"), 9,
                         std::string("postgres:") + kPassword + "@");
    url_template.replace(url_template.find("NAME"), 4, "{name}");
    return ServeDatabases::Config(fmt::format(
        R"toml(
[targets.preview]
url_template = "{}"
[jobs.capture]
kind = "snapshot-capture"
from = "prod"
to = "{}"
[jobs.previews]
kind = "preview"
from = "{}"
to = "preview"
migrations = "{}"
{}
)toml",
        url_template, snapshots, from == "prod" ? "prod" : snapshots, migrations, preview_options));
  }
};

HttpResult CreatePreview(const ServeProcess& serve, const std::string& name,
                         const std::string& token = kAdminToken) {
  return HttpCall(serve.port(), "POST", "/v1/previews", Bearer(token),
                  nlohmann::json{{"name", name}}.dump());
}

HttpResult DropPreview(const ServeProcess& serve, const std::string& name) {
  return HttpCall(serve.port(), "DELETE", "/v1/previews/" + name, Bearer(kAdminToken));
}

std::string ErrorOf(const HttpResult& result) { return result.Json()["error"].get<std::string>(); }

TEST(ServePreviews, CreateMigratesAndRestoresTheLatestSnapshotAndPostAgainRefreshes) {
  Clusters setup;
  ServeProcess serve(setup.Config("snapshots"));
  ASSERT_EQ(serve.WaitForEnd(serve.Trigger("capture"))["state"], "succeeded") << serve.Stderr();

  HttpResult created = CreatePreview(serve, "pr-1");
  ASSERT_EQ(created.status, 202) << created.body;
  nlohmann::json run = created.Json();
  EXPECT_EQ(run["targets"], nlohmann::json({"target:preview/pr-1", setup.DatabaseKey("pr-1")}));
  EXPECT_EQ(run["preview"]["exists"], false);
  EXPECT_THAT(run["preview"]["url"].get<std::string>(), HasSubstr(kPassword)) << "admin sees it";
  EXPECT_THAT(run["preview"]["url"].get<std::string>(), HasSubstr("/" + setup.Database("pr-1")));
  nlohmann::json end = serve.WaitForEnd(run["id"].get<int64_t>());
  ASSERT_EQ(end["state"], "succeeded") << end.dump(2) << serve.Stderr();
  EXPECT_TRUE(setup.Exists("pr-1"));
  EXPECT_EQ(setup.server.Psql(setup.Database("pr-1"),
                              "SELECT string_agg(version, ',') FROM "
                              "supabase_migrations.schema_migrations"),
            "20250101000000");
  EXPECT_THAT(setup.Differing("pr-1"), IsEmpty());

  // prod changes; a new capture; POST again (a trigger token: no password) refreshes.
  setup.prod.Psql(setup.prod_db,
                  "DELETE FROM orders WHERE id > 25000; UPDATE accounts SET "
                  "plan = 'team' WHERE id % 7 = 0");
  ASSERT_EQ(serve.WaitForEnd(serve.Trigger("capture"))["state"], "succeeded");
  HttpResult refreshed = CreatePreview(serve, "pr-1", kTriggerToken);
  ASSERT_EQ(refreshed.status, 202) << refreshed.body;
  EXPECT_EQ(refreshed.Json()["preview"]["exists"], true);
  EXPECT_THAT(refreshed.Json()["preview"]["url"].get<std::string>(), Not(HasSubstr(kPassword)));
  int64_t refresh = refreshed.Json()["id"].get<int64_t>();
  ASSERT_EQ(serve.WaitForEnd(refresh)["state"], "succeeded") << serve.Stderr();
  EXPECT_THAT(setup.Differing("pr-1"), IsEmpty());
  EXPECT_EQ(setup.server.Psql(setup.Database("pr-1"), "SELECT count(*) FROM orders"), "25000");
  nlohmann::json report = serve.Get(fmt::format("/v1/runs/{}/report", refresh)).Json();
  EXPECT_EQ(report["preview"]["created"], false);
  EXPECT_EQ(report["migrate"]["applied"], nlohmann::json::array()) << "already migrated";

  HttpResult listed = HttpCall(serve.port(), "GET", "/v1/previews", Bearer(kTriggerToken));
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.Json()["previews"].size(), 1u) << listed.body;
  nlohmann::json preview = listed.Json()["previews"][0];
  EXPECT_EQ(preview["name"], "pr-1");
  EXPECT_EQ(preview["database"], setup.Database("pr-1"));
  EXPECT_GT(preview["size_bytes"].get<int64_t>(), 1 << 20);
  EXPECT_THAT(preview["created_at"].get<std::string>(), ::testing::EndsWith("Z"));
  EXPECT_GE(preview["age_seconds"].get<double>(), 0);
  EXPECT_EQ(preview["last_refresh"]["run"], refresh);
  EXPECT_TRUE(preview["active_run"].is_null());
  for (const std::string& text : {listed.body, refreshed.body, report.dump(), serve.Stderr()})
    EXPECT_THAT(text, Not(HasSubstr(kPassword)));
}

// A preview target marked masked = true gets masked rows only: synced from
// the source through the config's [mask] rules, no original email reaches
// the preview and orders still join their accounts. Without rules the
// service refuses the job when it starts, before any preview exists.
TEST(ServePreviews, AMaskedPreviewTargetGetsMaskedRowsOnly) {
  Clusters setup;
  std::string masked_target = setup.Config("prod");
  masked_target.insert(masked_target.find("url_template = "), "masked = true\n");
  std::string key_file = setup.scratch / "mask.key";
  std::ofstream(key_file) << "preview-mask-key-0123456789abcdef";
  const std::string original =
      "SELECT count(*) FROM accounts WHERE email ~ '^user[0-9]+@example\\.com$'";
  ASSERT_EQ(setup.prod.Psql(setup.prod_db, original), "2000");

  ServeProcess serve(masked_target + fmt::format(R"toml(
[mask]
key_file = "{}"
[mask."public.accounts.email"]
rule = "email"
)toml",
                                                 key_file));
  HttpResult created = CreatePreview(serve, "pr-masked");
  ASSERT_EQ(created.status, 202) << created.body;
  nlohmann::json end = serve.WaitForEnd(created.Json()["id"].get<int64_t>());
  ASSERT_EQ(end["state"], "succeeded") << end.dump(2) << serve.Stderr();
  std::string db = setup.Database("pr-masked");
  EXPECT_EQ(setup.server.Psql(db, original), "0");
  EXPECT_EQ(setup.server.Psql(db, "SELECT count(DISTINCT email) FROM accounts"), "2000");
  EXPECT_EQ(setup.server.Psql(db,
                              "SELECT count(*) FROM orders JOIN accounts a ON "
                              "a.id = orders.account_id"),
            "30000");
  EXPECT_THAT(setup.Differing("pr-masked"), ::testing::ElementsAre("public.accounts"));

  ScratchDir other;
  std::ofstream(other / "freshet.toml") << masked_target;
  BackgroundProcess refused =
      StartCommand({FreshetBinary(), "serve", "--config", other / "freshet.toml", "--listen",
                    "127.0.0.1:0", "--store", other / "runs.db"},
                   {{"FRESHET_API_TOKEN", kAdminToken}});
  std::optional<RunResult> exited = refused.WaitFor(std::chrono::seconds(120));
  ASSERT_TRUE(exited) << "the service started with a masked preview target and no rules";
  EXPECT_NE(exited->exit_code, 0);
  EXPECT_THAT(exited->err, HasSubstr("job 'previews': target 'preview' is marked masked = true "
                                     "and the config has no [mask] rules, so no preview could "
                                     "be synced from 'prod'"));
}

TEST(ServePreviews, TheJobsRouteTakesThePreviewNameAsAnOverride) {
  Clusters setup;
  ServeProcess serve(setup.Config("prod"));
  int64_t id = serve.Trigger("previews", R"({"name": "pr-2"})");
  nlohmann::json end = serve.WaitForEnd(id);
  ASSERT_EQ(end["state"], "succeeded") << end.dump(2) << serve.Stderr();
  EXPECT_EQ(end["targets"], nlohmann::json({"target:preview/pr-2", setup.DatabaseKey("pr-2")}));
  EXPECT_THAT(setup.Differing("pr-2"), IsEmpty());
  HttpResult none = serve.Post("/v1/jobs/previews/runs");
  EXPECT_EQ(none.status, 400);
  EXPECT_THAT(ErrorOf(none), HasSubstr(R"(say which, as {"name": "pr-123"})"));
}

TEST(ServePreviews, ABadNameIsRefusedWith400AndNoDatabaseIsCreated) {
  Clusters setup;
  ServeProcess serve(setup.Config("prod"));
  for (const std::string& name :
       std::vector<std::string>{"PR_1", "pr 1", "-pr", std::string(50, 'a'), ""}) {
    SCOPED_TRACE(name);
    HttpResult refused = CreatePreview(serve, name);
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_THAT(ErrorOf(refused), HasSubstr("does not match the pattern ^[a-z0-9][a-z0-9-]{0,40}$ "
                                            "of target 'preview'"));
  }
  HttpResult through_jobs = serve.Post("/v1/jobs/previews/runs", R"({"name": "x\"; DROP"})");
  EXPECT_EQ(through_jobs.status, 400);
  EXPECT_EQ(serve.Get("/v1/runs").Json()["runs"].size(), 0u) << "a refused name ran";
  EXPECT_EQ(setup.server.Psql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '" +
                                              setup.prefix + "%'"),
            "0");
}

TEST(ServePreviews, TheLimitRefusesANewPreviewAndCreatesNoDatabase) {
  Clusters setup;
  ServeProcess serve(setup.Config("prod", "max_previews = 1"));
  HttpResult first = CreatePreview(serve, "pr-1");
  ASSERT_EQ(first.status, 202) << first.body;
  ASSERT_EQ(serve.WaitForEnd(first.Json()["id"].get<int64_t>())["state"], "succeeded");

  HttpResult refused = CreatePreview(serve, "pr-2");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_THAT(ErrorOf(refused), HasSubstr("job 'previews' allows at most 1 previews"));
  // Through the jobs route the run itself refuses, before creating anything.
  nlohmann::json end = serve.WaitForEnd(serve.Trigger("previews", R"({"name": "pr-2"})"));
  EXPECT_EQ(end["state"], "failed");
  EXPECT_EQ(end["exit_status"], 5);
  EXPECT_THAT(end["error"].get<std::string>(), HasSubstr("no database was created for 'pr-2'"));
  EXPECT_FALSE(setup.Exists("pr-2"));
  // The one that exists may still be refreshed.
  HttpResult again = CreatePreview(serve, "pr-1");
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(serve.WaitForEnd(again.Json()["id"].get<int64_t>())["state"], "succeeded");
}

TEST(ServePreviews, DeleteDropsTheDatabase) {
  Clusters setup;
  ServeProcess serve(setup.Config("prod"));
  HttpResult created = CreatePreview(serve, "pr-3");
  ASSERT_EQ(serve.WaitForEnd(created.Json()["id"].get<int64_t>())["state"], "succeeded");
  ASSERT_TRUE(setup.Exists("pr-3"));
  HttpResult dropped = DropPreview(serve, "pr-3");
  EXPECT_EQ(dropped.status, 200) << dropped.body;
  EXPECT_FALSE(setup.Exists("pr-3"));
  EXPECT_EQ(serve.Get("/v1/previews").Json()["previews"], nlohmann::json::array());
  HttpResult again = DropPreview(serve, "pr-3");
  EXPECT_EQ(again.status, 404);
  EXPECT_THAT(ErrorOf(again), HasSubstr("no preview named 'pr-3'"));
  // A database of the same shape that freshet did not make is not a preview.
  setup.server.Psql("postgres", "CREATE DATABASE \"" + setup.Database("hand-made") + "\"");
  EXPECT_EQ(DropPreview(serve, "hand-made").status, 404);
  EXPECT_TRUE(setup.Exists("hand-made"));
}

TEST(ServePreviews, DeleteWhileARunIsOnItIs409AndTwoPreviewsRunAtOnce) {
  Clusters setup;
  PausePoint pause("done copy");
  ServeProcess serve(setup.Config("prod", "jobs = 1"), pause.Env());
  HttpResult first = CreatePreview(serve, "pr-4");
  ASSERT_EQ(first.status, 202) << first.body;
  int64_t paused = first.Json()["id"].get<int64_t>();
  ASSERT_TRUE(pause.WaitUntilPaused(serve.process())) << serve.Stderr();

  HttpResult refused = DropPreview(serve, "pr-4");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_THAT(ErrorOf(refused),
              HasSubstr(fmt::format("run {} of job 'previews' is queued or running", paused)));
  EXPECT_TRUE(setup.Exists("pr-4"));
  EXPECT_EQ(serve.Get("/v1/previews").Json()["previews"][0]["active_run"], paused);
  // Another preview does not wait for this one; the same one queues behind it.
  HttpResult other = CreatePreview(serve, "pr-5");
  HttpResult same = CreatePreview(serve, "pr-4");
  EXPECT_EQ(same.Json()["state"], "queued");
  EXPECT_EQ(serve.WaitForEnd(other.Json()["id"].get<int64_t>())["state"], "succeeded");
  EXPECT_EQ(serve.Get(fmt::format("/v1/runs/{}", paused)).Json()["state"], "running");

  pause.Release();
  EXPECT_EQ(serve.WaitForEnd(paused)["state"], "succeeded");
  EXPECT_EQ(serve.WaitForEnd(same.Json()["id"].get<int64_t>())["state"], "succeeded");
  EXPECT_THAT(setup.Differing("pr-4"), IsEmpty());
  EXPECT_EQ(DropPreview(serve, "pr-4").status, 200);
  EXPECT_FALSE(setup.Exists("pr-4"));
}

}  // namespace
}  // namespace freshet::testing
