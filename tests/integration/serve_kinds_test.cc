// `freshet serve` running the job kinds besides sync: snapshot-capture into a
// directory of captures with a `latest` link, snapshot-restore from it,
// migrate-up; through the API, against real clusters. Mid-run actions wait
// for named pause points (tests/integration/sync_helpers.h), never for time.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/serve_helpers.h"

namespace freshet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// prod with rows, dev with the schema and other rows, a directory for
// snapshots and one for migrations, and a service config over them.
struct Clusters : ServeDatabases {
  ScratchDir scratch;
  std::string snapshots = scratch / "snapshots";
  std::string migrations = scratch / "migrations";

  Clusters() { fs::create_directories(migrations); }

  std::string CaptureAndRestoreJobs(const std::string& restore_options = {}) const {
    return fmt::format(R"toml(
[jobs.capture]
kind = "snapshot-capture"
from = "prod"
to = "{}"
keep = 1
[jobs.restore]
kind = "snapshot-restore"
from = "{}"
to = "dev"
{}
)toml",
                       snapshots, snapshots, restore_options);
  }

  void WriteMigration(const std::string& name, const std::string& sql) const {
    std::ofstream(migrations + "/" + name) << sql;
  }

  // The captures in the snapshot directory, by name.
  std::vector<std::string> Captures() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(snapshots))
      if (!entry.is_symlink()) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST(ServeKinds, CaptureThenRestoreThroughTheApiLeavesDevEqualToProd) {
  Clusters setup;
  ServeProcess serve(setup.Config(setup.CaptureAndRestoreJobs("verify = true")));
  nlohmann::json captured = serve.WaitForEnd(serve.Trigger("capture"));
  ASSERT_EQ(captured["state"], "succeeded") << captured.dump(2) << serve.Stderr();
  std::vector<std::string> first = setup.Captures();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(fs::read_symlink(fs::path(setup.snapshots) / "latest"), first[0]);
  nlohmann::json capture_report =
      serve.Get(fmt::format("/v1/runs/{}/report", captured["id"].get<int64_t>())).Json();
  EXPECT_EQ(capture_report["ok"], true);
  EXPECT_EQ(capture_report["totals"]["rows"], 32000);
  EXPECT_EQ(capture_report["snapshot"], setup.snapshots + "/" + first[0]);

  int64_t restore = serve.Trigger("restore");
  nlohmann::json restored = serve.WaitForEnd(restore);
  ASSERT_EQ(restored["state"], "succeeded") << restored.dump(2) << serve.Stderr();
  EXPECT_EQ(restored["rows"], 32000);
  EXPECT_THAT(setup.Differing(), IsEmpty());
  HttpResult report = serve.Get(fmt::format("/v1/runs/{}/report", restore));
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.Json()["ok"], true);
  EXPECT_EQ(report.Json()["verified"], true);
  HttpResult markdown = HttpCall(
      serve.port(), "GET", fmt::format("/v1/runs/{}/report", restore),
      {{"Authorization", std::string("Bearer ") + kAdminToken}, {"Accept", "text/markdown"}});
  EXPECT_THAT(markdown.body, HasSubstr("public.orders"));

  // A second capture becomes `latest`; with keep = 1 the first is removed.
  setup.prod.Psql(setup.prod_db, "DELETE FROM orders WHERE id > 29000");
  nlohmann::json again = serve.WaitForEnd(serve.Trigger("capture"));
  ASSERT_EQ(again["state"], "succeeded") << again.dump(2);
  std::vector<std::string> second = setup.Captures();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0], first[0]);
  EXPECT_EQ(fs::read_symlink(fs::path(setup.snapshots) / "latest"), second[0]);
  EXPECT_EQ(serve.WaitForEnd(serve.Trigger("restore"))["state"], "succeeded");
  EXPECT_THAT(setup.Differing(), IsEmpty());
  EXPECT_EQ(setup.dev.Psql(setup.dev_db, "SELECT count(*) FROM orders"), "29000");

  HttpResult log = serve.Get(fmt::format("/v1/runs/{}/log", again["id"].get<int64_t>()));
  EXPECT_THAT(log.body, HasSubstr("removed the older capture " + first[0]));
  for (const std::string& text :
       {capture_report.dump(), report.body, markdown.body, log.body, serve.Stderr()})
    EXPECT_THAT(text, Not(HasSubstr(ServeDatabases::kProdPassword)));
}

TEST(ServeKinds, RestoreBeforeAnyCaptureFailsSayingSo) {
  Clusters setup;
  ServeProcess serve(setup.Config(setup.CaptureAndRestoreJobs()));
  nlohmann::json end = serve.WaitForEnd(serve.Trigger("restore"));
  EXPECT_EQ(end["state"], "failed");
  EXPECT_EQ(end["exit_status"], 2);
  EXPECT_THAT(end["error"].get<std::string>(),
              HasSubstr("no snapshot in " + setup.snapshots + ": the directory does not exist"));
}

TEST(ServeKinds, CancelOfARestoreMidRunPutsEveryConstraintBack) {
  Clusters setup;
  std::string constraints = setup.DevConstraints();
  PausePoint pause("done restore");  // capture tasks are named "capture ...": they go on
  ServeProcess serve(setup.Config(setup.CaptureAndRestoreJobs("jobs = 1")), pause.Env());
  ASSERT_EQ(serve.WaitForEnd(serve.Trigger("capture"))["state"], "succeeded") << serve.Stderr();
  int64_t id = serve.Trigger("restore");
  ASSERT_TRUE(pause.WaitUntilPaused(serve.process())) << serve.Stderr();
  EXPECT_NE(setup.DevConstraints(), constraints)
      << "the pause should come with constraints set aside";
  HttpResult cancel = serve.Post(fmt::format("/v1/runs/{}/cancel", id));
  EXPECT_EQ(cancel.status, 202) << cancel.body;
  nlohmann::json end = serve.WaitForEnd(id);
  EXPECT_EQ(end["state"], "cancelled") << end.dump(2);
  EXPECT_NE(end["exit_status"], 0);
  EXPECT_EQ(setup.DevConstraints(), constraints) << "constraints or indexes not restored";

  EXPECT_EQ(serve.WaitForEnd(serve.Trigger("restore"))["state"], "succeeded");
  EXPECT_THAT(setup.Differing(), IsEmpty());
  EXPECT_THAT(InvalidConstraintsAndIndexes(setup.dev, setup.dev_db), IsEmpty());
}

TEST(ServeKinds, MigrateUpAppliesMigrationsAndABrokenOneFailsTheRun) {
  Clusters setup;
  setup.WriteMigration("20250101000000_notes.sql", "CREATE TABLE public.notes (id int);\n");
  setup.WriteMigration("20250102000000_more.sql",
                       "ALTER TABLE public.notes ADD COLUMN body text;\n");
  ServeProcess serve(setup.Config(fmt::format(R"toml(
[jobs.migrate]
kind = "migrate-up"
to = "dev"
migrations = "{}"
)toml",
                                              setup.migrations)));
  int64_t first = serve.Trigger("migrate");
  nlohmann::json end = serve.WaitForEnd(first);
  ASSERT_EQ(end["state"], "succeeded") << end.dump(2) << serve.Stderr();
  const std::string history =
      "SELECT string_agg(version, ',' ORDER BY version) FROM "
      "supabase_migrations.schema_migrations";
  EXPECT_EQ(setup.dev.Psql(setup.dev_db, history), "20250101000000,20250102000000");
  EXPECT_EQ(setup.dev.Psql(setup.dev_db, "SELECT count(*) FROM public.notes"), "0");
  nlohmann::json report = serve.Get(fmt::format("/v1/runs/{}/report", first)).Json();
  EXPECT_EQ(report["applied"],
            nlohmann::json({"20250101000000_notes.sql", "20250102000000_more.sql"}));
  EXPECT_EQ(report["target"], "dev");

  setup.WriteMigration("20250103000000_broken.sql",
                       "ALTER TABLE public.notes ADD COLUMN title text;\n\nSELECT missing_column\n"
                       "  FROM public.notes;\n");
  int64_t broken = serve.Trigger("migrate");
  end = serve.WaitForEnd(broken);
  EXPECT_EQ(end["state"], "failed");
  EXPECT_EQ(end["exit_status"], 1);
  EXPECT_THAT(end["error"].get<std::string>(), HasSubstr("20250103000000_broken.sql"));
  EXPECT_THAT(end["error"].get<std::string>(), HasSubstr("missing_column"));
  report = serve.Get(fmt::format("/v1/runs/{}/report", broken)).Json();
  EXPECT_EQ(report["error"]["file"], "20250103000000_broken.sql");
  EXPECT_EQ(report["error"]["line"], 3);
  EXPECT_EQ(report["error"]["sqlstate"], "42703");
  // Nothing of the failed file remains.
  EXPECT_EQ(setup.dev.Psql(setup.dev_db, history), "20250101000000,20250102000000");
  EXPECT_EQ(setup.dev.Psql(setup.dev_db,
                           "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                           "'notes' AND column_name = 'title'"),
            "0");
  HttpResult markdown = HttpCall(
      serve.port(), "GET", fmt::format("/v1/runs/{}/report", broken),
      {{"Authorization", std::string("Bearer ") + kAdminToken}, {"Accept", "text/markdown"}});
  EXPECT_THAT(markdown.body, HasSubstr("dev: migrate up failed"));
}

TEST(ServeKinds, ServeRefusesToStartWithAJobItCannotRun) {
  Clusters setup;
  std::string message;
  try {
    ServeProcess serve(setup.Config(R"toml(
[jobs.migrate]
kind = "migrate-up"
to = "dev"
migrations = "/nonexistent/migrations"
)toml"));
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  EXPECT_THAT(message, HasSubstr("exited with 2"));
  EXPECT_THAT(message,
              HasSubstr("job 'migrate': the migrations directory /nonexistent/migrations does "
                        "not exist"));
}

}  // namespace
}  // namespace freshet::testing
