// Issue 11's promises, class by class, against real clusters: the copy is
// exact (values naming objects arrive as the same names, composites never
// land in the wrong attribute, every constraint ends as it was, verification
// compares as the target's type) and a plan that passes always loads (types
// without a binary form, generated-on-source columns, row-level security,
// self-references across parallel streams, and rows the target's own rules
// would refuse, found before anything is written).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "tests/integration/sync_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Everything `cluster`'s server has logged so far.
std::string ServerLog(const PgCluster& cluster) {
  std::ifstream in(cluster.log_path(), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether `cluster`'s server logged, past byte `from` of its log, that it
// cancelled a statement of backend `pid` (lines name the backend "[pid]").
bool LoggedCancel(const PgCluster& cluster, size_t from, const std::string& pid) {
  std::string log = ServerLog(cluster);
  std::istringstream lines(log.substr(std::min(from, log.size())));
  for (std::string line; std::getline(lines, line);)
    if (line.find(" [" + pid + "] ") != std::string::npos &&
        line.find("ERROR:  canceling statement due to user request") != std::string::npos)
      return true;
  return false;
}

class EngineFidelity : public ::testing::Test {
 protected:
  void SetUp() override {
    prod_db_ = prod_.CreateUniqueDatabase("prod");
    dev_db_ = dev_.CreateUniqueDatabase("dev");
  }
  RunResult Sync(std::vector<std::string> extra = {}, const std::string& dev_user = "postgres") {
    std::vector<std::string> args = {"sync", "--from", prod_.Url(prod_db_), "--to",
                                     dev_.Url(dev_db_, dev_user)};
    args.insert(args.end(), extra.begin(), extra.end());
    return Freshet(args);
  }
  RunResult VerifyOnly() {
    return Freshet({"verify", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  }
  std::string Prod(const std::string& sql) { return prod_.Psql(prod_db_, sql); }
  std::string Dev(const std::string& sql) { return dev_.Psql(dev_db_, sql); }
  // Every table's rows on dev, and the journal's presence: what "untouched"
  // compares.
  std::string DevState() {
    std::string state;
    for (const auto& table : UserTables(dev_, dev_db_, {"public"}))
      state += table + " " +
               Dev("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, "
                   "',' ORDER BY t::text)), '-') FROM " +
                   table + " t") +
               "\n";
    return state;
  }
  // A non-superuser that owns dev's public schema (and so the tables it
  // creates there), as on a managed dev server.
  std::string DevOwnerRole() {
    // Short (identifiers stop at 63 bytes) and unique per database.
    std::string role = "owner_" + std::to_string(std::hash<std::string>{}(dev_db_) % 1000000000);
    dev_.Psql("postgres", "CREATE ROLE " + role + " LOGIN");
    Dev("ALTER SCHEMA public OWNER TO " + role + "; GRANT CREATE ON DATABASE " + dev_db_ + " TO " +
        role);
    return role;
  }

  PgCluster& prod_ = SharedClusters::Source();
  PgCluster& dev_ = SharedClusters::Target();
  std::string prod_db_, dev_db_;
};

// ------------------------------------------------------ no silent wrong copy

// Prod's rows and dev's rules, which refuse some of them: an enum lacking a
// label, narrower integers, a text column turned integer, a domain's CHECK,
// partitions that do not take every row, a foreign key, a CHECK and a
// unique index only dev has.
void RefusingSchemas(const std::function<void(const std::string&)>& prod,
                     const std::function<void(const std::string&)>& dev) {
  const char* common = R"sql(
    CREATE TABLE public.parent (id int PRIMARY KEY);
    CREATE TABLE public.child (id int PRIMARY KEY, parent_id int);
    CREATE TABLE public.checked (id int PRIMARY KEY, amount int);
    CREATE TABLE public.uniq (id int PRIMARY KEY, email text);
  )sql";
  prod(std::string(common) + R"sql(
    CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
    CREATE TABLE public.moods (id int PRIMARY KEY, m public.mood, ms public.mood[]);
    CREATE TABLE public.nums (id int PRIMARY KEY, n bigint, t text);
    CREATE TABLE public.codes (id int PRIMARY KEY, code text);
    CREATE TABLE public.parts (id int, v text);
    INSERT INTO public.moods VALUES (1, 'happy', '{sad}'), (2, 'sad', '{ok,happy}'), (3, 'ok', NULL);
    INSERT INTO public.nums VALUES (1, 5000000000, '12'), (2, 1, 'abc'), (3, -5000000000, '3');
    INSERT INTO public.codes VALUES (1, 'a'), (2, 'toolong');
    INSERT INTO public.parts VALUES (1, 'x'), (500, 'y'), (600, 'z');
    INSERT INTO public.parent VALUES (1);
    INSERT INTO public.child VALUES (1, 1), (2, 7), (3, NULL);
    INSERT INTO public.checked VALUES (1, -5), (2, 5);
    INSERT INTO public.uniq VALUES (1, 'a'), (2, 'a'), (3, 'a'), (4, 'b'), (5, NULL), (6, NULL);
  )sql");
  dev(std::string(common) + R"sql(
    CREATE TYPE public.mood AS ENUM ('sad', 'ok');
    CREATE TABLE public.moods (id int PRIMARY KEY, m public.mood, ms public.mood[]);
    CREATE TABLE public.nums (id int PRIMARY KEY, n int, t int);
    CREATE DOMAIN public.short AS text CHECK (length(VALUE) < 3);
    CREATE TABLE public.codes (id int PRIMARY KEY, code public.short);
    CREATE TABLE public.parts (id int, v text) PARTITION BY RANGE (id);
    CREATE TABLE public.parts_low PARTITION OF public.parts FOR VALUES FROM (0) TO (100);
    ALTER TABLE public.child ADD CONSTRAINT child_parent_fkey
      FOREIGN KEY (parent_id) REFERENCES public.parent;
    ALTER TABLE public.checked ADD CONSTRAINT amount_positive CHECK (amount > 0);
    CREATE UNIQUE INDEX uniq_email ON public.uniq (email);
    INSERT INTO public.parent VALUES (42);
    INSERT INTO public.checked VALUES (42, 42);
  )sql");
}

// What makes prod's rows fit dev's rules.
const char* kRowsMadeToFit = R"sql(
    UPDATE public.moods SET m = 'ok', ms = '{ok}';
    UPDATE public.nums SET n = 1, t = '1';
    UPDATE public.codes SET code = 'b' WHERE id = 2;
    DELETE FROM public.parts WHERE id >= 100;
    UPDATE public.child SET parent_id = 1 WHERE id = 2;
    UPDATE public.checked SET amount = 1 WHERE amount < 0;
    UPDATE public.uniq SET email = 'e' || id WHERE email = 'a';
  )sql";

// reg* values are OIDs in binary COPY: on dev they would name another object
// or none. Dev is made so that its OIDs differ from prod's.
TEST_F(EngineFidelity, ValuesNamingObjectsArriveAsTheSameNames) {
  const char* objects = R"sql(
    CREATE SCHEMA app;
    CREATE TYPE app.mood AS ENUM ('ok');
    CREATE TABLE app.target_table (id int);
    CREATE FUNCTION app.double_it(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
    CREATE DOMAIN app.rel AS regclass;
    CREATE TABLE public.objs (id int PRIMARY KEY, rel regclass, types regtype[], fn regproc,
      fn_args regprocedure, op regoperator, ns regnamespace, cfg regconfig, wrapped app.rel);
  )sql";
  dev_.Psql(dev_db_, "CREATE TABLE public.shift (id int); CREATE TYPE public.shift2 AS (a int);" +
                         std::string(objects));
  Prod(std::string(objects) + R"sql(
    INSERT INTO public.objs VALUES
      (1, 'app.target_table', '{integer,app.mood,"character varying"}', 'app.double_it',
       'app.double_it(integer)', '+(integer,integer)', 'app', 'english', 'app.target_table'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
  )sql");
  RunResult plan = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_THAT(plan.out, HasSubstr("rel: type regclass names objects by OID"));
  RunResult sync = Sync({"--verify"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  const char* names =
      "SET search_path = pg_catalog; SELECT string_agg(concat_ws('|', id, rel, types, fn, "
      "fn_args, op, ns, cfg, wrapped), ';' ORDER BY id) FROM public.objs";
  EXPECT_EQ(Dev(names), Prod(names));
  EXPECT_THAT(Dev(names), HasSubstr("app.target_table|{integer,app.mood,\"character varying\"}"));
  EXPECT_EQ(Dev("SELECT rel = 'app.target_table'::regclass FROM public.objs WHERE id = 1"), "t");
}

TEST_F(EngineFidelity, ValuesNamingObjectsTheTargetLacksAreAPlanError) {
  Prod(R"sql(
    CREATE TABLE public.only_on_prod (id int);
    CREATE TABLE public.objs (id int PRIMARY KEY, rel regclass);
    INSERT INTO public.objs VALUES (1, 'public.only_on_prod'), (2, 'public.objs');
  )sql");
  Dev("CREATE TABLE public.objs (id int PRIMARY KEY, rel regclass); "
      "INSERT INTO public.objs VALUES (9, 'public.objs')");
  std::string before = DevState();
  RunResult sync = Sync();
  EXPECT_EQ(sync.exit_code, 3) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("column \"rel\" of public.objs (regclass): 1 object(s) its rows "
                                  "name do not exist on the target (public.only_on_prod)"));
  EXPECT_EQ(DevState(), before);
}

TEST_F(EngineFidelity, CompositeAttributesInAnotherOrderAreRefusedNamingTheType) {
  Prod(
      "CREATE TYPE public.pair AS (a int, b int); "
      "CREATE TABLE public.pairs (id int PRIMARY KEY, p public.pair, ps public.pair[]); "
      "INSERT INTO public.pairs VALUES (1, ROW(1, 2), ARRAY[ROW(3, 4)::public.pair])");
  Dev("CREATE TYPE public.pair AS (b int, a int); "
      "CREATE TABLE public.pairs (id int PRIMARY KEY, p public.pair, ps public.pair[]); "
      "INSERT INTO public.pairs VALUES (7, ROW(8, 9), NULL)");
  std::string before = DevState();
  RunResult plan = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(plan.exit_code, 3);
  EXPECT_THAT(plan.out + plan.err,
              HasSubstr("column \"p\" of public.pairs: composite type public.pair has attributes "
                        "(\"a\" integer, \"b\" integer) on the source but (\"b\" integer, \"a\" "
                        "integer) on the target"));
  EXPECT_THAT(plan.out + plan.err, HasSubstr("column \"ps\" of public.pairs"));
  RunResult sync = Sync();
  EXPECT_EQ(sync.exit_code, 3);
  EXPECT_EQ(DevState(), before);
  EXPECT_THAT(sync.out + sync.err, Not(HasSubstr("strategy: bulk")));  // nothing was rebuilt
}

// Values a positional copy put into the wrong attribute must not verify equal.
TEST_F(EngineFidelity, VerifyComparesCompositesByAttributeName) {
  Prod(
      "CREATE TYPE public.pair AS (a int, b int); "
      "CREATE TABLE public.pairs (id int PRIMARY KEY, p public.pair); "
      "INSERT INTO public.pairs VALUES (1, ROW(1, 2))");
  Dev("CREATE TYPE public.pair AS (b int, a int); "
      "CREATE TABLE public.pairs (id int PRIMARY KEY, p public.pair)");
  Dev("INSERT INTO public.pairs VALUES (1, ROW(1, 2))");  // positionally: b = 1, a = 2
  RunResult wrong = VerifyOnly();
  EXPECT_EQ(wrong.exit_code, 4) << wrong.err;
  EXPECT_THAT(wrong.err, HasSubstr("public.pairs"));
  Dev("UPDATE public.pairs SET p = ROW(2, 1)");  // by name: a = 1, b = 2
  RunResult right = VerifyOnly();
  EXPECT_EQ(right.exit_code, 0) << right.err;
}

TEST_F(EngineFidelity, ForeignKeysToPartitionedTablesEndValidatedWithTheirClones) {
  const char* schema = R"sql(
    CREATE TABLE public.events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE public.events_2020 PARTITION OF public.events
      FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
    CREATE TABLE public.events_2021 PARTITION OF public.events
      FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
    CREATE TABLE public.notes (id int PRIMARY KEY, event_id int, event_at date,
      FOREIGN KEY (event_id, event_at) REFERENCES public.events);
    CREATE TABLE public.tags (event_id int, event_at date,
      FOREIGN KEY (event_id, event_at) REFERENCES public.events) PARTITION BY LIST (event_id);
    CREATE TABLE public.tags_1 PARTITION OF public.tags FOR VALUES IN (1);
    CREATE TABLE public.tags_2 PARTITION OF public.tags FOR VALUES IN (2);
  )sql";
  Prod(std::string(schema) + R"sql(
    INSERT INTO public.events VALUES (1, '2020-05-01'), (2, '2021-05-01');
    INSERT INTO public.notes VALUES (1, 1, '2020-05-01'), (2, 2, '2021-05-01');
    INSERT INTO public.tags VALUES (1, '2020-05-01'), (2, '2021-05-01');
  )sql");
  Dev(schema);
  const char* constraints =
      "SELECT string_agg(conname || ' ' || conrelid::regclass || ' ' || confrelid::regclass || "
      "' ' || convalidated, ', ' ORDER BY 1) FROM pg_constraint WHERE contype = 'f'";
  std::string before = Dev(constraints);
  for (const char* strategy : {"bulk", "ordered"}) {
    SCOPED_TRACE(strategy);
    RunResult sync = Sync({"--strategy", strategy, "--verify"});
    ASSERT_EQ(sync.exit_code, 0) << sync.err;
    EXPECT_EQ(Dev(constraints), before);
    EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  }
}

TEST_F(EngineFidelity, WidenedTargetColumnsVerifyEqual) {
  Prod(
      "CREATE TABLE public.w (id int PRIMARY KEY, at timestamp, amount numeric(10,2), n int, "
      "r real, code varchar(10), d date); "
      "INSERT INTO public.w VALUES (1, '2020-01-01 10:00:00.5', 1.50, 7, 0.1, 'ab', "
      "'2020-02-02'), (2, NULL, NULL, NULL, NULL, NULL, NULL)");
  Dev("CREATE TABLE public.w (id int PRIMARY KEY, at timestamptz, amount numeric(12,4), n bigint, "
      "r double precision, code text, d timestamp)");
  RunResult sync = Sync({"--verify"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("all verified tables equal"));
  EXPECT_EQ(Dev("SELECT amount FROM public.w WHERE id = 1"), "1.5000");
  RunResult verify = VerifyOnly();
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  Dev("UPDATE public.w SET amount = 1.5001 WHERE id = 1");
  EXPECT_EQ(VerifyOnly().exit_code, 4);  // a real difference still shows
}

// --------------------------------------------- a plan that passes always loads

TEST_F(EngineFidelity, TypesWithoutABinaryFormLoadAsText) {
  const char* schema = "CREATE TABLE public.acl (id int PRIMARY KEY, a aclitem, aa aclitem[])";
  Prod(std::string(schema) +
       "; INSERT INTO public.acl VALUES (1, 'postgres=arwd/postgres', "
       "'{postgres=r/postgres,=U/postgres}'), (2, NULL, NULL)");
  Dev(schema);
  RunResult sync = Sync({"--verify"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_EQ(Dev("SELECT string_agg(a::text || aa::text, ';' ORDER BY id) FROM public.acl"),
            Prod("SELECT string_agg(a::text || aa::text, ';' ORDER BY id) FROM public.acl"));
}

TEST_F(EngineFidelity, ColumnsGeneratedOnTheSourceButPlainOnTheTargetAreCopied) {
  Prod(
      "CREATE TABLE public.g (id int PRIMARY KEY, x int, y int GENERATED ALWAYS AS (x * 2) "
      "STORED); INSERT INTO public.g (id, x) SELECT g, g FROM generate_series(1, 100) g");
  Dev("CREATE TABLE public.g (id int PRIMARY KEY, x int, y int)");
  for (const char* chunk : {"0", "1"}) {  // whole table and ctid ranges
    RunResult sync = Sync({"--verify", "--chunk-size", chunk});
    ASSERT_EQ(sync.exit_code, 0) << sync.err;
    EXPECT_EQ(Dev("SELECT sum(y) FROM public.g"), "10100");
  }
}

TEST_F(EngineFidelity, ForcedRowSecurityOnOwnedTablesIsLiftedForTheLoadAndRestored) {
  std::string role = DevOwnerRole();
  const char* schema = R"sql(
    CREATE TABLE public.secrets (id int PRIMARY KEY, owner text);
    ALTER TABLE public.secrets ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.secrets FORCE ROW LEVEL SECURITY;
    CREATE POLICY mine ON public.secrets USING (owner = current_user);
  )sql";
  Prod(std::string(schema) + "INSERT INTO public.secrets VALUES (1, 'alice'), (2, 'bob');");
  Dev("SET ROLE " + role + "; " + schema);
  RunResult plan =
      Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_, role)});
  EXPECT_THAT(plan.out, HasSubstr("FORCE ROW LEVEL SECURITY on public.secrets lifted"));
  RunResult sync = Sync({"--verify"}, role);
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_EQ(Dev("SELECT count(*) FROM public.secrets"), "2");
  EXPECT_EQ(Dev("SELECT relrowsecurity::text || relforcerowsecurity::text FROM pg_class WHERE "
                "oid = 'public.secrets'::regclass"),
            "truetrue");
  EXPECT_EQ(Dev("SELECT count(*) FROM _freshet.journal"), "0");
}

TEST_F(EngineFidelity, RowSecurityOnATableTheRoleDoesNotOwnIsAPlanError) {
  std::string role = DevOwnerRole();
  Prod("CREATE TABLE public.shared (id int PRIMARY KEY); INSERT INTO public.shared VALUES (1)");
  Dev("CREATE TABLE public.shared (id int PRIMARY KEY); INSERT INTO public.shared VALUES (5); "
      "ALTER TABLE public.shared ENABLE ROW LEVEL SECURITY; GRANT ALL ON public.shared TO " +
      role);
  RunResult sync = Sync({}, role);
  EXPECT_EQ(sync.exit_code, 3) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("target table public.shared has row-level security enabled and "
                                  "the connecting role neither owns it nor has BYPASSRLS"));
  EXPECT_EQ(Dev("SELECT string_agg(id::text, ',') FROM public.shared"), "5");
}

// Parallel ctid ranges commit separately: a row whose parent is in another
// range must not fail the key under the ordered strategy.
TEST_F(EngineFidelity, SelfReferencesLoadAcrossParallelRanges) {
  const char* schema =
      "CREATE TABLE public.tree (id int PRIMARY KEY, parent int REFERENCES public.tree, pad text)";
  // Each row's parent is the next row, so every range references the next one.
  Prod(std::string(schema) +
       "; INSERT INTO public.tree SELECT g, NULL, repeat('x', 500) FROM generate_series(1, 20000) "
       "g; UPDATE public.tree SET parent = CASE WHEN id < 20000 THEN id + 1 END");
  Dev(schema);
  std::string role = DevOwnerRole();
  Dev("ALTER TABLE public.tree OWNER TO " + role);
  RunResult sync = Sync({"--strategy", "ordered", "--chunk-size", "1", "--verify"}, role);
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("references its own table, loaded by several streams"));
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(ForeignKeys(dev_, dev_db_), std::vector<std::string>{"public.tree.tree_parent_fkey"});
}

// Rows only the target's rules refuse: each is found on the source before the
// truncate, named with its rule, its count and the way out; dev is untouched.
TEST_F(EngineFidelity, RowsTheTargetsRulesRefuseAreFoundBeforeAnythingIsWritten) {
  RefusingSchemas([&](const std::string& sql) { Prod(sql); },
                  [&](const std::string& sql) { Dev(sql); });
  std::string before = DevState();
  for (const char* command : {"plan", "sync"}) {
    SCOPED_TRACE(command);
    RunResult run = Freshet({command, "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
    EXPECT_EQ(run.exit_code, 3) << run.err;
    std::string text = run.out + run.err;
    EXPECT_THAT(text, HasSubstr("table public.moods: 1 row(s) in the source break column \"m\": "
                                "enum public.mood of the target lacks the label(s) 'happy'"));
    EXPECT_THAT(text, HasSubstr("table public.moods: 1 row(s) in the source break column \"ms\""));
    EXPECT_THAT(text, HasSubstr("table public.nums: 2 row(s) in the source break column \"n\": "
                                "integer on the target (bigint on the source)"));
    EXPECT_THAT(text, HasSubstr("table public.nums: rows in the source (at least one) break "
                                "column \"t\": integer on the target (text on the source)"));
    EXPECT_THAT(text, HasSubstr("table public.codes: 1 row(s) in the source break column "
                                "\"code\": CHECK constraint short_check of domain public.short"));
    EXPECT_THAT(text, HasSubstr("table public.parts: 2 row(s) in the source break the partitions "
                                "of the target"));
    EXPECT_THAT(text, HasSubstr("table public.child: 1 row(s) in the source break foreign key "
                                "child_parent_fkey"));
    EXPECT_THAT(text, HasSubstr("table public.checked: 1 row(s) in the source break CHECK "
                                "constraint amount_positive"));
    EXPECT_THAT(text, HasSubstr("table public.uniq: 3 row(s) in the source break unique index "
                                "uniq_email"));
    EXPECT_THAT(text, Not(HasSubstr("abc")));  // never the values themselves
    EXPECT_THAT(text, Not(HasSubstr("toolong")));
    EXPECT_EQ(DevState(), before);
  }

  // Once the source's rows fit, the same schemas sync and verify.
  Prod(kRowsMadeToFit);
  RunResult sync = Sync({"--verify"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

// The same rules against a snapshot's rows: a restore has no source to ask,
// so it loads the rows those rules read into temporary tables of the target
// (rolled back) and finds them there, before anything is written.
TEST_F(EngineFidelity, RowsTheTargetsRulesRefuseAreFoundInASnapshotBeforeAnythingIsWritten) {
  RefusingSchemas([&](const std::string& sql) { Prod(sql); },
                  [&](const std::string& sql) { Dev(sql); });
  ScratchDir scratch;
  // nums changes type, which binary snapshot files cannot follow (a plan
  // error of its own, before any rule): left out here.
  RunResult capture = Freshet({"snapshot", "capture", "--from", prod_.Url(prod_db_), "--out",
                               scratch / "snap", "--exclude", "public.nums"});
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  std::string before = DevState();
  RunResult restore = Freshet({"snapshot", "restore", scratch / "snap", "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(restore.exit_code, 3) << restore.err;
  std::string text = restore.out + restore.err;
  EXPECT_THAT(text, HasSubstr("table public.moods: rows in the snapshot (at least one) do not "
                              "load into the target's public.moods (invalid input value for enum"));
  EXPECT_THAT(text, HasSubstr("table public.codes: rows in the snapshot (at least one) do not "
                              "load into the target's public.codes"));
  EXPECT_THAT(text, HasSubstr("violates check constraint"));
  EXPECT_THAT(text, HasSubstr("table public.parts: 2 row(s) in the snapshot break the partitions "
                              "of the target"));
  EXPECT_THAT(text, HasSubstr("table public.child: 1 row(s) in the snapshot break foreign key "
                              "child_parent_fkey"));
  EXPECT_THAT(text, HasSubstr("table public.checked: 1 row(s) in the snapshot break CHECK "
                              "constraint amount_positive"));
  EXPECT_THAT(text, HasSubstr("table public.uniq: 3 row(s) in the snapshot break unique index "
                              "uniq_email"));
  EXPECT_THAT(text, Not(HasSubstr("toolong")));  // never the values themselves
  EXPECT_THAT(text, Not(HasSubstr("freshet_trial")));
  EXPECT_EQ(DevState(), before);

  // Once the rows fit, a new capture restores and verifies.
  Prod(kRowsMadeToFit);
  std::filesystem::remove_all(scratch / "snap");
  capture = Freshet({"snapshot", "capture", "--from", prod_.Url(prod_db_), "--out",
                     scratch / "snap", "--exclude", "public.nums"});
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  RunResult fits =
      Freshet({"snapshot", "restore", scratch / "snap", "--to", dev_.Url(dev_db_), "--verify"});
  ASSERT_EQ(fits.exit_code, 0) << fits.err;
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
}

// Each DDL statement wakes event triggers (PostgREST's schema reload on
// Supabase): setting a table's indexes, keys, triggers and foreign keys aside
// takes one statement per kind and table, not one per object.
TEST_F(EngineFidelity, SettingTheTargetAsideTakesFewStatements) {
  const char* schema = R"sql(
    CREATE TABLE public.a (id int PRIMARY KEY, code text UNIQUE, x int, y int);
    CREATE INDEX a_x ON public.a (x);
    CREATE INDEX a_y ON public.a (y);
    CREATE TABLE public.b (id int PRIMARY KEY, a_id int REFERENCES public.a,
      a_code text REFERENCES public.a (code), z int);
    CREATE INDEX b_z ON public.b (z);
    CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
    CREATE TRIGGER b_one BEFORE INSERT ON public.b FOR EACH ROW EXECUTE FUNCTION public.noop();
    CREATE TRIGGER b_two BEFORE INSERT ON public.b FOR EACH ROW EXECUTE FUNCTION public.noop();
  )sql";
  Prod(std::string(schema) +
       "INSERT INTO public.a VALUES (1, 'c', 1, 1); "
       "INSERT INTO public.b VALUES (1, 1, 'c', 1);");
  Dev(std::string(schema) + R"sql(
    CREATE SCHEMA audit;
    CREATE TABLE audit.ddl (n bigserial, tag text);
    CREATE FUNCTION audit.log() RETURNS event_trigger LANGUAGE plpgsql AS
      $$BEGIN INSERT INTO audit.ddl (tag) VALUES (tg_tag); END$$;
    CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION audit.log();
  )sql");
  RunResult sync = Sync({"--verify"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  // Everything before the first rebuild statement is the set-aside: b's two
  // foreign keys in one ALTER TABLE; a's and b's keys and b's triggers in one
  // each; a's and b's plain indexes in one DROP INDEX each.
  EXPECT_EQ(Dev("SELECT string_agg(tag, ',' ORDER BY n) FROM audit.ddl WHERE tag IN ('ALTER "
                "TABLE', 'DROP INDEX') AND n < (SELECT "
                "min(n) FROM audit.ddl WHERE tag IN ('CREATE INDEX', 'ALTER TABLE') AND n > "
                "(SELECT max(n) FROM audit.ddl WHERE tag = 'DROP INDEX'))"),
            "ALTER TABLE,ALTER TABLE,DROP INDEX,ALTER TABLE,DROP INDEX");
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev_db_), IsEmpty());
  EXPECT_EQ(Dev("SELECT string_agg(tgname::text || tgenabled::text, ',' ORDER BY tgname) FROM "
                "pg_trigger "
                "WHERE tgrelid = 'public.b'::regclass AND NOT tgisinternal"),
            "b_oneO,b_twoO");
}

// A stop reaches every query, not only the streams: an interrupt while the
// source's rows are checked against a target's rule (one that takes ten
// minutes a row) ends the run at once, the source's query cancelled and
// nothing written.
TEST_F(EngineFidelity, AnInterruptDuringTheChecksEndsTheRunAtOnceWithNothingWritten) {
  Prod(
      "CREATE TABLE public.slow (id int PRIMARY KEY, v int); INSERT INTO public.slow VALUES (1, "
      "1)");
  Dev("CREATE TABLE public.slow (id int PRIMARY KEY, v int); INSERT INTO public.slow VALUES (9, "
      "9); "
      "ALTER TABLE public.slow ADD CONSTRAINT slow_check CHECK (v > 0 AND pg_sleep(600) IS NOT "
      "NULL) NOT VALID");
  std::string before = DevState();
  BackgroundProcess sync = StartCommand(
      {FreshetBinary(), "sync", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  const std::string sleeping =
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = "
      "'active' AND query LIKE '%pg_sleep(%' AND pid <> pg_backend_pid()";
  const std::string sleeper =
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = "
      "'active' AND query LIKE '%pg_sleep(%' AND pid <> pg_backend_pid()";
  // The event: the check's query shows on the source. The bound only turns a
  // run that never gets there into a failure.
  std::optional<RunResult> ended;
  std::string pid;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!ended && (pid = Prod(sleeper)).empty() && std::chrono::steady_clock::now() < give_up)
    ended = sync.WaitFor(std::chrono::milliseconds(10));
  ASSERT_FALSE(ended) << "the sync ended before its check ran: " << ended->err;
  ASSERT_NE(pid, "") << "the check's query never showed: " << sync.Stderr();
  ASSERT_EQ(Prod(sleeping), "1");
  // Only what the server logs from here on can be about this backend.
  const size_t log_before = ServerLog(prod_).size();
  sync.Signal(SIGINT);
  std::optional<RunResult> stopped = sync.WaitFor(std::chrono::seconds(60));
  ASSERT_TRUE(stopped) << "the interrupt did not reach the check's query";
  EXPECT_EQ(stopped->exit_code, 1) << stopped->err;
  EXPECT_THAT(stopped->err, HasSubstr("cancel"));
  // The server's own word that the query was cancelled, not left to run its
  // ten minutes: its backend logs the cancel, then leaves the query. Waited
  // for as events; the bound only turns a query that runs on into a failure.
  auto logged_cancel = [&] { return LoggedCancel(prod_, log_before, pid); };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!(logged_cancel() && Prod(sleeping) == "0") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(logged_cancel()) << prod_.LogTail();
  EXPECT_EQ(Prod(sleeping), "0");
  EXPECT_EQ(DevState(), before);
}

TEST_F(EngineFidelity, ATableOnOneSideAndAViewOnTheOtherIsNamedForWhatItIs) {
  Prod("CREATE TABLE public.report (id int); CREATE TABLE public.keep (id int)");
  Dev("CREATE VIEW public.report AS SELECT 1 AS id; CREATE TABLE public.keep (id int)");
  RunResult plan = Freshet({"plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev_db_)});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("public.report is a table on the source but a view on the "
                                  "target: not copied"));
  EXPECT_THAT(plan.out, Not(HasSubstr("the target has no such table):\n  public.report")));
}

}  // namespace
}  // namespace freshet::testing
