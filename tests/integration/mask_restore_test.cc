// Masking while restoring an unmasked snapshot: with [mask] rules and a key,
// `snapshot restore` masks the rows in its stream and leaves each target as
// a masked `sync` of the same data would (same values: masking is keyed and
// deterministic), no original value reaches a target, masked keys still
// join, and what the stream cannot mask (sql rules) is refused before any
// target is touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/prod_dev_test.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Both sides; the source has one more column (dropped from each row while
// restoring, so masking follows a projection).
constexpr const char* kSchema = R"sql(
CREATE TABLE public.profiles (
  id uuid PRIMARY KEY, email text NOT NULL UNIQUE, full_name varchar(60), phone text,
  born date, last_ip inet, nickname text);
CREATE TABLE public.tasks (
  id bigint PRIMARY KEY, assignee uuid REFERENCES public.profiles(id), title text, note text,
  priority int);
CREATE TABLE public.events (id bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE TABLE public.accounts (org int, handle text, PRIMARY KEY (org, handle));
CREATE TABLE public.memberships (
  id int PRIMARY KEY, org int NOT NULL, handle text NOT NULL,
  FOREIGN KEY (org, handle) REFERENCES public.accounts (org, handle));
CREATE TABLE public.cards (id int PRIMARY KEY, holder character(16), balance numeric(10,2));
)sql";

constexpr const char* kSourceOnly = "ALTER TABLE public.tasks ADD COLUMN legacy text;";

constexpr const char* kProdData = R"sql(
INSERT INTO public.profiles
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid,
       'person' || g || '@corp-original.test', 'Original Person ' || g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE '+1 415-555-' || lpad((g % 10000)::text, 4, '0') END,
       date '1980-01-01' + g, ('10.9.' || (g / 250) || '.' || (g % 250 + 1))::inet,
       CASE WHEN g % 5 = 0 THEN NULL ELSE 'nick-original-' || g END
  FROM generate_series(1, 2000) g;
INSERT INTO public.tasks
SELECT g, ('00000000-0000-4000-8000-' || lpad(to_hex(g % 2000 + 1), 12, '0'))::uuid,
       'task ' || g, CASE WHEN g % 11 = 0 THEN NULL ELSE 'secret note ' || g END,
       CASE WHEN g % 13 = 0 THEN NULL ELSE g % 9 END, 'legacy secret ' || g
  FROM generate_series(1, 5000) g;
INSERT INTO public.events
SELECT g, jsonb_build_object('summary', 'call ' || g,
                             'contact', jsonb_build_object('email', 'person' || g || '@corp-original.test',
                                                           'tier', g % 3))
  FROM generate_series(1, 1000) g;
INSERT INTO public.accounts SELECT g % 5, 'original-handle-' || g FROM generate_series(1, 300) g;
INSERT INTO public.memberships SELECT g, g % 5, 'original-handle-' || g FROM generate_series(1, 300) g;
INSERT INTO public.cards SELECT g, 'Holder ' || g, g * 10.25 FROM generate_series(1, 400) g;
)sql";

constexpr const char* kDevData = R"sql(
INSERT INTO public.profiles VALUES
  ('00000000-0000-4000-8000-ffffffffffff', 'stale@dev.test', 'Stale', NULL, NULL, NULL, NULL);
)sql";

// Every kind of rule a restore can apply in its stream: keyed transformers,
// a key followed by the columns referencing it, json paths, null, and
// constants (text, applied to NULLs too, and integer); a char(n) and a
// numeric(p,s) column, whose masked values must be sent as the server
// stores them (padded, at the column's scale) for --verify to match.
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
[mask."public.profiles.nickname"]
rule = "null"
[mask."public.tasks.note"]
rule = "constant"
value = "a note was here"
[mask."public.tasks.priority"]
rule = "constant"
value = "-7"
[mask."public.events.payload"]
rule = "json"
paths = { "$.contact.email" = "email" }
[mask."public.accounts.handle"]
rule = "hash"
[mask."public.cards.holder"]
rule = "first_name"
[mask."public.cards.balance"]
rule = "numeric"
noise = 0.2
)toml";

constexpr const char* kKey = "test-mask-key-0123456789abcdef";

class MaskedRestore : public ProdDevTest {
 protected:
  void SetUp() override { CreateProd(std::string(kSchema) + kSourceOnly + kProdData); }

  std::string NewDev() { return ProdDevTest::NewDev(std::string(kSchema) + kDevData); }

  // An unmasked capture of prod (no config, so no rules).
  std::string CaptureUnmasked() {
    std::string snapshot = scratch_ / ("plain-" + std::to_string(++snapshots_));
    RunResult capture =
        Freshet({"snapshot", "capture", "--from", prod_.Url(prod_db_), "--out", snapshot});
    EXPECT_EQ(capture.exit_code, 0) << capture.err;
    return snapshot;
  }

  RunResult Restore(const std::string& snapshot, const std::vector<std::string>& dev_dbs,
                    const std::string& config, Environment env,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--config", WriteConfig(config), "snapshot", "restore",
                                     snapshot};
    for (const auto& db : dev_dbs) args.insert(args.end(), {"--to", dev_.Url(db)});
    args.insert(args.end(), extra.begin(), extra.end());
    return Freshet(args, env);
  }

  RunResult Sync(const std::string& dev_db, const std::string& rules, Environment env) {
    return Freshet({"--config", WriteConfig(rules), "sync", "--from", prod_.Url(prod_db_), "--to",
                    dev_.Url(dev_db)},
                   env);
  }

  // No original value of a masked (or uncopied) column anywhere on `db`.
  // Words no transformer makes under any key; and, under the test's fixed
  // key (masking is deterministic, so the outcome is too), the phone and
  // address shapes a random key's digits could form by chance (a random
  // address holds "10.9." about once in 5,000).
  void ExpectNoOriginals(const std::string& db, bool fixed_key = true) {
    SCOPED_TRACE(db);
    std::vector<std::string> originals = {
        "corp-original.test", "Original Person", "nick-original",           "secret note",
        "original-handle",    "legacy secret",   "00000000-0000-4000-8000", "Holder "};
    if (fixed_key) originals.insert(originals.end(), {"415-555-", "10.9."});
    for (const std::string& original : originals)
      EXPECT_EQ(RowsHolding(db, original), 0) << original;
  }

  // Masked keys still join; constraints and indexes are valid.
  void ExpectJoinsAndConstraints(const std::string& db) {
    SCOPED_TRACE(db);
    EXPECT_EQ(Dev(db, "SELECT count(*) FROM public.profiles"), "2000");
    EXPECT_EQ(Dev(db,
                  "SELECT count(*) FROM public.tasks t JOIN public.profiles p ON p.id = "
                  "t.assignee"),
              "5000");
    EXPECT_EQ(Dev(db,
                  "SELECT count(*) FROM public.memberships m JOIN public.accounts a USING "
                  "(org, handle)"),
              "300");
    EXPECT_THAT(InvalidConstraintsAndIndexes(dev_, db), IsEmpty());
  }

  int snapshots_ = 0;
};

TEST_F(MaskedRestore, AnUnmaskedSnapshotRestoresExactlyAsAMaskedSyncWouldLeaveTheTarget) {
  std::string snapshot = CaptureUnmasked();
  std::string restored = NewDev(), synced = NewDev();
  std::string report_path = scratch_ / "report.json";
  RunResult restore = Restore(snapshot, {restored}, kRules, {{"FRESHET_MASK_KEY", kKey}},
                              {"--verify", "--report", report_path});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  RunResult sync = Sync(synced, kRules, {{"FRESHET_MASK_KEY", kKey}});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;

  // Table by table, the same rows as the masked sync.
  EXPECT_THAT(DifferingTables(dev_, restored, dev_, synced), IsEmpty());
  ExpectNoOriginals(restored);
  ExpectJoinsAndConstraints(restored);
  // null and constant rules, NULLs included, as the sync's SELECT gives them.
  EXPECT_EQ(Dev(restored, "SELECT count(*) FROM public.profiles WHERE nickname IS NULL"), "2000");
  EXPECT_EQ(Dev(restored,
                "SELECT count(*) FROM public.tasks WHERE note = 'a note was here' AND "
                "priority = -7"),
            "5000");

  // The report lists the masked columns, and nothing of the values or key.
  std::string report = ReadTextFile(report_path);
  EXPECT_THAT(report, HasSubstr("public.profiles.email: rule email, in the stream"));
  EXPECT_THAT(report, HasSubstr("public.tasks.assignee: rule uuid, in the stream (follows"));
  EXPECT_THAT(report, HasSubstr("public.tasks.note: rule constant, in the stream"));
  EXPECT_THAT(report, Not(HasSubstr("corp-original")));
  EXPECT_THAT(report, Not(HasSubstr(kKey)));
  EXPECT_THAT(restore.out + restore.err, Not(HasSubstr("corp-original")));
  EXPECT_THAT(restore.out + restore.err, Not(HasSubstr(kKey)));
}

TEST_F(MaskedRestore, TwoTargetsRestoredFromOneReadAreBothMasked) {
  std::string snapshot = CaptureUnmasked();
  std::string first = NewDev(), second = NewDev(), synced = NewDev();
  RunResult restore = Restore(snapshot, {first, second}, kRules, {{"FRESHET_MASK_KEY", kKey}},
                              {"--targets", "together", "--verify"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  ASSERT_EQ(Sync(synced, kRules, {{"FRESHET_MASK_KEY", kKey}}).exit_code, 0);
  for (const std::string& db : {first, second}) {
    EXPECT_THAT(DifferingTables(dev_, db, dev_, synced), IsEmpty()) << db;
    ExpectNoOriginals(db);
    ExpectJoinsAndConstraints(db);
  }
}

TEST_F(MaskedRestore, ASnapshotMaskedByTheSameRulesIsNotMaskedTwice) {
  std::string snapshot = scratch_ / "masked";
  ASSERT_EQ(Freshet({"--config", WriteConfig(kRules), "snapshot", "capture", "--mask", "--from",
                     prod_.Url(prod_db_), "--out", snapshot},
                    {{"FRESHET_MASK_KEY", kKey}})
                .exit_code,
            0);
  std::string restored = NewDev(), synced = NewDev();
  RunResult restore =
      Restore(snapshot, {restored}, kRules, {{"FRESHET_MASK_KEY", kKey}}, {"--verify"});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  ASSERT_EQ(Sync(synced, kRules, {{"FRESHET_MASK_KEY", kKey}}).exit_code, 0);
  EXPECT_THAT(DifferingTables(dev_, restored, dev_, synced), IsEmpty());
}

TEST_F(MaskedRestore, AnSqlRuleIsRefusedBeforeTheTargetIsTouched) {
  std::string snapshot = CaptureUnmasked();
  std::string dev = NewDev();
  std::string with_sql =
      std::string(kRules) + "[mask.\"public.tasks.title\"]\nrule = \"sql\"\nsql = \"'t' || id\"\n";
  RunResult restore = Restore(snapshot, {dev}, with_sql, {{"FRESHET_MASK_KEY", kKey}});
  EXPECT_EQ(restore.exit_code, 3) << restore.err;
  EXPECT_THAT(restore.err, HasSubstr("column public.tasks.title"));
  EXPECT_THAT(restore.err, HasSubstr("rule \"sql\""));
  EXPECT_THAT(restore.err, HasSubstr("capture the snapshot with --mask"));
  EXPECT_THAT(restore.err, HasSubstr("nothing was written"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  EXPECT_EQ(Dev(dev, "SELECT count(*) FROM public.tasks"), "0");

  // A constant of a type the stream does not write is refused the same way.
  std::string inet_constant = std::string(kRules) +
                              "[mask.\"public.profiles.last_ip\"]\nrule = \"constant\"\n"
                              "value = \"192.0.2.1\"\n";
  inet_constant.replace(inet_constant.find("[mask.\"public.profiles.last_ip\"]\nrule = \"ip\"\n"),
                        std::string("[mask.\"public.profiles.last_ip\"]\nrule = \"ip\"\n").size(),
                        "");
  RunResult constant = Restore(snapshot, {dev}, inet_constant, {{"FRESHET_MASK_KEY", kKey}});
  EXPECT_EQ(constant.exit_code, 3) << constant.err;
  EXPECT_THAT(constant.err, HasSubstr("column public.profiles.last_ip"));
  EXPECT_THAT(constant.err, HasSubstr("rule \"constant\" cannot be applied"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
}

TEST_F(MaskedRestore, WithoutAKeyTheRestoreIsRefusedAndTheTargetUntouched) {
  std::string snapshot = CaptureUnmasked();
  std::string dev = NewDev();
  RunResult restore = Restore(snapshot, {dev}, kRules, {});
  EXPECT_NE(restore.exit_code, 0);
  EXPECT_THAT(restore.err, HasSubstr("captured without masking"));
  EXPECT_THAT(restore.err, HasSubstr("FRESHET_MASK_KEY"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  // A key_env naming an unset variable: refused, saying which.
  RunResult unset = Restore(snapshot, {dev},
                            "[mask]\nkey_env = \"NO_SUCH_MASK_KEY\"\n" + std::string(kRules), {});
  EXPECT_NE(unset.exit_code, 0);
  EXPECT_THAT(unset.err, HasSubstr("NO_SUCH_MASK_KEY"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");
  // A throwaway target may take a random key.
  RunResult ephemeral = Restore(snapshot, {dev}, kRules, {}, {"--mask-key-ephemeral"});
  ASSERT_EQ(ephemeral.exit_code, 0) << ephemeral.err;
  ExpectNoOriginals(dev, /*fixed_key=*/false);
  ExpectJoinsAndConstraints(dev);
}

TEST_F(MaskedRestore, AMaskedTargetTakesAnUnmaskedSnapshotOnlyWhenTheRestoreMasksIt) {
  std::string snapshot = CaptureUnmasked();
  std::string dev = NewDev();
  std::string target = "[targets.dev]\nurl = \"" + dev_.Url(dev) + "\"\nmasked = true\n";
  RunResult plain =
      Freshet({"--config", WriteConfig(target), "snapshot", "restore", snapshot, "--to", "dev"});
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_THAT(plain.err, HasSubstr("masked = true"));
  EXPECT_EQ(Dev(dev, "SELECT email FROM public.profiles"), "stale@dev.test");

  RunResult masked = Freshet({"--config", WriteConfig(target + kRules), "snapshot", "restore",
                              snapshot, "--to", "dev", "--verify"},
                             {{"FRESHET_MASK_KEY", kKey}});
  ASSERT_EQ(masked.exit_code, 0) << masked.err;
  ExpectNoOriginals(dev);
  ExpectJoinsAndConstraints(dev);
}

}  // namespace
}  // namespace freshet::testing
