// Subsets in `freshet sync` and `snapshot capture`: the root's chosen rows,
// everything referencing them (down, never back into the root), everything
// any kept row references (up, across an FK cycle, a composite
// self-reference and a partitioned table), and nothing else; every
// constraint of the target valid afterwards; tables unrelated to the root
// whole or limited; bad settings refused before the target is touched.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/integration/prod_dev_test.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kSchema = R"sql(
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text NOT NULL);
CREATE TABLE public.plans (code text PRIMARY KEY, price int NOT NULL);
CREATE TABLE public.orgs (
  id int PRIMARY KEY, plan text NOT NULL REFERENCES public.plans(code), owner uuid);
CREATE TABLE public.profiles (
  id uuid PRIMARY KEY REFERENCES auth.users(id), org_id int NOT NULL REFERENCES public.orgs(id),
  manager uuid REFERENCES public.profiles(id));
ALTER TABLE public.orgs ADD CONSTRAINT orgs_owner_fkey
  FOREIGN KEY (owner) REFERENCES public.profiles(id);
CREATE TABLE public.projects (
  org_id int NOT NULL REFERENCES public.orgs(id), code text NOT NULL, parent_code text,
  PRIMARY KEY (org_id, code),
  FOREIGN KEY (org_id, parent_code) REFERENCES public.projects(org_id, code));
CREATE TABLE public.events (
  id bigint NOT NULL, project_org int NOT NULL, project_code text NOT NULL,
  actor uuid REFERENCES public.profiles(id), at date NOT NULL,
  FOREIGN KEY (project_org, project_code) REFERENCES public.projects(org_id, code))
  PARTITION BY RANGE (at);
CREATE TABLE public.events_2025 PARTITION OF public.events
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.events_rest PARTITION OF public.events DEFAULT;
CREATE TABLE public.audit (msg text, org_id int);
CREATE TABLE public.countries (code text PRIMARY KEY, name text);
)sql";

// 100 orgs of 10 profiles; the first profile of org o owns it, and in orgs
// 1-50 is managed by the first profile of org o + 50; the other profiles
// by their org's first. 50 users have no profile.
constexpr const char* kProdData = R"sql(
CREATE FUNCTION pid(o int, k int) RETURNS uuid IMMUTABLE LANGUAGE sql
  AS $$ SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(o * 100 + k), 12, '0'))::uuid $$;
INSERT INTO public.plans VALUES ('free', 0), ('team', 20), ('enterprise', 90), ('legacy', 5);
INSERT INTO auth.users SELECT pid(o, k), 'user' || o || '-' || k || '@example.test'
  FROM generate_series(1, 100) o, generate_series(1, 10) k;
INSERT INTO auth.users SELECT pid(500 + g, 0), 'loner' || g || '@example.test'
  FROM generate_series(1, 50) g;
INSERT INTO public.orgs
  SELECT o, (ARRAY['free', 'team', 'enterprise'])[o % 3 + 1], NULL FROM generate_series(1, 100) o;
INSERT INTO public.profiles SELECT pid(o, k), o, NULL
  FROM generate_series(1, 100) o, generate_series(1, 10) k;
UPDATE public.profiles SET manager = pid(org_id + 50, 1) WHERE id = pid(org_id, 1) AND org_id <= 50;
UPDATE public.profiles SET manager = pid(org_id, 1) WHERE id <> pid(org_id, 1);
UPDATE public.orgs SET owner = pid(id, 1);
INSERT INTO public.projects SELECT o, 'p' || p, CASE WHEN p > 1 THEN 'p' || (p - 1) END
  FROM generate_series(1, 100) o, generate_series(1, 5) p;
INSERT INTO public.events
  SELECT row_number() OVER (), o, 'p' || p, pid(o, e % 10 + 1),
         date '2025-06-01' + (e * 40)
  FROM generate_series(1, 100) o, generate_series(1, 5) p, generate_series(1, 12) e;
INSERT INTO public.audit SELECT 'audit ' || g, g % 100 FROM generate_series(1, 300) g;
INSERT INTO public.countries SELECT 'c' || g, 'Country ' || g FROM generate_series(1, 40) g;
DROP FUNCTION pid(int, int);
)sql";

constexpr const char* kDevData = R"sql(
INSERT INTO public.countries VALUES ('stale', 'Stale dev row');
)sql";

class SubsetSync : public ProdDevTest {
 protected:
  void SetUp() override { CreateProd(std::string(kSchema) + kProdData + "ANALYZE;"); }

  std::string NewDev() { return ProdDevTest::NewDev(std::string(kSchema) + kDevData); }

  std::string WriteConfig(const std::string& text) {
    return ProdDevTest::WriteConfig("[sync]\ninclude = [\"public.*\", \"auth.*\"]\n" + text);
  }

  RunResult Sync(const std::string& dev_db, const std::string& config,
                 std::vector<std::string> extra = {}, const Environment& env = {}) {
    std::vector<std::string> args = {"--config",       WriteConfig(config), "sync",
                                     "--from",         prod_.Url(prod_db_), "--to",
                                     dev_.Url(dev_db), "--verify"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Freshet(args, env);
  }

  // Every foreign key of prod is on dev and valid, and no row dangles.
  void ExpectReferencesWhole(const std::string& dev) {
    EXPECT_EQ(ForeignKeys(dev_, dev), ForeignKeys(prod_, prod_db_));
    EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev), IsEmpty());
    EXPECT_EQ(Dev(dev,
                  "SELECT count(*) FROM public.profiles p WHERE NOT EXISTS (SELECT FROM "
                  "public.orgs o WHERE o.id = p.org_id) OR NOT EXISTS (SELECT FROM auth.users u "
                  "WHERE u.id = p.id) OR (p.manager IS NOT NULL AND NOT EXISTS (SELECT FROM "
                  "public.profiles m WHERE m.id = p.manager))"),
              "0");
  }
};

constexpr const char* kFirstTen = R"toml(
[subset]
root = "public.orgs"
where = "id <= 10"
limits = { "public.countries" = 5 }
)toml";

TEST_F(SubsetSync, KeepsTheRootsChildrenAndEveryParentAndNothingElse) {
  std::string dev = NewDev();
  std::string report_path = scratch_ / "report.json";
  RunResult run = Sync(dev, kFirstTen, {"--report", report_path});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectReferencesWhole(dev);

  // Orgs 1-10 were chosen; orgs 51-60 are there only because a kept profile's
  // manager belongs to them: their own projects did not follow.
  EXPECT_EQ(Dev(dev, "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.orgs"),
            "1,2,3,4,5,6,7,8,9,10,51,52,53,54,55,56,57,58,59,60");
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.projects"), "50");
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.projects WHERE org_id > 10"), "0");
  // Every event of the chosen orgs' projects, in both partitions, equal to prod's.
  std::string events_sql =
      "SELECT count(*) || ':' || md5(string_agg(e::text, ',' ORDER BY id)) FROM public.events e "
      "WHERE project_org <= 10";
  EXPECT_EQ(Dev(dev, events_sql), Prod(events_sql));
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.events"), "600");
  EXPECT_NE(Dev(dev, "SELECT count(*) FROM public.events_2025"), "0");
  EXPECT_NE(Dev(dev, "SELECT count(*) FROM public.events_rest"), "0");
  // The chosen orgs' profiles all came; of the others, only those referenced
  // (the managers and owners of orgs 51-60).
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.profiles WHERE org_id <= 10"), "100");
  EXPECT_EQ(Dev(dev,
                "SELECT count(*) FROM public.profiles p WHERE org_id > 10 AND NOT EXISTS "
                "(SELECT FROM public.orgs o WHERE o.owner = p.id) AND NOT EXISTS (SELECT FROM "
                "public.profiles q WHERE q.manager = p.id) AND NOT EXISTS (SELECT FROM "
                "public.events e WHERE e.actor = p.id)"),
            "0");
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM auth.users WHERE email LIKE 'loner%'"), "0");
  // Only the plans kept orgs use.
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.plans WHERE code = 'legacy'"), "0");
  // Unrelated tables: whole, or as limited (and dev's stale row gone).
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.audit"), "300");
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.countries"), "5");

  std::string report = ReadTextFile(report_path);
  EXPECT_THAT(report, HasSubstr("\"subset\": \"public.orgs where id <= 10; at most 5 rows of "
                                "public.countries: "));
  EXPECT_THAT(report, HasSubstr("\"verified\": true"));
}

TEST_F(SubsetSync, PercentChoosesTheSameRootsEveryRunAndCanSkipChildren) {
  const std::string config = "[subset]\nroot = \"public.orgs\"\npercent = 20\n";
  std::string first = NewDev(), second = NewDev();
  ASSERT_EQ(Sync(first, config).exit_code, 0);
  ASSERT_EQ(Sync(second, config).exit_code, 0);
  ExpectReferencesWhole(first);
  const std::string orgs = "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.orgs";
  EXPECT_EQ(Dev(first, orgs), Dev(second, orgs));
  EXPECT_NE(Dev(first, "SELECT count(*) FROM public.projects"), "0");

  // children = false: the chosen orgs and what they reference (orgs 51-100
  // through the managers), no projects, no events.
  std::string lean = NewDev();
  ASSERT_EQ(Sync(lean, config + "children = false\n").exit_code, 0);
  ExpectReferencesWhole(lean);
  EXPECT_EQ(Dev(lean, "SELECT count(*) FROM public.projects"), "0");
  EXPECT_EQ(Dev(lean, "SELECT count(*) FROM public.events"), "0");
  int kept = std::stoi(Dev(lean, "SELECT count(*) FROM public.orgs"));
  EXPECT_GE(kept, 10);  // about 20 chosen, and at most as many parents
  EXPECT_LE(kept, 45);
  // The same roots with or without their children.
  std::vector<std::string> with_children = Lines(Dev(first, "SELECT id FROM public.orgs"));
  for (const std::string& id : Lines(Dev(lean, "SELECT id FROM public.orgs")))
    EXPECT_NE(std::find(with_children.begin(), with_children.end(), id), with_children.end())
        << "org " << id;
}

TEST_F(SubsetSync, ChildrenExceptIsNotFollowedDownButStillUp) {
  // Events of org 20's projects done by a profile of org 3.
  Prod(
      "UPDATE public.events SET actor = '00000000-0000-4000-8000-00000000012d' "
      "WHERE project_org = 20 AND id % 3 = 0");
  const std::string org20_events = "SELECT count(*) FROM public.events WHERE project_org = 20";
  const std::string orgs = "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.orgs";

  // By default they follow org 3's profile down, and bring org 20's
  // projects and org 20 up with them.
  std::string every = NewDev();
  ASSERT_EQ(Sync(every, kFirstTen).exit_code, 0);
  ExpectReferencesWhole(every);
  EXPECT_EQ(Dev(every, org20_events), Prod(org20_events + " AND id % 3 = 0"));
  EXPECT_THAT(Dev(every, orgs), HasSubstr(",20,"));

  // Named by its column, the actor key is only followed up: the chosen
  // orgs' events (and their actors) all came, org 20's did not.
  std::string except = NewDev();
  RunResult run =
      Sync(except, std::string(kFirstTen) + "children_except = [\"public.events.actor\"]\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectReferencesWhole(except);
  EXPECT_EQ(Dev(except, org20_events), "0");
  EXPECT_EQ(Dev(except, orgs), "1,2,3,4,5,6,7,8,9,10,51,52,53,54,55,56,57,58,59,60");
  std::string events_sql =
      "SELECT count(*) || ':' || md5(string_agg(e::text, ',' ORDER BY id)) FROM public.events e "
      "WHERE project_org <= 10";
  EXPECT_EQ(Dev(except, events_sql), Prod(events_sql));
  EXPECT_EQ(Dev(except,
                "SELECT count(*) FROM public.events e WHERE NOT EXISTS (SELECT FROM "
                "public.profiles p WHERE p.id = e.actor)"),
            "0");
}

TEST_F(SubsetSync, MaskedSubsetCapturedAndRestoredEqualsTheSync) {
  const std::string config = std::string(kFirstTen) + R"toml(
[mask."public.profiles.id"]
rule = "uuid"
[mask."auth.users.email"]
rule = "email"
)toml";
  Environment key = {{"FRESHET_MASK_KEY", "subset-test-key-0123456789"}};
  std::string synced = NewDev();
  RunResult run = Sync(synced, config, {}, key);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectReferencesWhole(synced);
  EXPECT_EQ(Dev(synced, "SELECT count(*) FROM auth.users WHERE email LIKE '%example.test'"), "0");

  std::string snapshot = scratch_ / "subset.snap";
  std::string config_path = WriteConfig(config);
  RunResult capture = Freshet({"--config", config_path, "snapshot", "capture", "--mask", "--from",
                               prod_.Url(prod_db_), "--out", snapshot},
                              key);
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  std::string restored = NewDev();
  RunResult restore = Freshet(
      {"--config", config_path, "snapshot", "restore", snapshot, "--to", dev_.Url(restored)}, key);
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  ExpectReferencesWhole(restored);
  EXPECT_THAT(DifferingTables(dev_, synced, dev_, restored), IsEmpty());
  std::string manifest = ReadTextFile(snapshot + "/manifest.json");
  EXPECT_THAT(manifest, HasSubstr("\"subset\": \"public.orgs where id <= 10"));
}

TEST_F(SubsetSync, BadSettingsAreRefusedBeforeTheTargetIsTouched) {
  std::string dev = NewDev();
  RunResult missing = Sync(dev, "[subset]\nroot = \"public.organisations\"\n");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("[subset] root public.organisations is not a table"));
  RunResult bad_where = Sync(dev, "[subset]\nroot = \"public.orgs\"\nwhere = \"nope > 1\"\n");
  EXPECT_NE(bad_where.exit_code, 0);
  EXPECT_THAT(bad_where.err, HasSubstr("subset: choosing the rows of public.orgs failed"));
  EXPECT_THAT(bad_where.err, HasSubstr("nope"));
  RunResult percent = Sync(dev, "[subset]\nroot = \"public.orgs\"\npercent = 0\n");
  EXPECT_NE(percent.exit_code, 0);
  EXPECT_THAT(percent.err, HasSubstr("'subset.percent' must be more than 0"));
  RunResult except = Sync(dev,
                          "[subset]\nroot = \"public.orgs\"\n"
                          "children_except = [\"public.events.events_actor_fkey\", "
                          "\"public.events.nobody\"]\n");
  EXPECT_NE(except.exit_code, 0);
  EXPECT_THAT(except.err, HasSubstr("[subset] children_except \"public.events.nobody\": no foreign "
                                    "key of public.events among the tables this run copies is "
                                    "named nobody or is on that one column"));
  RunResult incremental = Sync(dev, "[subset]\nroot = \"public.orgs\"\n", {"--incremental"});
  EXPECT_NE(incremental.exit_code, 0);
  EXPECT_THAT(incremental.err, HasSubstr("a [subset] is taken by full syncs only"));
  // Dev was never touched.
  EXPECT_EQ(Dev(dev, "SELECT string_agg(code, ',') FROM public.countries"), "stale");
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.orgs"), "0");
}

TEST_F(SubsetSync, PlanAndVerifyTakeTheSameSubset) {
  std::string dev = NewDev();
  std::string config = WriteConfig(kFirstTen);
  RunResult plan =
      Freshet({"--config", config, "plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev)});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("Subset: public.orgs where id <= 10; at most 5 rows of "
                                  "public.countries: "));
  EXPECT_THAT(plan.out, HasSubstr("subset: 50 rows kept"));  // projects
  ASSERT_EQ(Sync(dev, kFirstTen).exit_code, 0);
  RunResult verify =
      Freshet({"--config", config, "verify", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev)});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // Without the subset, the same target is (rightly) not equal to prod.
  RunResult whole = Freshet({"verify", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev)});
  EXPECT_NE(whole.exit_code, 0);
}

}  // namespace
}  // namespace freshet::testing
