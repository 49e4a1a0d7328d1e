// Masking in `freshet sync --incremental`: an incremental run on a masked
// target leaves exactly what a fresh masked full sync leaves, no original
// value of a masked column reaches the target, tables whose mode would
// compare a masked column (a masked key, a masked watermark, a diff over
// masked columns) are refreshed whole and say why, a change of key or
// rules between runs refreshes the masked tables whole, and a masked
// target refuses an incremental run without rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/integration/prod_dev_test.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using json = nlohmann::json;

// profiles: masked primary key (uuid), so refreshed whole; tasks: a key and
// watermark left alone, a column following profiles.id and one masked by an
// sql rule, so incremental; events: no watermark and a masked column, so a
// diff would compare it; logins: a masked watermark; counters: unmasked.
constexpr const char* kSchema = R"sql(
CREATE FUNCTION public.pid(g int) RETURNS uuid IMMUTABLE LANGUAGE sql
  AS $$ SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid $$;
CREATE TABLE public.profiles (
  id uuid PRIMARY KEY, email text NOT NULL UNIQUE, full_name varchar(60), born date,
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE public.tasks (
  id bigint PRIMARY KEY, assignee uuid REFERENCES public.profiles(id), title text, note text,
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE public.events (id bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE TABLE public.logins (id bigint PRIMARY KEY, ip inet, updated_at timestamptz NOT NULL);
CREATE TABLE public.counters (id int PRIMARY KEY, v int, updated_at timestamptz DEFAULT now());
)sql";

constexpr const char* kProdData = R"sql(
INSERT INTO public.profiles (id, email, full_name, born)
SELECT public.pid(g), 'person' || g || '@corp-original.test', 'Original Person ' || g,
       date '1980-01-01' + g
  FROM generate_series(1, 2000) g;
INSERT INTO public.tasks (id, assignee, title, note)
SELECT g, public.pid(g % 2000 + 1), 'task ' || g, 'secret note ' || g
  FROM generate_series(1, 5000) g;
INSERT INTO public.events
SELECT g, jsonb_build_object('summary', 'call ' || g,
                             'contact', jsonb_build_object('email', 'person' || g || '@corp-original.test'))
  FROM generate_series(1, 1000) g;
INSERT INTO public.logins
SELECT g, ('10.9.' || (g / 250) || '.' || (g % 250 + 1))::inet,
       timestamptz '2024-01-01 00:00+00' + g * interval '1 minute'
  FROM generate_series(1, 500) g;
INSERT INTO public.counters (id, v) SELECT g, g FROM generate_series(1, 100) g;
)sql";

// Inserts, updates (of masked and unmasked columns) and deletes in every table.
constexpr const char* kChanges = R"sql(
INSERT INTO public.profiles (id, email, full_name, born)
SELECT public.pid(g), 'new' || g || '@corp-original.test', 'Original Newcomer ' || g,
       date '1990-01-01' + g
  FROM generate_series(2001, 2020) g;
UPDATE public.profiles SET email = 'changed' || g || '@corp-original.test',
                           full_name = 'Original Renamed ' || g
  FROM generate_series(1, 10) g WHERE id = public.pid(g);
DELETE FROM public.tasks WHERE assignee IN (SELECT public.pid(g) FROM generate_series(11, 15) g);
DELETE FROM public.profiles WHERE id IN (SELECT public.pid(g) FROM generate_series(11, 15) g);
INSERT INTO public.tasks (id, assignee, title, note)
SELECT g, public.pid(2001 + g % 20), 'task ' || g, 'secret note ' || g
  FROM generate_series(5001, 5030) g;
UPDATE public.tasks SET title = 'retitled ' || id, assignee = public.pid(2005)
  WHERE id BETWEEN 100 AND 140;
UPDATE public.tasks SET note = 'secret note changed ' || id WHERE id BETWEEN 200 AND 210;
UPDATE public.events SET payload = jsonb_set(payload, '{contact,email}', '"moved@corp-original.test"')
  WHERE id <= 10;
DELETE FROM public.events WHERE id > 990;
INSERT INTO public.events
SELECT g, jsonb_build_object('summary', 'call ' || g,
                             'contact', jsonb_build_object('email', 'late' || g || '@corp-original.test'))
  FROM generate_series(1001, 1010) g;
UPDATE public.logins SET ip = '10.9.99.99', updated_at = updated_at + interval '1 day'
  WHERE id <= 5;
DELETE FROM public.logins WHERE id > 495;
INSERT INTO public.counters (id, v) SELECT g, g FROM generate_series(101, 105) g;
UPDATE public.counters SET v = -v WHERE id <= 5;
DELETE FROM public.counters WHERE id IN (50, 51);
)sql";

constexpr const char* kRules = R"toml(
[mask."public.profiles.id"]
rule = "uuid"
[mask."public.profiles.email"]
rule = "email"
[mask."*.*.full_name"]
rule = "full_name"
[mask."public.profiles.born"]
rule = "date_shift"
window = "30 days"
[mask."public.tasks.note"]
rule = "sql"
sql = "'note #' || id"
[mask."public.events.payload"]
rule = "json"
paths = { "$.contact.email" = "email" }
[mask."public.logins.ip"]
rule = "ip"
[mask."public.logins.updated_at"]
rule = "date_shift"
window = "2 days"
)toml";

constexpr const char* kKey = "test-mask-key-0123456789abcdef";
constexpr const char* kOtherKey = "another-key-0123456789abcdef";

class MaskedIncremental : public ProdDevTest {
 protected:
  void SetUp() override { CreateProd(std::string(kSchema) + kProdData); }

  std::string NewDev() { return ProdDevTest::NewDev(kSchema); }

  // A sync of prod into `db` under `rules` and `key` (none when empty).
  RunResult Run(const std::string& db, const std::string& rules, const std::string& key,
                std::vector<std::string> extra = {}) {
    std::filesystem::remove(report_path_);
    std::vector<std::string> args = {"--config",   WriteConfig(rules),  "sync",
                                     "--from",     prod_.Url(prod_db_), "--to",
                                     dev_.Url(db), "--report",          report_path_};
    args.insert(args.end(), extra.begin(), extra.end());
    Environment env;
    if (!key.empty()) env = {{"FRESHET_MASK_KEY", key}};
    return Freshet(args, env);
  }

  // A run that must succeed; its JSON report.
  json Full(const std::string& db, const std::string& rules, const std::string& key) {
    RunResult run = Run(db, rules, key);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return ReadReport();
  }
  json Incremental(const std::string& db, const std::string& rules, const std::string& key) {
    RunResult run = Run(db, rules, key, {"--incremental"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out + run.err, Not(HasSubstr("corp-original")));
    return ReadReport();
  }

  json ReadReport() const { return ReadJsonReport(report_path_); }

  static json Entry(const json& report, const std::string& table) {
    return ReportEntry(report, table);
  }
  static std::string Mode(const json& report, const std::string& table) {
    return Entry(report, table).value("mode", "");
  }
  static std::string Reason(const json& report, const std::string& table) {
    return Entry(report, table).value("mode_reason", "");
  }
  static uint64_t Moved(const json& report, const std::string& table) {
    json entry = Entry(report, table);
    return entry.value("inserted", uint64_t{0}) + entry.value("updated", uint64_t{0}) +
           entry.value("deleted", uint64_t{0});
  }

  // Tables whose rows differ between two databases of the target cluster.
  std::vector<std::string> Differing(const std::string& a, const std::string& b) const {
    return DifferingTables(dev_, a, dev_, b, {"public"});
  }

  // No original value of a masked column anywhere on `db`.
  void ExpectNoOriginals(const std::string& db) {
    EXPECT_EQ(RowsHolding(db, "corp-original.test"), 0);
    EXPECT_EQ(RowsHolding(db, "Original "), 0);
    EXPECT_EQ(RowsHolding(db, "secret note"), 0);
    EXPECT_EQ(RowsHolding(db, "00000000-0000-4000-8000"), 0);
    // A login's original address and time follow from its id (kProdData,
    // kChanges).
    EXPECT_EQ(dev_.Psql(db,
                        "SELECT count(*) FROM public.logins WHERE ip IN (('10.9.' || (id / 250) "
                        "|| '.' || (id % 250 + 1))::inet, '10.9.99.99') OR updated_at - "
                        "(timestamptz '2024-01-01 00:00+00' + id * interval '1 minute') IN "
                        "(interval '0', interval '1 day')"),
              "0");
  }

  std::string report_path_ = scratch_ / "report.json";
};

TEST_F(MaskedIncremental, AnIncrementalRunLeavesWhatAFreshMaskedFullSyncLeaves) {
  std::string dev = NewDev();
  Full(dev, kRules, kKey);
  prod_.Psql(prod_db_, kChanges);

  json report = Incremental(dev, kRules, kKey);
  // Tables comparing no masked column stay incremental and move only the
  // changed rows, masked.
  EXPECT_EQ(Mode(report, "public.tasks"), "watermark");
  EXPECT_EQ(Mode(report, "public.counters"), "watermark");
  EXPECT_GT(Moved(report, "public.tasks"), 0u);
  EXPECT_LT(Entry(report, "public.tasks").value("rows", uint64_t{0}), 200u);
  EXPECT_EQ(Moved(report, "public.counters"), 12u);

  std::string fresh = NewDev();
  Full(fresh, kRules, kKey);
  EXPECT_THAT(Differing(dev, fresh), IsEmpty());
  ExpectNoOriginals(dev);
  EXPECT_EQ(dev_.Psql(dev,
                      "SELECT count(*) FROM public.tasks t JOIN public.profiles p ON "
                      "p.id = t.assignee"),
            prod_.Psql(prod_db_, "SELECT count(*) FROM public.tasks WHERE assignee IS NOT NULL"));
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev), IsEmpty());
}

TEST_F(MaskedIncremental, UnchangedRowsOfTablesRefreshedWholeAreNotRewritten) {
  std::string dev = NewDev();
  Full(dev, kRules, kKey);
  // Masking is deterministic: the staged rows of a table refreshed whole
  // equal the target's, so nothing moves, and a second run neither.
  for (int run = 0; run < 2; ++run) {
    json report = Incremental(dev, kRules, kKey);
    for (const char* table :
         {"public.profiles", "public.tasks", "public.events", "public.logins", "public.counters"})
      EXPECT_EQ(Moved(report, table), 0u) << table << " in run " << run;
  }
  std::string fresh = NewDev();
  Full(fresh, kRules, kKey);
  EXPECT_THAT(Differing(dev, fresh), IsEmpty());
}

TEST_F(MaskedIncremental, TablesWhoseModeWouldCompareAMaskedColumnAreRefreshedWholeAndSaySo) {
  std::string dev = NewDev();
  Full(dev, kRules, kKey);
  prod_.Psql(prod_db_, kChanges);

  RunResult plan = Freshet({"--config", WriteConfig(kRules), "plan", "--incremental", "--from",
                            prod_.Url(prod_db_), "--to", dev_.Url(dev)},
                           {{"FRESHET_MASK_KEY", kKey}});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("masked key column public.profiles.id"));
  EXPECT_THAT(plan.out, HasSubstr("masked watermark column public.logins.updated_at"));
  EXPECT_THAT(plan.out, HasSubstr("a diff would compare masked column public.events.payload"));
  for (const auto& line : Lines(plan.out)) {
    if (line.find("public.tasks ") != std::string::npos &&
        line.find("deletes") != std::string::npos) {
      EXPECT_THAT(line, HasSubstr("watermark")) << plan.out;
    }
  }

  json report = Incremental(dev, kRules, kKey);
  EXPECT_EQ(Mode(report, "public.profiles"), "full");
  EXPECT_THAT(Reason(report, "public.profiles"), HasSubstr("masked key column public.profiles.id"));
  EXPECT_EQ(Mode(report, "public.logins"), "full");
  EXPECT_THAT(Reason(report, "public.logins"),
              HasSubstr("masked watermark column public.logins.updated_at"));
  EXPECT_EQ(Mode(report, "public.events"), "full");
  EXPECT_THAT(Reason(report, "public.events"),
              HasSubstr("a diff would compare masked column public.events.payload"));
  // Refreshed whole, yet only the changed rows written.
  EXPECT_EQ(Moved(report, "public.profiles"), 20u + 10u + 5u);
  EXPECT_EQ(Moved(report, "public.logins"), 5u + 5u);
  EXPECT_EQ(Moved(report, "public.events"), 10u + 10u + 10u);
  ExpectNoOriginals(dev);
  // Forcing a diff on a masked table does not compare masked values either.
  json forced =
      Incremental(dev, kRules + std::string("[tables.\"public.tasks\"]\nmode = \"diff\"\n"), kKey);
  EXPECT_EQ(Mode(forced, "public.tasks"), "full");
  EXPECT_THAT(Reason(forced, "public.tasks"), HasSubstr("public.tasks.assignee"));
  EXPECT_EQ(Moved(forced, "public.tasks"), 0u);
}

TEST_F(MaskedIncremental, AnotherKeyRefreshesTheKeyedTablesWhole) {
  std::string dev = NewDev();
  Full(dev, kRules, kKey);
  std::string first_emails =
      dev_.Psql(dev, "SELECT string_agg(quote_literal(email), ',') FROM public.profiles");
  prod_.Psql(prod_db_, kChanges);

  json report = Incremental(dev, kRules, kOtherKey);
  for (const char* table : {"public.profiles", "public.tasks", "public.events", "public.logins"}) {
    EXPECT_EQ(Mode(report, table), "full") << table;
    EXPECT_THAT(Reason(report, table), HasSubstr("the mask key changed")) << table;
  }
  EXPECT_EQ(Mode(report, "public.counters"), "watermark");
  std::string fresh = NewDev();
  Full(fresh, kRules, kOtherKey);
  EXPECT_THAT(Differing(dev, fresh), IsEmpty());
  EXPECT_EQ(
      dev_.Psql(dev, "SELECT count(*) FROM public.profiles WHERE email IN (" + first_emails + ")"),
      "0");
  ExpectNoOriginals(dev);
  // The next run under the new key is incremental again.
  json next = Incremental(dev, kRules, kOtherKey);
  EXPECT_EQ(Mode(next, "public.tasks"), "watermark");
  EXPECT_EQ(Moved(next, "public.tasks"), 0u);
}

TEST_F(MaskedIncremental, ARunWithoutRulesAfterAMaskedOneRefreshesTheMaskedTablesWhole) {
  std::string dev = NewDev();
  Full(dev, kRules, kKey);
  prod_.Psql(prod_db_, kChanges);
  // The target is not marked masked: it may go back to the source's values,
  // but whole tables at a time, never masked and unmasked rows mixed.
  json report = Incremental(dev, "", "");
  EXPECT_EQ(Mode(report, "public.tasks"), "full");
  EXPECT_THAT(Reason(report, "public.tasks"), HasSubstr("masked by the last run and by no rule"));
  EXPECT_EQ(Mode(report, "public.counters"), "watermark");
  EXPECT_THAT(DifferingTables(prod_, prod_db_, dev_, dev, {"public"}), IsEmpty());
}

TEST_F(MaskedIncremental, AMaskedRunAfterAnUnmaskedOneRefreshesTheMaskedTablesWhole) {
  std::string dev = NewDev();
  Full(dev, "", "");
  prod_.Psql(prod_db_, kChanges);
  json report = Incremental(dev, kRules, kKey);
  EXPECT_EQ(Mode(report, "public.tasks"), "full");
  EXPECT_THAT(Reason(report, "public.tasks"),
              HasSubstr("masked by this run's [mask] rules and not by the last run's"));
  EXPECT_EQ(Mode(report, "public.counters"), "watermark");
  ExpectNoOriginals(dev);
  std::string fresh = NewDev();
  Full(fresh, kRules, kKey);
  EXPECT_THAT(Differing(dev, fresh), IsEmpty());
  // A rule added later refreshes the table it reaches, and only that one.
  json added = Incremental(
      dev, kRules + std::string("[mask.\"public.tasks.title\"]\nrule = \"redact\"\n"), kKey);
  EXPECT_EQ(Mode(added, "public.tasks"), "full");
  EXPECT_THAT(Reason(added, "public.tasks"), HasSubstr("[mask] rules changed"));
  EXPECT_EQ(Mode(added, "public.counters"), "watermark");
  EXPECT_EQ(dev_.Psql(dev, "SELECT count(*) FROM public.tasks WHERE title LIKE 'task %'"), "0");
}

TEST_F(MaskedIncremental, AMaskedTargetRefusesAnIncrementalRunWithoutRules) {
  std::string dev = NewDev();
  Full(dev, kRules, kKey);
  std::string digest = TableDigest(dev_, dev, "public.profiles", {"id", "email", "full_name"});
  prod_.Psql(prod_db_, kChanges);
  std::string config = "[targets.dev]\nurl = \"" + dev_.Url(dev) + "\"\nmasked = true\n";
  RunResult run = Freshet({"--config", WriteConfig(config), "sync", "--incremental", "--from",
                           prod_.Url(prod_db_), "--to", "dev"});
  EXPECT_EQ(run.exit_code, 5) << run.err;
  EXPECT_THAT(run.err, HasSubstr("masked = true"));
  EXPECT_EQ(TableDigest(dev_, dev, "public.profiles", {"id", "email", "full_name"}), digest);
  ExpectNoOriginals(dev);
  // With the rules it runs.
  RunResult masked = Freshet({"--config", WriteConfig(config + kRules), "sync", "--incremental",
                              "--from", prod_.Url(prod_db_), "--to", "dev"},
                             {{"FRESHET_MASK_KEY", kKey}});
  EXPECT_EQ(masked.exit_code, 0) << masked.err;
  ExpectNoOriginals(dev);
}

}  // namespace
}  // namespace freshet::testing
