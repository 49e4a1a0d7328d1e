// [mask] in freshet.toml: rules in file order with their parameters, the
// key's sources, and errors that name the line and the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "copy/error.h"
#include "sync/cli/config.h"
#include "sync/cli/sync_options.h"
#include "sync/engine/mask_plan.h"

namespace freshet {
namespace {

using ::testing::HasSubstr;

std::string ParseError(const std::string& text) {
  try {
    Config::Parse(text, "freshet.toml");
  } catch (const Error& error) {
    return error.what();
  }
  return {};
}

TEST(MaskConfig, ReadsRulesInFileOrderWithTheirParameters) {
  Config config = Config::Parse(R"(
[mask]
key_file = "/run/secrets/mask"
strict = true

[mask."public.profiles.email"]
rule = "email"
keep_domain = true

[mask."*.*.phone"]
rule = "phone"

[mask."public.deals.amount"]
rule = "numeric"
min = 10
max = 99.5

[mask."public.deals.metadata"]
rule = "json"
paths = { "$.contact.email" = "email", "$.contact.name" = { rule = "redact", keep_first = 1 } }
)",
                                "freshet.toml");
  EXPECT_EQ(config.mask.key_file, "/run/secrets/mask");
  EXPECT_TRUE(config.mask.strict);
  ASSERT_EQ(config.mask.rules.size(), 4u);
  EXPECT_EQ(config.mask.rules[0].first, "public.profiles.email");
  EXPECT_TRUE(config.mask.rules[0].second.keep_domain);
  EXPECT_EQ(config.mask.rules[1].first, "*.*.phone");
  EXPECT_EQ(config.mask.rules[2].second.min, 10.0);
  EXPECT_EQ(config.mask.rules[2].second.max, 99.5);
  const MaskRule& json = config.mask.rules[3].second;
  ASSERT_EQ(json.paths.size(), 2u);
  EXPECT_EQ(json.paths[0].first, "$.contact.email");
  EXPECT_EQ(json.paths[0].second.rule, "email");
  EXPECT_EQ(json.paths[1].second.rule, "redact");
  EXPECT_EQ(json.paths[1].second.keep_first, 1);
}

TEST(MaskConfig, ErrorsNameTheLineTheKeyAndWhatIsMissing) {
  EXPECT_THAT(ParseError("[mask.\"public.t.c\"]\nrule = \"emial\"\n"),
              HasSubstr("freshet.toml:2: 'mask.\"public.t.c\".rule': unknown rule \"emial\""));
  EXPECT_THAT(ParseError("[mask.\"public.t.c\"]\nrule = \"sql\"\n"),
              HasSubstr("rule \"sql\" needs sql = "));
  EXPECT_THAT(ParseError("[mask.\"public.t.c\"]\nrule = \"keep\"\n"),
              HasSubstr("rule \"keep\" needs reason"));
  EXPECT_THAT(ParseError("[mask.\"public.t.c\"]\nrule = \"integer\"\nmin = 1\n"),
              HasSubstr("needs both min and max"));
  EXPECT_THAT(ParseError("[mask.\"public.t.c\"]\nrule = \"email\"\nkeep_domian = true\n"),
              HasSubstr("did you mean 'keep_domain'?"));
  EXPECT_THAT(ParseError("[mask]\nkey = \"secret-in-the-config\"\n"),
              HasSubstr("unknown key 'mask.key'"));
  EXPECT_THAT(ParseError("[mask]\nkey = \"secret-in-the-config\"\n"),
              ::testing::Not(HasSubstr("secret-in-the-config")));
  EXPECT_THAT(ParseError("[targets.dev]\nurl = \"postgres://x/y\"\nmasked = 1\n"),
              HasSubstr("'targets.dev.masked' must be a boolean"));
}

TEST(MaskConfig, JsonPathsKeepTheirFileOrder) {
  Config config = Config::Parse(R"(
[mask."public.t.doc"]
rule = "json"
paths = { "$.zeta" = "email", "$.alpha" = "phone", "$..x" = "hash" }
)",
                                "freshet.toml");
  const MaskRule& json = config.mask.rules.at(0).second;
  ASSERT_EQ(json.paths.size(), 3u);
  EXPECT_EQ(json.paths[0].first, "$.zeta");
  EXPECT_EQ(json.paths[1].first, "$.alpha");
  EXPECT_EQ(json.paths[2].first, "$..x");
}

TEST(MaskConfig, AConfiguredKeyFileWinsOverAStrayVariable) {
  std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("freshet-mask-key-" + std::to_string(getpid()));
  std::ofstream(file) << "key-from-the-file-0123456789\n";
  ::setenv("FRESHET_MASK_KEY", "key-from-the-environment-0123456789", 1);
  Config config = Config::Parse(
      "[mask]\nkey_file = \"" + file.string() + "\"\n[mask.\"public.t.c\"]\nrule = \"hash\"\n",
      "freshet.toml");
  MaskSettings settings = ResolveMasks(config, false);
  ASSERT_TRUE(settings.key);
  EXPECT_EQ(settings.key->Fingerprint(),
            MaskKey::FromSecret("key-from-the-file-0123456789").Fingerprint());
  // Without a key_file the variable is the key.
  config.mask.key_file.reset();
  EXPECT_EQ(ResolveMasks(config, false).key->Fingerprint(),
            MaskKey::FromSecret("key-from-the-environment-0123456789").Fingerprint());
  ::unsetenv("FRESHET_MASK_KEY");
  std::filesystem::remove(file);
  EXPECT_THAT(ParseError("[mask]\nkey_file = \"a\"\nkey_env = \"B\"\n"),
              HasSubstr("both key_file and key_env"));
}

using Split = std::pair<std::string, std::string>;

TEST(MaskConfig, ColumnPatternsSplitAtTheLastUnquotedDot) {
  EXPECT_EQ(SplitColumnPattern("public.profiles.email"), Split("public.profiles", "email"));
  EXPECT_EQ(SplitColumnPattern("*.*.phone"), Split("*.*", "phone"));
  EXPECT_EQ(SplitColumnPattern("public.\"a.b\".\"Odd \"\"c\"\"\""),
            Split("public.\"a.b\"", "Odd \"c\""));
  EXPECT_THROW(SplitColumnPattern("email"), Error);
  EXPECT_THROW(SplitColumnPattern("public.t."), Error);
  EXPECT_THROW(SplitColumnPattern("public.\"t.c"), Error);
}

}  // namespace
}  // namespace freshet
