// [service] and [jobs.NAME] of freshet.toml: what `freshet serve` reads, and
// the clear errors for what it cannot take.
#include "sync/cli/service_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "copy/error.h"
#include "sync/cli/config.h"
#include "sync/cli/serve_jobs.h"

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
  EXPECT_THAT(ParseError("[service]\nstore = \"a.db\"\nstore_env = \"STORE_URL\"\n"),
              HasSubstr("give one of 'service.store', 'service.store_env'"));
}

TEST(ServiceConfig, ReadsTheStoreAsAPathAVariableOrAFile) {
  EXPECT_EQ(Config::Parse("[service]\nstore = \"/var/lib/freshet/serve.db\"\n", "freshet.toml")
                .service.store,
            "/var/lib/freshet/serve.db");
  Config from_env = Config::Parse("[service]\nstore_env = \"FRESHET_STORE_URL\"\n", "freshet.toml");
  EXPECT_EQ(from_env.service.store_env, "FRESHET_STORE_URL");
  EXPECT_FALSE(from_env.service.store.has_value());
  EXPECT_EQ(Config::Parse("[service]\nstore_file = \"/run/secrets/store\"\n", "freshet.toml")
                .service.store_file,
            "/run/secrets/store");
}

TEST(ServiceConfig, ReadsSnapshotAndMigrateJobsWithTheirOptions) {
  Config config = Config::Parse(R"(
[jobs.capture]
kind = "snapshot-capture"
from = "prod"
to = "/var/lib/freshet/snapshots"
level = 3
zstd_threads = 2
chunk_size = 256
keep = 5
exclude = ["audit.*"]
[jobs.restore]
kind = "snapshot-restore"
from = "/var/lib/freshet/snapshots"
to = ["dev", "staging"]
targets = "in-turn"
verify = true
[jobs.migrate]
kind = "migrate-up"
to = "staging"
migrations = "supabase/migrations"
layout = "supabase"
statement_timeout = "2min"
include_all = true
)",
                                "freshet.toml");
  ASSERT_EQ(config.service_jobs.size(), 3u);
  const JobSpec& capture = config.service_jobs[0];
  EXPECT_EQ(capture.kind, "snapshot-capture");
  EXPECT_EQ(capture.to, std::vector<std::string>{"/var/lib/freshet/snapshots"});
  EXPECT_EQ(capture.options["level"], 3);
  EXPECT_EQ(capture.options["zstd_threads"], 2);
  EXPECT_EQ(capture.options["chunk_size"], 256);
  EXPECT_EQ(capture.options["keep"], 5);
  const JobSpec& restore = config.service_jobs[1];
  EXPECT_EQ(restore.from, "/var/lib/freshet/snapshots");
  EXPECT_EQ(restore.options["targets"], "in-turn");
  EXPECT_EQ(restore.options["verify"], true);
  const JobSpec& migrate = config.service_jobs[2];
  EXPECT_EQ(migrate.options["migrations"], "supabase/migrations");
  EXPECT_EQ(migrate.options["statement_timeout"], "2min");
  EXPECT_EQ(migrate.options["include_all"], true);
}

TEST(ServiceConfig, RefusesSnapshotCaptureJobsItCannotRunNamingTheKey) {
  EXPECT_THAT(ParseError("[jobs.c]\nkind = \"snapshot-capture\"\nfrom = \"prod\"\n"),
              HasSubstr("'jobs.c' needs `to`, the directory the snapshots go in"));
  EXPECT_THAT(ParseError("[jobs.c]\nkind = \"snapshot-capture\"\nto = [\"/a\", \"/b\"]\n"),
              HasSubstr("'jobs.c.to' is the directory the snapshots go in: one path"));
  EXPECT_THAT(ParseError("[jobs.c]\nkind = \"snapshot-capture\"\nto = \"/s\"\nlevel = 30\n"),
              HasSubstr("'jobs.c.level' must be -7 to 19"));
  EXPECT_THAT(ParseError("[jobs.c]\nkind = \"snapshot-capture\"\nto = \"/s\"\nkeep = 0\n"),
              HasSubstr("'jobs.c.keep' must be 1 to 1000"));
  EXPECT_THAT(ParseError("[jobs.c]\nkind = \"snapshot-capture\"\nto = \"/s\"\nverify = true\n"),
              HasSubstr("'jobs.c.verify' does not apply to snapshot-capture jobs"));
  EXPECT_THAT(ParseError("[jobs.c]\nkind = \"snapshot-capture\"\nto = \"/s\"\nkepp = 2\n"),
              HasSubstr("did you mean 'keep'"));
}

TEST(ServiceConfig, RefusesSnapshotRestoreJobsItCannotRunNamingTheKey) {
  EXPECT_THAT(ParseError("[jobs.r]\nkind = \"snapshot-restore\"\nto = \"dev\"\n"),
              HasSubstr("'jobs.r' needs `from`, the snapshot directory"));
  EXPECT_THAT(ParseError("[jobs.r]\nkind = \"snapshot-restore\"\nfrom = \"/s\"\ntargets = "
                         "\"all\"\n"),
              HasSubstr("'jobs.r.targets' must be one of auto, together, in-turn"));
  EXPECT_THAT(ParseError("[jobs.r]\nkind = \"snapshot-restore\"\nfrom = \"/s\"\nlevel = 3\n"),
              HasSubstr("'jobs.r.level' does not apply to snapshot-restore jobs"));
}

TEST(ServiceConfig, RefusesMigrateUpJobsItCannotRunNamingTheKey) {
  EXPECT_THAT(ParseError("[jobs.m]\nkind = \"migrate-up\"\nfrom = \"prod\"\n"),
              HasSubstr("'jobs.m.from': migrate-up jobs apply the files of `migrations`"));
  EXPECT_THAT(ParseError("[jobs.m]\nkind = \"migrate-up\"\nlayout = \"rails\"\n"),
              HasSubstr("'jobs.m.layout' must be one of supabase, prisma"));
  EXPECT_THAT(ParseError("[jobs.m]\nkind = \"migrate-up\"\nstatement_timeout = \"forever\"\n"),
              HasSubstr("jobs.m.statement_timeout"));
  EXPECT_THAT(ParseError("[jobs.m]\nkind = \"migrate-up\"\nverify = true\n"),
              HasSubstr("'jobs.m.verify' does not apply to migrate-up jobs"));
}

TEST(ServiceConfig, ReadsPreviewTemplatesAndJobs) {
  Config config = Config::Parse(R"(
[targets.preview]
url_template = "postgres://freshet@previews.internal:5432/preview_{name}?sslmode=require"
name_pattern = "^pr-[0-9]+$"
[jobs.previews]
kind = "preview"
from = "/var/lib/freshet/snapshots"
to = "preview"
migrations = "supabase/migrations"
max_previews = 20
)",
                                "freshet.toml");
  const Endpoint& target = config.targets.at("preview");
  EXPECT_TRUE(target.IsTemplate());
  EXPECT_EQ(target.name_pattern, "^pr-[0-9]+$");
  EXPECT_EQ(target.maintenance_db, "postgres");
  const JobSpec& job = config.service_jobs.at(0);
  EXPECT_EQ(job.overridable, std::vector<std::string>{"name"});
  EXPECT_EQ(job.options["max_previews"], 20);
}

TEST(ServiceConfig, RefusesPreviewTemplatesAndJobsItCannotRunNamingTheKey) {
  EXPECT_THAT(ParseError("[targets.p]\nurl_template = \"postgres://u:secret@h/preview\"\n"),
              ::testing::AllOf(HasSubstr("'targets.p.url_template' must hold {name} once"),
                               ::testing::Not(HasSubstr("secret"))));
  EXPECT_THAT(ParseError("[targets.p]\nurl_template = \"postgres://{name}@h/db\"\n"),
              HasSubstr("{name} must be in the database name"));
  EXPECT_THAT(ParseError("[targets.p]\nurl_template = \"host=h dbname={name}\"\n"),
              HasSubstr("must be a postgres:// URL"));
  EXPECT_THAT(ParseError("[targets.p]\nurl_template = \"postgres://h/p_{name}\"\nurl = "
                         "\"postgres://h/x\"\n"),
              HasSubstr("has more than one of url, url_env and url_file (or url_template...)"));
  EXPECT_THAT(ParseError("[targets.p]\nurl_template = \"postgres://h/p_{name}\"\nname_pattern = "
                         "\"([a-z\"\n"),
              HasSubstr("'targets.p.name_pattern' is not a regular expression"));
  EXPECT_THAT(ParseError("[targets.p]\nurl = \"postgres://h/x\"\nname_pattern = \"^a$\"\n"),
              HasSubstr("'targets.p.name_pattern' applies to preview templates"));
  EXPECT_THAT(ParseError("[jobs.p]\nkind = \"preview\"\nto = \"preview\"\n"),
              HasSubstr("'jobs.p' needs `from`"));
  EXPECT_THAT(ParseError("[jobs.p]\nkind = \"preview\"\nfrom = \"/s\"\n"),
              HasSubstr("'jobs.p.to' must name the one preview target"));
  EXPECT_THAT(ParseError("[jobs.p]\nkind = \"preview\"\nfrom = \"/s\"\nto = "
                         "\"preview\"\nmax_previews = 0\n"),
              HasSubstr("'jobs.p.max_previews' must be 1 to 10000"));
  EXPECT_THAT(ParseError("[jobs.p]\nkind = \"preview\"\nfrom = \"/s\"\nto = "
                         "\"preview\"\nkeep = 2\n"),
              HasSubstr("'jobs.p.keep' does not apply to preview jobs"));
}

// What only the config as a whole tells, checked when the service starts.
std::string CheckError(const std::string& text) {
  Config config = Config::Parse(text, "freshet.toml");
  ConfigJobExecutor executor("freshet.toml", config);
  try {
    for (const JobSpec& job : config.service_jobs) executor.Check(job);
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    return error.what();
  }
  return "(no error)";
}

TEST(ServiceConfig, StartUpChecksNameTheJobAndWhatIsWrong) {
  constexpr char kEndpoints[] = R"(
[sources.prod]
url = "postgres://prod.example.com/app"
[targets.dev]
url = "postgres://localhost/dev"
)";
  EXPECT_THAT(CheckError(std::string(kEndpoints) +
                         "[jobs.c]\nkind = \"snapshot-capture\"\nfrom = \"prodd\"\nto = \"/s\"\n"),
              HasSubstr("job 'c': 'prodd' is neither a configured name (prod)"));
  EXPECT_THAT(
      CheckError(std::string(kEndpoints) + "[jobs.c]\nkind = \"snapshot-capture\"\nto = \"/s\"\n"),
      HasSubstr("job 'c': it has no `from`, and [sync] names no default source"));
  EXPECT_THAT(CheckError(std::string(kEndpoints) +
                         "[jobs.r]\nkind = \"snapshot-restore\"\nfrom = \"/s\"\nto = \"stage\"\n"),
              HasSubstr("job 'r': 'stage' is neither a configured name (dev)"));
  EXPECT_THAT(CheckError(std::string(kEndpoints) +
                         "[jobs.r]\nkind = \"snapshot-restore\"\nfrom = \"/s\"\n"),
              HasSubstr("job 'r' has no `to`, and [sync] names no default target"));
  EXPECT_THAT(
      CheckError(std::string(kEndpoints) +
                 "[jobs.m]\nkind = \"migrate-up\"\nto = \"dev\"\nmigrations = "
                 "\"/nonexistent/migrations\"\n"),
      HasSubstr("job 'm': the migrations directory /nonexistent/migrations does not exist"));
  EXPECT_THAT(CheckError(std::string(kEndpoints) + "[jobs.m]\nkind = \"migrate-up\"\n"),
              HasSubstr("job 'm' has no `to`, and [migrate] names no db"));
  EXPECT_THAT(CheckError(std::string(kEndpoints) +
                         "[jobs.p]\nkind = \"preview\"\nfrom = \"/s\"\nto = \"dev\"\n"),
              HasSubstr("job 'p': `to` = 'dev' is not a preview target"));
  EXPECT_THAT(CheckError(std::string(kEndpoints) +
                         "[jobs.s]\nkind = \"snapshot-restore\"\nfrom = \"/s\"\nto = \"preview\"\n"
                         "[targets.preview]\nurl_template = \"postgres://h/p_{name}\"\n"),
              HasSubstr("target 'preview' is a preview template (url_template)"));
  std::string here = std::filesystem::temp_directory_path().string();
  EXPECT_EQ(CheckError(std::string(kEndpoints) + "[jobs.m]\nkind = \"migrate-up\"\nto = \"dev\"\n" +
                       "migrations = \"" + here + "\"\n"),
            "(no error)");
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
