// Incremental sync's settings: the names of modes and delete policies,
// `[tables."schema.table"]`, `[sync] incremental/deletes`, a target's
// `incremental = true`, and how --incremental, --full and --diff resolve
// over them.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>

#include "copy/error.h"
#include "sync/cli/config.h"
#include "sync/cli/sync_options.h"
#include "sync/engine/incremental_mode.h"
#include "tests/support/thrown.h"

namespace freshet {
namespace {

// The message of the usage error `body` throws, or "" when none.
std::string UsageError(const std::function<void()>& body) {
  std::optional<Error> error = testing::Thrown(body);
  if (!error) return {};
  EXPECT_EQ(error->kind(), ErrorKind::kUsage) << error->what();
  return error->what();
}

std::string ParseError(const std::string& text) {
  return UsageError([&] { Config::Parse(text, "freshet.toml"); });
}

TEST(SyncModeNames, RoundTripAndRejectOthersNamingTheOrigin) {
  for (SyncMode mode : {SyncMode::kWatermark, SyncMode::kDiff, SyncMode::kFull})
    EXPECT_EQ(ParseSyncMode(SyncModeName(mode), "x"), mode);
  EXPECT_EQ(ParseDeletePolicy("propagate", "x"), DeletePolicy::kPropagate);
  EXPECT_EQ(ParseDeletePolicy("ignore", "x"), DeletePolicy::kIgnore);
  EXPECT_EQ(UsageError([] { ParseSyncMode("Full", "'tables.deals.mode'"); }),
            "'tables.deals.mode' must be \"watermark\", \"diff\" or \"full\", not \"Full\"");
  EXPECT_EQ(UsageError([] { ParseDeletePolicy("cascade", "'sync.deletes'"); }),
            "'sync.deletes' must be \"propagate\" or \"ignore\", not \"cascade\"");
}

constexpr const char* kIncremental = R"(
[sync]
incremental = true
deletes = "ignore"

[targets.dev]
url = "postgresql://localhost/dev"
incremental = true

[tables."public.deals"]
watermark = "updated_at"
deletes = "propagate"

[tables."public.*"]
mode = "diff"

[tables."audit.big_log"]
mode = "full"
)";

TEST(IncrementalConfig, ReadsSyncTargetAndTableSettingsInFileOrder) {
  Config config = Config::Parse(kIncremental, "freshet.toml");
  EXPECT_EQ(config.incremental, true);
  EXPECT_EQ(config.deletes, DeletePolicy::kIgnore);
  EXPECT_TRUE(config.targets.at("dev").incremental);
  ASSERT_EQ(config.tables.size(), 3u);
  // File order, although toml++ sorts keys ("audit..." < "public.*" < "public.deals").
  EXPECT_EQ(config.tables[0].first, "public.deals");
  EXPECT_EQ(config.tables[1].first, "public.*");
  EXPECT_EQ(config.tables[2].first, "audit.big_log");
  const TableSyncSettings& deals = config.tables[0].second;
  EXPECT_EQ(deals.watermark, "updated_at");
  EXPECT_FALSE(deals.mode);
  EXPECT_EQ(deals.deletes, DeletePolicy::kPropagate);
  EXPECT_EQ(config.tables[1].second.mode, SyncMode::kDiff);
  EXPECT_FALSE(config.tables[1].second.watermark);
  EXPECT_FALSE(config.tables[1].second.deletes);
  EXPECT_EQ(config.tables[2].second.mode, SyncMode::kFull);
}

TEST(IncrementalConfig, InlineTablesKeepTheirOrderToo) {
  Config config = Config::Parse(
      "tables = { \"public.z\" = { mode = \"full\" }, \"public.a\" = { mode = \"diff\" } }\n",
      "freshet.toml");
  ASSERT_EQ(config.tables.size(), 2u);
  EXPECT_EQ(config.tables[0].first, "public.z");
  EXPECT_EQ(config.tables[1].first, "public.a");
}

TEST(IncrementalConfig, NothingSetMeansNotIncremental) {
  Config config = Config::Parse("[targets.dev]\nurl = \"postgresql://localhost/dev\"\n", "f");
  EXPECT_FALSE(config.incremental);
  EXPECT_FALSE(config.deletes);
  EXPECT_TRUE(config.tables.empty());
  EXPECT_FALSE(config.targets.at("dev").incremental);
}

TEST(IncrementalConfig, BadModeNamesFileLineKeyAndAllowedValues) {
  EXPECT_EQ(ParseError("[tables.\"public.deals\"]\nmode = \"incremental\"\n"),
            "freshet.toml:2: 'tables.\"public.deals\".mode' must be \"watermark\", \"diff\" or "
            "\"full\", not \"incremental\"");
}

TEST(IncrementalConfig, BadDeletePolicyNamesFileLineAndKey) {
  EXPECT_EQ(ParseError("[sync]\ndeletes = \"cascade\"\n"),
            "freshet.toml:2: 'sync.deletes' must be \"propagate\" or \"ignore\", not \"cascade\"");
  EXPECT_EQ(ParseError("[tables.\"public.deals\"]\ndeletes = \"no\"\n"),
            "freshet.toml:2: 'tables.\"public.deals\".deletes' must be \"propagate\" or "
            "\"ignore\", not \"no\"");
}

TEST(IncrementalConfig, WrongTypesAreErrors) {
  EXPECT_EQ(ParseError("[sync]\nincremental = \"yes\"\n"),
            "freshet.toml:2: 'sync.incremental' must be a boolean, not a string");
  EXPECT_EQ(ParseError("[targets.dev]\nurl = \"postgresql://x/y\"\nincremental = 1\n"),
            "freshet.toml:3: 'targets.dev.incremental' must be a boolean, not an integer");
  EXPECT_EQ(ParseError("[tables.\"public.deals\"]\nwatermark = \"\"\n"),
            "freshet.toml:2: 'tables.\"public.deals\".watermark' must not be empty");
  EXPECT_EQ(ParseError("[tables.\"public.deals\"]\nmode = 3\n"),
            "freshet.toml:2: 'tables.\"public.deals\".mode' must be a string, not an integer");
}

TEST(IncrementalConfig, UnknownTableKeyNamesFileLineAndAllowedKeys) {
  EXPECT_EQ(ParseError("[tables.\"public.deals\"]\nwatermark = \"updated_at\"\nwatermarks = 1\n"),
            "freshet.toml:3: unknown key 'tables.\"public.deals\".watermarks' (did you mean "
            "'watermark'?); expected one of: watermark, mode, deletes");
}

TEST(IncrementalConfig, UnknownSyncKeyListsTheNewKeys) {
  std::string message = ParseError("[sync]\nincrementl = true\n");
  EXPECT_NE(message.find("freshet.toml:2: unknown key 'sync.incrementl' (did you mean "
                         "'incremental'?)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("incremental, deletes"), std::string::npos) << message;
}

TEST(IncrementalConfig, UnquotedSchemaTableIsExplained) {
  EXPECT_EQ(ParseError("[tables.public.deals]\nwatermark = \"updated_at\"\n"),
            "freshet.toml:1: 'tables.public.deals' is a table; quote a schema-qualified name as "
            "one key, as in [tables.\"public.deals\"]");
}

TEST(IncrementalConfig, MalformedPatternNamesFileLineAndPattern) {
  std::string message = ParseError("[tables.\"a.b.c\"]\nmode = \"full\"\n");
  EXPECT_EQ(message.rfind("freshet.toml:1: 'tables.\"a.b.c\"': table pattern 'a.b.c'", 0), 0u)
      << message;
}

Endpoint Target(bool incremental) {
  Endpoint target;
  target.name = "dev";
  target.incremental = incremental;
  return target;
}

TEST(ResolveIncremental, OffUnlessAskedFor) {
  IncrementalOptions options = ResolveIncremental(SyncArguments{}, Config{}, Target(false));
  EXPECT_FALSE(options.enabled);
  EXPECT_EQ(options.deletes, DeletePolicy::kPropagate);
}

TEST(ResolveIncremental, OnByFlagSyncSectionOrTarget) {
  SyncArguments flag;
  flag.incremental = true;
  EXPECT_TRUE(ResolveIncremental(flag, Config{}, Target(false)).enabled);
  Config config;
  config.incremental = true;
  EXPECT_TRUE(ResolveIncremental(SyncArguments{}, config, Target(false)).enabled);
  EXPECT_TRUE(ResolveIncremental(SyncArguments{}, Config{}, Target(true)).enabled);
}

TEST(ResolveIncremental, NoIncrementalFlagWinsOverTheConfig) {
  SyncArguments args;
  args.incremental = false;
  Config config;
  config.incremental = true;
  EXPECT_FALSE(ResolveIncremental(args, config, Target(true)).enabled);
}

TEST(ResolveIncremental, CarriesTablesDeletesAndPatternsFromConfigAndFlags) {
  Config config = Config::Parse(kIncremental, "freshet.toml");
  SyncArguments args;
  args.full = {"public.deals"};
  args.diff = {"audit.*", "public.activities"};
  IncrementalOptions options = ResolveIncremental(args, config, config.targets.at("dev"));
  EXPECT_TRUE(options.enabled);
  EXPECT_EQ(options.deletes, DeletePolicy::kIgnore);
  ASSERT_EQ(options.tables.size(), 3u);
  EXPECT_EQ(options.tables[0].first, "public.deals");
  EXPECT_EQ(options.full, std::vector<std::string>{"public.deals"});
  EXPECT_EQ(options.diff, (std::vector<std::string>{"audit.*", "public.activities"}));
}

TEST(ResolveIncremental, FullOrDiffWithoutIncrementalIsAUsageError) {
  SyncArguments args;
  args.full = {"public.deals"};
  EXPECT_EQ(UsageError([&] { ResolveIncremental(args, Config{}, Target(false)); }),
            "--full chooses a table's mode in an incremental sync; add --incremental (or set "
            "incremental = true under [sync] or the target)");
  args.full.clear();
  args.diff = {"public.deals"};
  args.incremental = false;
  EXPECT_EQ(UsageError([&] { ResolveIncremental(args, Config{}, Target(true)); }),
            "--diff chooses a table's mode in an incremental sync; add --incremental (or set "
            "incremental = true under [sync] or the target), and drop --no-incremental");
}

TEST(ResolveIncremental, BadOrContradictoryPatternsAreUsageErrors) {
  SyncArguments args;
  args.incremental = true;
  args.full = {"a.b.c"};
  std::string message = UsageError([&] { ResolveIncremental(args, Config{}, Target(false)); });
  EXPECT_EQ(message.rfind("--full a.b.c: table pattern 'a.b.c'", 0), 0u) << message;
  args.full = {"public.deals"};
  args.diff = {"public.deals"};
  EXPECT_EQ(UsageError([&] { ResolveIncremental(args, Config{}, Target(false)); }),
            "public.deals is given to both --full and --diff; choose one mode for it");
}

}  // namespace
}  // namespace freshet
