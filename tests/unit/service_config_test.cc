// [service] and [jobs.NAME] of freshet.toml: what `freshet serve` reads, and
// the clear errors for what it cannot take.
#include "sync/cli/service_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "copy/error.h"
#include "sync/cli/config.h"

namespace freshet {
namespace {

using ::testing::HasSubstr;

std::string ParseError(const std::string& text) {
  try {
    Config::Parse(text, "freshet.toml");
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    return error.what();
  }
  return "(no error)";
}

constexpr char kHash[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(ServiceConfig, ReadsServiceSettingsTokensWebhooksAndJobsInFileOrder) {
  Config config = Config::Parse(std::string(R"(
[service]
listen = "0.0.0.0:8080"
store = "/var/lib/freshet/serve.db"
max_running = 3
shutdown_timeout = "2min"
retention = "30d"
rate_limit = 20
[service.tokens.ci]
sha256 = ")") + kHash + R"("
scope = "trigger"
[service.webhooks.slack]
url_env = "SLACK_WEBHOOK_URL"
format = "slack"
on = ["failed"]
backoff = "500ms"

[jobs.weekly-dev]
kind = "sync"
from = "prod"
to = "dev"
schedule = "0 2 * * 0"
tz = "Europe/Berlin"
verify = true
jobs = 2
[jobs.a-nightly]
kind = "incremental"
from = "prod"
to = ["dev", "staging"]
when_busy = "reject"
exclude = ["audit.*"]
)",
                                "freshet.toml");
  EXPECT_EQ(config.service.listen, "0.0.0.0:8080");
  EXPECT_EQ(config.service.max_running, 3);
  EXPECT_EQ(config.service.shutdown_timeout_seconds, 120);
  EXPECT_EQ(config.service.retention_seconds, 30 * 86400);
  EXPECT_EQ(config.service.rate_limit, 20);
  ASSERT_EQ(config.service.tokens.size(), 1u);
  EXPECT_EQ(config.service.tokens[0].name, "ci");
  EXPECT_EQ(config.service.tokens[0].scope, Scope::kTrigger);
  EXPECT_EQ(config.service.tokens[0].sha256, Sha256("abc"));
  ASSERT_EQ(config.service.webhooks.size(), 1u);
  EXPECT_EQ(config.service.webhooks[0].url_env, "SLACK_WEBHOOK_URL");
  EXPECT_TRUE(config.service.webhooks[0].hook.slack);
  EXPECT_EQ(config.service.webhooks[0].hook.states, std::vector<std::string>{"failed"});
  EXPECT_EQ(config.service.webhooks[0].hook.backoff, std::chrono::milliseconds(500));
  ASSERT_EQ(config.service_jobs.size(), 2u);
  const JobSpec& weekly = config.service_jobs[0];
  EXPECT_EQ(weekly.name, "weekly-dev");
  EXPECT_EQ(weekly.schedule, "0 2 * * 0");
  EXPECT_EQ(weekly.time_zone, "Europe/Berlin");
  EXPECT_EQ(weekly.options["verify"], true);
  EXPECT_EQ(weekly.options["jobs"], 2);
  EXPECT_TRUE(weekly.queue_when_busy);
  const JobSpec& nightly = config.service_jobs[1];
  EXPECT_EQ(nightly.kind, "incremental");
  EXPECT_EQ(nightly.to, (std::vector<std::string>{"dev", "staging"}));
  EXPECT_FALSE(nightly.queue_when_busy);
  EXPECT_EQ(nightly.options["exclude"], nlohmann::json::array({"audit.*"}));
}

TEST(ServiceConfig, RefusesWhatServeCannotTakeNamingTheKey) {
  EXPECT_THAT(ParseError("[jobs.x]\nfrom = \"prod\"\n"), HasSubstr("'jobs.x' needs a kind"));
  EXPECT_THAT(ParseError("[jobs.x]\nkind = \"copy\"\n"), HasSubstr("'jobs.x.kind' must be one of"));
  EXPECT_THAT(ParseError("[jobs.x]\nkind = \"migrate-up\"\n"),
              HasSubstr("not supported by this freshet yet"));
  EXPECT_THAT(ParseError("[jobs.x]\nkind = \"sync\"\nschedul = \"@daily\"\n"),
              HasSubstr("did you mean 'schedule'"));
  EXPECT_THAT(ParseError("[jobs.\"a b\"]\nkind = \"sync\"\n"), HasSubstr("job name \"a b\""));
  EXPECT_THAT(ParseError("[jobs.x]\nkind = \"sync\"\nwhen_busy = \"wait\"\n"),
              HasSubstr("'jobs.x.when_busy' must be one of queue, reject"));
  EXPECT_THAT(ParseError("[service]\nmax_running = 0\n"), HasSubstr("1 to 64"));
  EXPECT_THAT(ParseError("[service]\nshutdown_timeout = \"soon\"\n"), HasSubstr("duration"));
  EXPECT_THAT(ParseError("[service.tokens.ci]\nsha256 = \"my-secret-token\"\nscope = \"read\"\n"),
              ::testing::AllOf(HasSubstr("service.tokens.ci.sha256"),
                               ::testing::Not(HasSubstr("my-secret-token"))));
  EXPECT_THAT(ParseError(std::string("[service.tokens.ci]\nsha256 = \"") + kHash +
                         "\"\nscope = \"root\"\n"),
              HasSubstr("root"));
  EXPECT_THAT(ParseError("[service.webhooks.x]\nurl = \"ftp://example.com\"\n"),
              HasSubstr("http:// or https://"));
  EXPECT_THAT(ParseError("[service.webhooks.x]\nurl_env = \"A\"\non = [\"done\"]\n"),
              HasSubstr("not 'done'"));
  EXPECT_THAT(ParseError("[service.webhooks.x]\nformat = \"json\"\n"),
              HasSubstr("needs one of url and url_env"));
}

TEST(ServiceConfig, DurationsReadInSeconds) {
  EXPECT_EQ(DurationSeconds("90"), 90);
  EXPECT_EQ(DurationSeconds("250ms"), 0.25);
  EXPECT_EQ(DurationSeconds("1.5h"), 5400);
  EXPECT_EQ(DurationSeconds("7d"), 7 * 86400);
  EXPECT_EQ(DurationSeconds("soon"), std::nullopt);
}

}  // namespace
}  // namespace freshet
