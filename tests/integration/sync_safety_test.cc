// The rules that keep `freshet sync` from writing where it must not, and from
// leaking secrets; clear errors for bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SyncSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
    prod_.Psql(prod_db_,
               "CREATE TABLE public.items (id int PRIMARY KEY, name text); "
               "INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
    dev_.Psql(dev_db_,
              "CREATE TABLE public.items (id int PRIMARY KEY, name text); "
              "INSERT INTO public.items VALUES (1, 'stale')");
  }
  std::string DevItems() const { return dev_.Psql(dev_db_, "SELECT count(*) FROM public.items"); }
  std::string WriteConfig(const std::string& text) {
    std::string path = dev_.dir() + "/freshet-" + dev_db_ + ".toml";
    std::ofstream(path) << text;
    return path;
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
};

TEST_F(SyncSafety, RefusesWhenTargetIsTheSource) {
  RunResult run = Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", prod_.Url(prod_db_)});
  EXPECT_EQ(run.exit_code, 5);
  EXPECT_THAT(run.err, HasSubstr("is the source database itself"));
  EXPECT_EQ(prod_.Psql(prod_db_, "SELECT count(*) FROM public.items"), "100");
}

TEST_F(SyncSafety, SameServerDifferentDatabaseIsAllowed) {
  std::string other = prod_.CreateUniqueDatabase("copy");
  prod_.Psql(other, "CREATE TABLE public.items (id int PRIMARY KEY, name text)");
  RunResult run = Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", prod_.Url(other)});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(prod_.Psql(other, "SELECT count(*) FROM public.items"), "100");
}

TEST_F(SyncSafety, RefusesARemoteTargetUnlessAllowed) {
  // Refused before any connection is attempted: the host is never contacted.
  RunResult run = Freshet(
      {"sync", "--from", prod_.Url(prod_db_), "--to", "postgresql://app@dev-db.invalid:5432/dev"});
  EXPECT_EQ(run.exit_code, 5);
  EXPECT_THAT(run.err, HasSubstr("--allow-remote-target"));
  EXPECT_THAT(run.err, HasSubstr("dev-db.invalid"));
}

TEST_F(SyncSafety, RefusesAProtectedTargetFromTheConfig) {
  std::string config =
      WriteConfig("[targets.staging]\nurl = \"" + dev_.Url(dev_db_) + "\"\nprotected = true\n");
  RunResult run =
      Freshet({"--config", config, "sync", "--from", prod_.Url(prod_db_), "--to", "staging"});
  EXPECT_EQ(run.exit_code, 5);
  EXPECT_THAT(run.err, HasSubstr("protected"));
  EXPECT_EQ(DevItems(), "1");
}

TEST_F(SyncSafety, ConfigNamesEndpointsWithUrlsFromTheEnvironment) {
  std::string config = WriteConfig(
      "[sync]\nfrom = \"prod\"\nto = \"dev\"\n[sources.prod]\nurl_env = \"TEST_PROD_URL\"\n"
      "[targets.dev]\nurl_env = \"TEST_DEV_URL\"\n");
  RunResult run =
      Freshet({"--config", config, "sync", "--verify"},
              {{"TEST_PROD_URL", prod_.Url(prod_db_)}, {"TEST_DEV_URL", dev_.Url(dev_db_)}});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(DevItems(), "100");

  RunResult missing =
      Freshet({"--config", config, "sync"}, {{"TEST_PROD_URL", prod_.Url(prod_db_)}});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("TEST_DEV_URL"));
}

TEST_F(SyncSafety, PasswordsNeverAppearInOutputReportsOrErrors) {
  // Trust authentication accepts any password, so the run succeeds with one.
  std::string secret = "Sup3rS3cretPw";
  auto with_password = [&](const PgCluster& cluster, const std::string& db) {
    return "postgresql://postgres:" + secret + "@127.0.0.1:" + std::to_string(cluster.port()) +
           "/" + db;
  };
  std::string report = dev_.dir() + "/report-" + dev_db_ + ".json";
  std::string summary = dev_.dir() + "/summary-" + dev_db_ + ".md";
  RunResult run =
      Freshet({"sync", "--from", with_password(prod_, prod_db_), "--to",
               with_password(dev_, dev_db_), "--report", report, "--summary", summary, "-v"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::ifstream report_in(report), summary_in(summary);
  std::string report_text((std::istreambuf_iterator<char>(report_in)), {});
  std::string summary_text((std::istreambuf_iterator<char>(summary_in)), {});
  EXPECT_THAT(report_text, HasSubstr("127.0.0.1"));
  for (const std::string* text : {&run.out, &run.err, &report_text, &summary_text})
    EXPECT_THAT(*text, Not(HasSubstr(secret)));

  RunResult failed =
      Freshet({"sync", "--from", "postgresql://postgres:" + secret + "@127.0.0.1:1/x", "--to",
               dev_.Url(dev_db_)});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.err, HasSubstr("cannot connect to source"));
  EXPECT_THAT(failed.err, Not(HasSubstr(secret)));

  RunResult malformed =
      Freshet({"sync", "--from", "postgresql://postgres:" + secret + "@127.0.0.1:notaport/x",
               "--to", dev_.Url(dev_db_)});
  EXPECT_NE(malformed.exit_code, 0);
  EXPECT_THAT(malformed.err, Not(HasSubstr(secret)));
}

TEST_F(SyncSafety, IncludeThatMatchesNoTableIsAnError) {
  RunResult run = Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_),
                           "--include", "public.itemz"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("public.itemz"));
  EXPECT_EQ(DevItems(), "1");
}

TEST_F(SyncSafety, ForeignKeyFromAnUnsyncedTableIsAPlanError) {
  dev_.Psql(
      dev_db_,
      "CREATE TABLE public.notes (id int PRIMARY KEY, item_id int REFERENCES public.items(id))");
  RunResult run = Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("notes_item_id_fkey"));
  EXPECT_THAT(run.err, HasSubstr("never truncates"));
  EXPECT_EQ(DevItems(), "1");
}

TEST_F(SyncSafety, TargetOnlyNotNullColumnWithoutDefaultIsAPlanErrorNamingIt) {
  dev_.Psql(dev_db_,
            "ALTER TABLE public.items ADD COLUMN sku text NOT NULL DEFAULT 'x'; "
            "ALTER TABLE public.items ALTER COLUMN sku DROP DEFAULT");
  RunResult run = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.out, HasSubstr("sku"));
  EXPECT_THAT(run.out, HasSubstr("public.items"));
}

TEST_F(SyncSafety, FailingLoadRestoresConstraintsAndTriggersAndSaysSo) {
  // A CHECK that only the target has, calling a function only the target
  // has: the source cannot evaluate it before the load (a warning says so),
  // so the COPY fails midway.
  dev_.Psql(dev_db_,
            "CREATE FUNCTION public.short_enough(text) RETURNS boolean LANGUAGE sql IMMUTABLE AS "
            "'SELECT length($1) < 7'; "
            "ALTER TABLE public.items ADD CONSTRAINT short_names CHECK (public.short_enough(name)) "
            "NOT VALID; "
            "CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; "
            "END$$; "
            "CREATE TRIGGER items_noop BEFORE INSERT ON public.items FOR EACH ROW EXECUTE FUNCTION "
            "public.noop()");
  RunResult run = Freshet({"sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("could not check CHECK constraint short_names"));
  EXPECT_THAT(run.err, HasSubstr("public.items"));
  EXPECT_THAT(run.err, HasSubstr("short_names"));
  EXPECT_THAT(run.err, Not(HasSubstr("restored from an interrupted run")));
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT tgenabled FROM pg_trigger WHERE tgname = 'items_noop'"),
            "O");
  EXPECT_EQ(dev_.Psql(dev_db_, "SELECT count(*) FROM _freshet.journal"), "0");
}

}  // namespace
}  // namespace freshet::testing
