// Masking in `freshet sync`: personal data never reaches the target, masked
// keys stay joined to the columns referencing them, equal inputs mask
// equally under one key and differently under another, and the plan refuses
// what masking cannot do safely, before the target is touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/prod_dev_test.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr const char* kSchema = R"sql(
CREATE TABLE public.profiles (
  id uuid PRIMARY KEY, email text NOT NULL UNIQUE, full_name varchar(60), phone text,
  born date, last_ip inet);
CREATE TABLE public.tasks (
  id bigint PRIMARY KEY, assignee uuid REFERENCES public.profiles(id), title text, note text);
CREATE TABLE public.events (id bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE TABLE public.accounts (org int, handle text, PRIMARY KEY (org, handle));
CREATE TABLE public.memberships (
  id int PRIMARY KEY, org int NOT NULL, handle text NOT NULL,
  FOREIGN KEY (org, handle) REFERENCES public.accounts (org, handle));
)sql";

constexpr const char* kProdData = R"sql(
INSERT INTO public.profiles
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid,
       'person' || g || '@corp-original.test', 'Original Person ' || g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE '+1 415-555-' || lpad((g % 10000)::text, 4, '0') END,
       date '1980-01-01' + g, ('10.9.' || (g / 250) || '.' || (g % 250 + 1))::inet
  FROM generate_series(1, 2000) g;
INSERT INTO public.tasks
SELECT g, ('00000000-0000-4000-8000-' || lpad(to_hex(g % 2000 + 1), 12, '0'))::uuid,
       'task ' || g, 'secret note ' || g
  FROM generate_series(1, 5000) g;
INSERT INTO public.events
SELECT g, jsonb_build_object('summary', 'call ' || g,
                             'contact', jsonb_build_object('email', 'person' || g || '@corp-original.test',
                                                           'tier', g % 3))
  FROM generate_series(1, 1000) g;
INSERT INTO public.accounts SELECT g % 5, 'original-handle-' || g FROM generate_series(1, 300) g;
INSERT INTO public.memberships SELECT g, g % 5, 'original-handle-' || g FROM generate_series(1, 300) g;
)sql";

constexpr const char* kDevData = R"sql(
INSERT INTO public.profiles VALUES
  ('00000000-0000-4000-8000-ffffffffffff', 'stale@dev.test', 'Stale', NULL, NULL, NULL);
)sql";

constexpr const char* kRules = R"toml(
[mask."public.profiles.id"]
rule = "uuid"
[mask."public.profiles.email"]
rule = "email"
[mask."*.*.full_name"]
rule = "full_name"
[mask."*.*.phone"]
rule = "phone"
[mask."public.profiles.born"]
rule = "date_shift"
window = "30 days"
[mask."public.profiles.last_ip"]
rule = "ip"
[mask."public.tasks.note"]
rule = "sql"
sql = "'note #' || id"
[mask."public.events.payload"]
rule = "json"
paths = { "$.contact.email" = "email" }
[mask."public.accounts.handle"]
rule = "hash"
)toml";

constexpr const char* kKey = "test-mask-key-0123456789abcdef";

class MaskedSync : public ProdDevTest {
 protected:
  void SetUp() override { CreateProd(std::string(kSchema) + kProdData); }

  std::string NewDev() { return ProdDevTest::NewDev(std::string(kSchema) + kDevData); }

  RunResult Sync(const std::string& dev_db, const std::string& rules, Environment env,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--config",      WriteConfig(rules),  "sync",
                                     "--from",        prod_.Url(prod_db_), "--to",
                                     dev_.Url(dev_db)};
    args.insert(args.end(), extra.begin(), extra.end());
    return Freshet(args, env);
  }
};

TEST_F(MaskedSync, NoOriginalValueReachesTheTargetAndKeysStayJoined) {
  std::string dev = NewDev();
  std::string report_path = scratch_ / "report.json";
  RunResult run = Sync(dev, kRules, {{"FRESHET_MASK_KEY", kKey}}, {"--report", report_path});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string report = ReadTextFile(report_path);
  // The report says what was masked, by which rule, and nothing of the values.
  EXPECT_THAT(report, HasSubstr("public.profiles.email: rule email, in the stream"));
  EXPECT_THAT(report, HasSubstr("public.tasks.assignee: rule uuid, in the stream (follows"));
  EXPECT_THAT(report, Not(HasSubstr("corp-original")));
  EXPECT_THAT(report, Not(HasSubstr(kKey)));

  // No original personal value anywhere on the target.
  EXPECT_EQ(RowsHolding(dev, "corp-original.test"), 0);
  EXPECT_EQ(RowsHolding(dev, "Original Person"), 0);
  EXPECT_EQ(RowsHolding(dev, "415-555-"), 0);
  EXPECT_EQ(RowsHolding(dev, "secret note"), 0);
  EXPECT_EQ(RowsHolding(dev, "original-handle"), 0);
  EXPECT_EQ(RowsHolding(dev, "10.9."), 0);
  EXPECT_EQ(RowsHolding(dev, "00000000-0000-4000-8000"), 0);
  // Nor in what freshet printed.
  EXPECT_THAT(run.out + run.err, Not(HasSubstr("corp-original")));
  EXPECT_THAT(run.out + run.err, Not(HasSubstr(kKey)));

  // Every row arrived; masked keys still join (uuid and composite).
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.profiles"), "2000");
  EXPECT_EQ(Dev(dev,
                "SELECT count(*) FROM public.tasks t JOIN public.profiles p ON p.id = "
                "t.assignee"),
            "5000");
  EXPECT_EQ(Dev(dev,
                "SELECT count(*) FROM public.memberships m JOIN public.accounts a USING "
                "(org, handle)"),
            "300");
  EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev), IsEmpty());
  // Unique stays unique; uuids keep their version; NULLs stay NULL.
  EXPECT_EQ(Dev(dev, "SELECT count(DISTINCT email) FROM public.profiles"), "2000");
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.profiles WHERE substr(id::text, 15, 1) = '4'"),
            "2000");
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.profiles WHERE phone IS NULL"),
            Prod("SELECT count(*) FROM public.profiles WHERE phone IS NULL"));
  // Shapes kept: phones keep their layout, dates move at most 30 days.
  EXPECT_EQ(Dev(dev,
                "SELECT count(*) FROM public.profiles WHERE phone !~ "
                "'^\\+1 [0-9]{3}-[0-9]{3}-[0-9]{4}$'"),
            "0");
  EXPECT_EQ(Dev(dev,
                "SELECT count(*) FROM public.profiles WHERE born IS NULL OR born < date "
                "'1980-01-01' - 30 OR born > date '1980-01-01' + 2030"),
            "0");
  // The sql rule ran on the source; json paths outside the rule are untouched.
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.tasks WHERE note = 'note #' || id"), "5000");
  EXPECT_EQ(Dev(dev,
                "SELECT md5(string_agg(payload->>'summary' || (payload->'contact'->>'tier'), "
                "',' ORDER BY id)) FROM public.events"),
            Prod("SELECT md5(string_agg(payload->>'summary' || (payload->'contact'->>'tier'), ',' "
                 "ORDER BY id)) FROM public.events"));
  // The same address masks alike in two tables.
  EXPECT_EQ(Dev(dev,
                "SELECT count(*) FROM public.events e JOIN public.profiles p ON p.email = "
                "e.payload->'contact'->>'email'"),
            "1000");
}

TEST_F(MaskedSync, SameKeyMasksAlikeAndAnotherKeyDiffers) {
  std::string first = NewDev(), second = NewDev(), other = NewDev();
  ASSERT_EQ(Sync(first, kRules, {{"FRESHET_MASK_KEY", kKey}}).exit_code, 0);
  ASSERT_EQ(Sync(second, kRules, {{"FRESHET_MASK_KEY", kKey}}).exit_code, 0);
  RunResult third = Sync(other, kRules, {{"FRESHET_MASK_KEY", "another-key-0123456789abcdef"}});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  const std::string digest =
      "SELECT md5(string_agg(id::text || email || full_name || coalesce(phone, '') || born, ',' "
      "ORDER BY email)) FROM public.profiles";
  EXPECT_EQ(Dev(first, digest), Dev(second, digest));
  EXPECT_NE(Dev(first, digest), Dev(other, digest));
  // Under another key, no masked email or id coincides.
  std::string emails =
      Dev(first, "SELECT string_agg(quote_literal(email), ',') FROM public.profiles");
  EXPECT_EQ(Dev(other, "SELECT count(*) FROM public.profiles WHERE email IN (" + emails + ")"),
            "0");
}

TEST_F(MaskedSync, WithoutAKeyTheRunIsRefusedAndTheTargetUntouched) {
  std::string dev = NewDev();
  RunResult run = Sync(dev, kRules, {});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr("FRESHET_MASK_KEY"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  // A throwaway target may take a random key.
  RunResult ephemeral = Sync(dev, kRules, {}, {"--mask-key-ephemeral"});
  ASSERT_EQ(ephemeral.exit_code, 0) << ephemeral.err;
  EXPECT_EQ(RowsHolding(dev, "corp-original.test"), 0);
}

TEST_F(MaskedSync, AMaskedTargetRefusesARunWithoutRules) {
  std::string dev = NewDev();
  std::string config = "[targets.dev]\nurl = \"" + dev_.Url(dev) + "\"\nmasked = true\n";
  RunResult run = Freshet(
      {"--config", WriteConfig(config), "sync", "--from", prod_.Url(prod_db_), "--to", "dev"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr("masked = true"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
}

TEST_F(MaskedSync, ThePlanRefusesWhatWouldBreakConstraintsOrJoins) {
  std::string dev = NewDev();
  // A rule that can repeat values on a unique column; a referencing column
  // masked unlike its key; a NOT NULL column nulled.
  std::string conflicting = R"toml(
[mask."public.profiles.id"]
rule = "uuid"
[mask."public.profiles.email"]
rule = "first_name"
[mask."public.tasks.assignee"]
rule = "hash"
[mask."public.events.payload"]
rule = "null"
)toml";
  RunResult plan = Freshet({"--config", WriteConfig(conflicting), "plan", "--from",
                            prod_.Url(prod_db_), "--to", dev_.Url(dev)});
  EXPECT_NE(plan.exit_code, 0);
  std::string said = plan.out + plan.err;
  EXPECT_THAT(said, HasSubstr("public.profiles.email"));
  EXPECT_THAT(said, HasSubstr("profiles_email_key"));
  EXPECT_THAT(said, HasSubstr("public.tasks.assignee"));
  EXPECT_THAT(said, HasSubstr("masked differently"));
  EXPECT_THAT(said, HasSubstr("rule \"null\" on a NOT NULL column"));
  RunResult sync = Sync(dev, conflicting, {{"FRESHET_MASK_KEY", kKey}});
  EXPECT_NE(sync.exit_code, 0);
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  // An sql expression reads its own table's columns: it cannot follow a key.
  RunResult sql_key = Freshet(
      {"--config",
       WriteConfig("[mask.\"public.profiles.id\"]\nrule = \"sql\"\nsql = \"gen_random_uuid()\"\n"),
       "plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev)});
  EXPECT_EQ(sql_key.exit_code, 3);
  EXPECT_THAT(sql_key.out + sql_key.err,
              HasSubstr("public.profiles.id is masked by an sql expression and joined by a "
                        "foreign key to public.tasks.assignee"));
}

TEST_F(MaskedSync, DomainsAreMaskedByTheirBaseTypeAndFittedToItsLimits) {
  const char* schema = R"sql(
CREATE DOMAIN public.short_text AS varchar(20);
CREATE DOMAIN public.small_score AS smallint CHECK (VALUE BETWEEN 1 AND 100);
CREATE TABLE public.notes (id int PRIMARY KEY, handle public.short_text, score public.small_score);
)sql";
  prod_.Psql(prod_db_, std::string(schema) +
                           "INSERT INTO public.notes SELECT g, 'u' || g || '@orig.test',"
                           " g % 100 + 1 FROM generate_series(1, 500) g;");
  std::string dev = NewDev();
  Dev(dev, schema);
  std::string rules = std::string(kRules) +
                      "[mask.\"public.notes.handle\"]\nrule = \"email\"\n"
                      "[mask.\"public.notes.score\"]\nrule = \"integer\"\nmin = 1\nmax = 100\n";
  RunResult run = Sync(dev, rules, {{"FRESHET_MASK_KEY", kKey}});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Dev(dev,
                "SELECT count(*) FROM public.notes WHERE length(handle) <= 20 AND score "
                "BETWEEN 1 AND 100"),
            "500");
  EXPECT_EQ(RowsHolding(dev, "@orig.test"), 0);
}

TEST_F(MaskedSync, ThePlanSaysWhereEachColumnIsMasked) {
  std::string dev = NewDev();
  RunResult plan = Freshet({"--config", WriteConfig(kRules), "plan", "--from", prod_.Url(prod_db_),
                            "--to", dev_.Url(dev)});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("masked: email by rule \"email\" in the stream (rule "
                                  "public.profiles.email)"));
  EXPECT_THAT(plan.out, HasSubstr("masked: note by rule \"sql\" in the source's SELECT"));
  // The referencing column follows its key's rule.
  EXPECT_THAT(plan.out, HasSubstr("masked: assignee by rule \"uuid\" in the stream (follows "
                                  "public.profiles.id"));
}

TEST_F(MaskedSync, AMaskedCaptureRestoresMaskedDataAndRecordsItsRulesNotItsKey) {
  std::string dev = NewDev();
  std::string snapshot = scratch_ / "masked";
  std::string config = WriteConfig(kRules);
  RunResult capture = Freshet({"--config", config, "snapshot", "capture", "--mask", "--from",
                               prod_.Url(prod_db_), "--out", snapshot},
                              {{"FRESHET_MASK_KEY", kKey}});
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  std::string manifest = ReadTextFile(snapshot + "/manifest.json");
  EXPECT_THAT(manifest, HasSubstr("\"masking\""));
  EXPECT_THAT(manifest, HasSubstr("public.profiles.email: email"));
  EXPECT_THAT(manifest, Not(HasSubstr(kKey)));
  EXPECT_THAT(manifest, Not(HasSubstr("corp-original")));

  RunResult restore =
      Freshet({"--config", config, "snapshot", "restore", snapshot, "--to", dev_.Url(dev)});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(RowsHolding(dev, "corp-original.test"), 0);
  EXPECT_EQ(RowsHolding(dev, "Original Person"), 0);
  EXPECT_EQ(Dev(dev,
                "SELECT count(*) FROM public.tasks t JOIN public.profiles p ON p.id = "
                "t.assignee"),
            "5000");
  // No incremental state: a later run without rules must not add original
  // rows to these tables as if they were unmasked.
  EXPECT_EQ(Dev(dev,
                "SELECT CASE WHEN to_regclass('_freshet.sync_state') IS NULL THEN 0 ELSE "
                "(xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM "
                "_freshet.sync_state', false, true, '')))[1]::text::int END"),
            "0");
  // Masked alike to a sync with the same key.
  std::string synced = NewDev();
  ASSERT_EQ(Sync(synced, kRules, {{"FRESHET_MASK_KEY", kKey}}).exit_code, 0);
  const std::string digest =
      "SELECT md5(string_agg(id::text || email || full_name, ',' ORDER BY email)) FROM "
      "public.profiles";
  EXPECT_EQ(Dev(dev, digest), Dev(synced, digest));
}

TEST_F(MaskedSync, AnUnmaskedSnapshotIsRefusedWhereMaskingIsRequired) {
  std::string snapshot = scratch_ / "plain";
  RunResult capture =
      Freshet({"snapshot", "capture", "--from", prod_.Url(prod_db_), "--out", snapshot});
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  std::string dev = NewDev();
  // The config has rules: restoring unmasked data would bypass them.
  RunResult with_rules = Freshet(
      {"--config", WriteConfig(kRules), "snapshot", "restore", snapshot, "--to", dev_.Url(dev)});
  EXPECT_NE(with_rules.exit_code, 0);
  EXPECT_THAT(with_rules.err, HasSubstr("captured without masking"));
  // A target marked masked never takes it.
  std::string masked_target = "[targets.dev]\nurl = \"" + dev_.Url(dev) + "\"\nmasked = true\n";
  RunResult into_masked = Freshet(
      {"--config", WriteConfig(masked_target), "snapshot", "restore", snapshot, "--to", "dev"});
  EXPECT_NE(into_masked.exit_code, 0);
  EXPECT_THAT(into_masked.err, HasSubstr("masked = true"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  // A snapshot masked by other rules than the config's is refused too.
  std::string masked = scratch_ / "masked-by-fewer-rules";
  std::string fewer = WriteConfig(kRules);
  ASSERT_EQ(Freshet({"--config", fewer, "snapshot", "capture", "--from", prod_.Url(prod_db_),
                     "--out", masked},
                    {{"FRESHET_MASK_KEY", kKey}})
                .exit_code,
            0);
  RunResult more_rules = Freshet(
      {"--config",
       WriteConfig(std::string(kRules) + "[mask.\"public.tasks.title\"]\nrule = \"redact\"\n"),
       "snapshot", "restore", masked, "--to", dev_.Url(dev)});
  EXPECT_NE(more_rules.exit_code, 0);
  EXPECT_THAT(more_rules.err, HasSubstr("was masked by other [mask] rules"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  // --mask without rules is refused before anything is read.
  RunResult no_rules = Freshet({"snapshot", "capture", "--mask", "--from", prod_.Url(prod_db_),
                                "--out", scratch_ / "never"});
  EXPECT_NE(no_rules.exit_code, 0);
  EXPECT_THAT(no_rules.err, HasSubstr("--mask needs [mask] rules"));
}

TEST_F(MaskedSync, MaskCheckListsPersonalColumnsWithoutARuleAndStrictRefusesThem) {
  std::string dev = NewDev();
  // Every rule but the phone's, and an oddly named column holding addresses.
  Prod(
      "ALTER TABLE public.tasks ADD COLUMN reach text; UPDATE public.tasks SET reach = 'p' || id "
      "|| '@corp-original.test'");
  Dev(dev, "ALTER TABLE public.tasks ADD COLUMN reach text");
  std::string rules = kRules;
  rules.replace(rules.find("[mask.\"*.*.phone\"]\nrule = \"phone\"\n"),
                std::string("[mask.\"*.*.phone\"]\nrule = \"phone\"\n").size(), "");
  std::string config = WriteConfig(rules);
  RunResult check = Freshet(
      {"--config", config, "mask", "check", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev)});
  EXPECT_EQ(check.exit_code, 3) << check.err;
  EXPECT_THAT(check.out, HasSubstr("NO RULE: public.profiles.phone (text)"));
  EXPECT_THAT(check.out, HasSubstr("NO RULE: public.tasks.reach (text): "));
  EXPECT_THAT(check.out, HasSubstr("sampled values look like email addresses"));
  EXPECT_THAT(check.out, HasSubstr("masked: public.profiles.email by rule \"email\""));
  EXPECT_THAT(check.out + check.err, Not(HasSubstr("corp-original")));
  // A plan warns; with strict = true it refuses, and nothing is written.
  RunResult plan =
      Freshet({"--config", config, "plan", "--from", prod_.Url(prod_db_), "--to", dev_.Url(dev)});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out + plan.err, HasSubstr("column public.profiles.phone looks personal"));
  EXPECT_THAT(plan.out + plan.err, HasSubstr("column public.tasks.reach looks personal ("));
  RunResult strict = Sync(dev, "[mask]\nstrict = true\n" + rules, {{"FRESHET_MASK_KEY", kKey}});
  EXPECT_EQ(strict.exit_code, 3);
  EXPECT_THAT(strict.err, HasSubstr("column public.profiles.phone looks personal"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  // Strict judges content too: with the phone kept, the column found only by
  // its sampled values still refuses the sync, and the capture.
  std::string phone_kept =
      "[mask]\nstrict = true\n" + rules +
      "[mask.\"public.profiles.phone\"]\nrule = \"keep\"\nreason = \"test numbers\"\n";
  RunResult sampled = Sync(dev, phone_kept, {{"FRESHET_MASK_KEY", kKey}});
  EXPECT_EQ(sampled.exit_code, 3) << sampled.err;
  EXPECT_THAT(sampled.err, HasSubstr("column public.tasks.reach looks personal ("));
  EXPECT_THAT(sampled.err, HasSubstr("sampled values look like email addresses"));
  EXPECT_THAT(sampled.err, Not(HasSubstr("public.profiles.phone looks personal")));
  EXPECT_THAT(sampled.out + sampled.err, Not(HasSubstr("corp-original")));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  RunResult capture = Freshet({"--config", WriteConfig(phone_kept), "snapshot", "capture", "--mask",
                               "--from", prod_.Url(prod_db_), "--out", scratch_ / "strict.snap"},
                              {{"FRESHET_MASK_KEY", kKey}});
  EXPECT_NE(capture.exit_code, 0);
  EXPECT_THAT(capture.err, HasSubstr("column public.tasks.reach looks personal"));
  // A kept column is no longer listed.
  std::string kept = rules +
                     "[mask.\"public.profiles.phone\"]\nrule = \"keep\"\nreason = "
                     "\"test numbers\"\n[mask.\"public.tasks.reach\"]\nrule = \"email\"\n";
  RunResult clean = Freshet({"--config", WriteConfig(kept), "mask", "check", "--from",
                             prod_.Url(prod_db_), "--to", dev_.Url(dev)});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
}

// A million distinct addresses, of which a third are pairs differing only in
// case, and some in other formats: the same query makes them on the source
// and, to look for them, on the target.
constexpr const char* kMillionAddresses = R"sql(
SELECT i AS id,
       CASE WHEN i % 2 = 0 THEN 'user' || i / 2 || '@example.com'
            WHEN i / 2 % 3 = 0 THEN 'User' || i / 2 || '@Example.com'
            WHEN i / 2 % 3 = 1 THEN 'first.last+' || i / 2 || '@mail.example.org'
            ELSE '"user ' || i / 2 || '"@sub.example.net' END AS email
  FROM generate_series(0, 999999) i
)sql";

TEST_F(MaskedSync, UniquenessIsKeptOnAUniqueEmailColumnOfAMillionRows) {
  const char* schema =
      "CREATE TABLE public.subscribers (id int PRIMARY KEY, email text NOT NULL "
      "CONSTRAINT subscribers_email_key UNIQUE);";
  Prod(std::string(schema) + "INSERT INTO public.subscribers " + kMillionAddresses + ";");
  std::string dev = NewDev();
  Dev(dev, std::string(schema) + "INSERT INTO public.subscribers VALUES (1, 'stale@dev.test');");
  const std::string unique_valid =
      "SELECT count(*) FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid "
      "WHERE c.conname = 'subscribers_email_key' AND c.contype = 'u' AND c.convalidated "
      "AND i.indisvalid AND i.indisunique AND i.indisready";
  const std::string originals_found =
      std::string("SELECT count(*) FROM public.subscribers s JOIN (") + kMillionAddresses +
      ") o ON o.email = s.email";
  const std::string domains =
      "SELECT string_agg(domain || ':' || n, ',' ORDER BY domain) FROM (SELECT "
      "substr(email, length(email) - strpos(reverse(email), '@') + 2) AS domain, count(*) AS n "
      "FROM public.subscribers GROUP BY 1) d";

  for (bool keep_domain : {false, true}) {
    SCOPED_TRACE(keep_domain ? "keep_domain = true" : "keep_domain = false");
    std::string rules = "[mask.\"public.subscribers.email\"]\nrule = \"email\"\n";
    if (keep_domain) rules += "keep_domain = true\n";
    RunResult run = Sync(dev, rules, {{"FRESHET_MASK_KEY", kKey}});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(Dev(dev, unique_valid), "1");
    EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, dev), IsEmpty());
    // Rows, distinct addresses, and local parts that are not the keyed
    // hash's 26 base32 characters.
    EXPECT_EQ(Dev(dev,
                  "SELECT count(*), count(DISTINCT email), count(*) FILTER (WHERE email !~ "
                  "'^[a-z2-7]{26}@') FROM public.subscribers"),
              "1000000|1000000|0");
    // Not one original address, compared with all million of them.
    EXPECT_EQ(Dev(dev, originals_found), "0");
    if (keep_domain) {
      // Each address keeps its own domain, case and all.
      EXPECT_EQ(Dev(dev, domains), Prod(domains));
    } else {
      EXPECT_EQ(Dev(dev,
                    "SELECT count(*) FROM public.subscribers WHERE email !~ "
                    "'@example\\.(com|org|net)$'"),
                "0");
    }
  }
}

}  // namespace
}  // namespace freshet::testing
