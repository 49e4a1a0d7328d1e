#include "sync/cli/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "copy/error.h"

namespace freshet {
namespace {

constexpr const char* kExample = R"(
[sync]
from = "prod"          # name of a [sources.X] or a URL
to = "dev"             # name of a [targets.X] or a URL
jobs = 4
include = ["auth.users"]
exclude = ["public.audit_log"]
fk_outside = "error"   # or "not-valid"
lock_timeout = "30s"

[sources.prod]
url_env = "PROD_DATABASE_URL"

[targets.dev]
url = "postgresql://localhost/dev"
allow_writes = true
protected = false
)";

// The message of the Error that parsing `text` throws, or "" when none.
std::string ParseError(const std::string& text) {
  try {
    Config::Parse(text, "freshet.toml");
  } catch (const Error& error) {
    return error.what();
  }
  return {};
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Config, ParsesSyncDefaultsAndEndpoints) {
  Config config = Config::Parse(kExample, "freshet.toml");
  EXPECT_EQ(config.from, "prod");
  EXPECT_EQ(config.to, "dev");
  EXPECT_EQ(config.jobs, 4);
  EXPECT_EQ(config.include, std::vector<std::string>{"auth.users"});
  EXPECT_EQ(config.exclude, std::vector<std::string>{"public.audit_log"});
  EXPECT_EQ(config.fk_outside, "error");
  EXPECT_EQ(config.lock_timeout, "30s");
  ASSERT_EQ(config.sources.count("prod"), 1u);
  EXPECT_EQ(config.sources.at("prod").url_env, "PROD_DATABASE_URL");
  EXPECT_FALSE(config.sources.at("prod").url);
  ASSERT_EQ(config.targets.count("dev"), 1u);
  const Endpoint& dev = config.targets.at("dev");
  EXPECT_EQ(dev.name, "dev");
  EXPECT_EQ(dev.url, "postgresql://localhost/dev");
  EXPECT_TRUE(dev.allow_writes);
  EXPECT_FALSE(dev.protected_target);
}

TEST(Config, EmptyFileGivesEmptyConfig) {
  Config config = Config::Parse("", "freshet.toml");
  EXPECT_TRUE(config.sources.empty());
  EXPECT_FALSE(config.jobs);
}

TEST(Endpoint, ResolveUrlReturnsInlineUrl) {
  Config config = Config::Parse(kExample, "freshet.toml");
  EXPECT_EQ(config.targets.at("dev").ResolveUrl(), "postgresql://localhost/dev");
}

TEST(Endpoint, ResolveUrlReadsTheEnvironmentVariable) {
  Config config = Config::Parse(kExample, "freshet.toml");
  ::setenv("PROD_DATABASE_URL", "postgresql://app:s3cret@prod/app", 1);
  EXPECT_EQ(config.sources.at("prod").ResolveUrl(), "postgresql://app:s3cret@prod/app");
  ::unsetenv("PROD_DATABASE_URL");
}

// `kubectl create secret --from-file` keeps the file's final newline.
TEST(Endpoint, ResolveUrlTrimsTheVariablesSurroundingWhitespace) {
  Config config = Config::Parse(kExample, "freshet.toml");
  ::setenv("PROD_DATABASE_URL", "postgresql://app:s3cret@prod/app?sslmode=require\n", 1);
  EXPECT_EQ(config.sources.at("prod").ResolveUrl(),
            "postgresql://app:s3cret@prod/app?sslmode=require");
  ::setenv("PROD_DATABASE_URL", " \n", 1);
  EXPECT_THROW(config.sources.at("prod").ResolveUrl(), Error);
  ::unsetenv("PROD_DATABASE_URL");
}

TEST(Endpoint, ResolveUrlWithUnsetVariableNamesEndpointAndVariable) {
  Config config = Config::Parse(kExample, "freshet.toml");
  ::unsetenv("PROD_DATABASE_URL");
  try {
    config.sources.at("prod").ResolveUrl();
    FAIL() << "expected Error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "source 'prod': environment variable PROD_DATABASE_URL is not set");
  }
}

TEST(Endpoint, ResolveUrlRejectsAnEmptyVariable) {
  Config config = Config::Parse(kExample, "freshet.toml");
  ::setenv("PROD_DATABASE_URL", "", 1);
  EXPECT_THROW(config.sources.at("prod").ResolveUrl(), Error);
  ::unsetenv("PROD_DATABASE_URL");
}

TEST(Config, UnknownKeyErrorNamesFileKeyPathAndLine) {
  std::string error = ParseError("[targets.dev]\nurll = \"postgresql://localhost/dev\"\n");
  EXPECT_TRUE(Contains(error, "freshet.toml:2:")) << error;
  EXPECT_TRUE(Contains(error, "'targets.dev.urll'")) << error;
  EXPECT_TRUE(Contains(error, "did you mean 'url'")) << error;
  EXPECT_FALSE(Contains(error, "localhost")) << error;
}

TEST(Config, UnknownTopLevelTableIsRejected) {
  std::string error = ParseError("[sync]\njobs = 2\n\n[souces.prod]\nurl = \"x\"\n");
  EXPECT_TRUE(Contains(error, "freshet.toml:4:")) << error;
  EXPECT_TRUE(Contains(error, "'souces'")) << error;
}

TEST(Config, SyncKeyAtTopLevelSuggestsTheSyncTable) {
  std::string error = ParseError("jobs = 2\n");
  EXPECT_TRUE(Contains(error, "'jobs'")) << error;
  EXPECT_TRUE(Contains(error, "[sync]")) << error;
}

TEST(Config, SourceSafetyFlagsAreUnknownKeys) {
  std::string error = ParseError("[sources.prod]\nurl = \"x\"\nallow_writes = true\n");
  EXPECT_TRUE(Contains(error, "freshet.toml:3: unknown key 'sources.prod.allow_writes'")) << error;
}

TEST(Config, EndpointWithUrlAndUrlEnvIsRejected) {
  std::string error = ParseError("[sources.prod]\nurl = \"x\"\nurl_env = \"PROD_URL\"\n");
  EXPECT_TRUE(Contains(error, "source 'prod' has more than one of url, url_env and url_file"))
      << error;
  EXPECT_TRUE(Contains(error, "freshet.toml:1:")) << error;
}

TEST(Config, EndpointWithNeitherUrlNorUrlEnvIsRejected) {
  std::string error = ParseError("[targets.dev]\nallow_writes = true\n");
  EXPECT_TRUE(Contains(error, "target 'dev' needs url, url_env or url_file")) << error;
}

TEST(Config, EndpointWithUrlEnvAndUrlFileIsRejected) {
  std::string error = ParseError("[targets.dev]\nurl_env = \"A\"\nurl_file = \"/run/a\"\n");
  EXPECT_TRUE(Contains(error, "target 'dev' has more than one of url, url_env and url_file"))
      << error;
}

// What systemd's LoadCredential= gives a service: a directory in
// $CREDENTIALS_DIRECTORY with one file per credential.
TEST(Endpoint, ResolveUrlReadsTheFirstLineOfUrlFileWithVariablesExpanded) {
  std::string dir = ::testing::TempDir() + "freshet-credentials-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/prod-url") << "  postgresql://app:s3cret@prod/app \nignored\n";
  ::setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
  Config config = Config::Parse(
      "[sources.prod]\nurl_file = \"${CREDENTIALS_DIRECTORY}/prod-url\"\n", "freshet.toml");
  EXPECT_EQ(config.sources.at("prod").ResolveUrl(), "postgresql://app:s3cret@prod/app");
  std::ofstream(dir + "/prod-url") << "\n";
  try {
    config.sources.at("prod").ResolveUrl();
    FAIL() << "expected Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    EXPECT_TRUE(Contains(error.what(), "source 'prod': url_file " + dir + "/prod-url is empty"))
        << error.what();
  }
  ::unsetenv("CREDENTIALS_DIRECTORY");
  std::filesystem::remove_all(dir);
}

TEST(Endpoint, ResolveUrlNamesAnUnsetVariableOrAMissingUrlFile) {
  Config config = Config::Parse(
      "[targets.dev]\nurl_file = \"${FRESHET_TEST_NO_SUCH_DIR}/dev-url\"\n"
      "[targets.other]\nurl_file = \"/nonexistent/freshet/dev-url\"\n",
      "freshet.toml");
  ::unsetenv("FRESHET_TEST_NO_SUCH_DIR");
  auto message = [&](const char* name) {
    try {
      config.targets.at(name).ResolveUrl();
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("dev"),
            "target 'dev': url_file '${FRESHET_TEST_NO_SUCH_DIR}/dev-url' uses environment "
            "variable FRESHET_TEST_NO_SUCH_DIR, which is not set");
  EXPECT_EQ(message("other"),
            "target 'other': cannot read url_file /nonexistent/freshet/dev-url: No such file or "
            "directory");
}

TEST(Config, ErrorsAreUsageErrors) {
  try {
    Config::Parse("[sync]\njobs = 0\n", "freshet.toml");
    FAIL() << "expected Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
  }
}

TEST(Config, WrongTypeNamesKeyExpectedTypeAndLine) {
  std::string error = ParseError("[sync]\n\njobs = \"4\"\n");
  EXPECT_EQ(error, "freshet.toml:3: 'sync.jobs' must be an integer, not a string");
}

TEST(Config, IncludeMustHoldStrings) {
  std::string error = ParseError("[sync]\ninclude = [\"a.b\", 3]\n");
  EXPECT_TRUE(Contains(error, "'sync.include[1]' must be a string, not an integer")) << error;
}

TEST(Config, JobsBelowOneIsRejected) {
  EXPECT_TRUE(Contains(ParseError("[sync]\njobs = 0\n"), "'sync.jobs' must be at least 1"));
}

TEST(Config, FkOutsideMustBeErrorOrNotValid) {
  EXPECT_TRUE(Contains(ParseError("[sync]\nfk_outside = \"ignore\"\n"), "'sync.fk_outside'"));
  EXPECT_EQ(Config::Parse("[sync]\nfk_outside = \"not-valid\"\n", "f").fk_outside, "not-valid");
}

TEST(Config, LockTimeoutMustBeADuration) {
  EXPECT_TRUE(Contains(ParseError("[sync]\nlock_timeout = \"soon\"\n"), "'sync.lock_timeout'"));
  EXPECT_EQ(Config::Parse("[sync]\nlock_timeout = \"500ms\"\n", "f").lock_timeout, "500ms");
}

TEST(Config, ProtectedTargetCannotAllowWrites) {
  std::string error =
      ParseError("[targets.dev]\nurl = \"x\"\nprotected = true\nallow_writes = true\n");
  EXPECT_TRUE(Contains(error, "target 'dev' is both protected and allow_writes")) << error;
}

TEST(Config, SyntaxErrorNamesFileAndLine) {
  std::string error = ParseError("[sync]\njobs = 4\nfrom = \n");
  EXPECT_TRUE(Contains(error, "freshet.toml:3:")) << error;
}

TEST(Config, PasswordInUrlNeverAppearsInErrors) {
  const std::string url = "postgresql://app:s3cret@prod/app";
  const std::vector<std::string> bad = {
      "[targets.dev]\nurl = \"" + url + "\"\nurl_env = \"X\"\n",
      "[targets.dev]\nurl = \"" + url + "\"\nprotected = 1\n",
      "[targets.dev]\nurl = \"" + url + "\"\nprotected = true\nallow_writes = true\n",
      "[targets.dev]\nurll = \"" + url + "\"\n",
      "[targets.dev]\nurl = \"" + url + "\n",
      "[targets.dev]\nurl = " + url + "\n",
      "[sync]\nfrom = [\"" + url + "\"]\n",
      "[sync]\nlock_timeout = \"" + url + "\"\n",
      "[sync]\nfk_outside = \"" + url + "\"\n",
  };
  for (const std::string& text : bad) {
    std::string error = ParseError(text);
    EXPECT_FALSE(error.empty()) << text;
    EXPECT_FALSE(Contains(error, "s3cret")) << error;
  }
}

TEST(ResolveEndpoint, NameReturnsTheConfiguredEndpoint) {
  Config config = Config::Parse(kExample, "freshet.toml");
  Endpoint endpoint = ResolveEndpoint(config.targets, "dev");
  EXPECT_EQ(endpoint.name, "dev");
  EXPECT_TRUE(endpoint.allow_writes);
}

TEST(ResolveEndpoint, ConnectionStringGivesACommandLineEndpoint) {
  Config config = Config::Parse(kExample, "freshet.toml");
  for (std::string value : {"postgresql://localhost/other", "host=localhost dbname=other"}) {
    Endpoint endpoint = ResolveEndpoint(config.targets, value);
    EXPECT_EQ(endpoint.name, "command line");
    EXPECT_EQ(endpoint.url, value);
    EXPECT_FALSE(endpoint.allow_writes);
    EXPECT_FALSE(endpoint.url_env);
  }
}

TEST(ResolveEndpoint, UnknownNameIsAnErrorListingKnownNames) {
  Config config = Config::Parse(kExample, "freshet.toml");
  try {
    ResolveEndpoint(config.targets, "deev");
    FAIL() << "expected Error";
  } catch (const Error& error) {
    EXPECT_TRUE(Contains(error.what(), "'deev'")) << error.what();
    EXPECT_TRUE(Contains(error.what(), "(dev)")) << error.what();
  }
}

TEST(Config, LoadReadsTheFile) {
  auto path = std::filesystem::temp_directory_path() /
              ("freshet_config_test." + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << kExample;
  Config config = Config::Load(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(config.jobs, 4);
}

TEST(Config, LoadOfMissingFileNamesThePath) {
  try {
    Config::Load("/nonexistent/freshet.toml");
    FAIL() << "expected Error";
  } catch (const Error& error) {
    EXPECT_TRUE(Contains(error.what(), "/nonexistent/freshet.toml")) << error.what();
    EXPECT_TRUE(Contains(error.what(), "No such file or directory")) << error.what();
  }
}

TEST(Config, ErrorsFromLoadNameTheFile) {
  auto path = std::filesystem::temp_directory_path() /
              ("freshet_config_test_bad." + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "[sync]\njobs = -1\n";
  try {
    Config::Load(path.string());
    ADD_FAILURE() << "expected Error";
  } catch (const Error& error) {
    EXPECT_TRUE(Contains(error.what(), path.string() + ":2:")) << error.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace freshet

namespace freshet {
namespace {

TEST(ConfigMigrateAndLint, ReadsMigrateDefaultsAndRuleSeverities) {
  Config config = Config::Parse(
      "[migrate]\ndir = \"db/migrations\"\ndb = \"dev\"\nlock_timeout = \"2s\"\n"
      "statement_timeout = \"10min\"\n[lint]\napi_schemas = [\"public\", \"api\"]\n"
      "[lint.rules]\ndrop-column = \"warning\"\nrename = \"off\"\n",
      "freshet.toml");
  EXPECT_EQ(config.migrations_dir, "db/migrations");
  EXPECT_EQ(config.migrate_db, "dev");
  EXPECT_EQ(config.migrate_lock_timeout, "2s");
  EXPECT_EQ(config.migrate_statement_timeout, "10min");
  EXPECT_EQ(config.api_schemas, (std::vector<std::string>{"public", "api"}));
  EXPECT_EQ(config.lint_rules.at("drop-column"), "warning");
  EXPECT_EQ(config.lint_rules.at("rename"), "off");
}

TEST(ConfigMigrateAndLint, ReadsLintProfilesAndGrantRoles) {
  Config config = Config::Parse(
      "[lint]\nprofiles = [\"idempotent\", \"additive-only\"]\n"
      "grant_roles = [\"authenticated\", \"service_role\"]\n",
      "freshet.toml");
  EXPECT_EQ(config.lint_profiles, (std::vector<std::string>{"idempotent", "additive-only"}));
  EXPECT_EQ(config.lint_grant_roles, (std::vector<std::string>{"authenticated", "service_role"}));
  Config empty = Config::Parse("[lint]\napi_schemas = [\"public\"]\n", "freshet.toml");
  EXPECT_TRUE(empty.lint_profiles.empty());
  EXPECT_TRUE(empty.lint_grant_roles.empty());
}

TEST(ConfigMigrateAndLint, RejectsAProfileThatIsNotAnArrayNamingKeyAndLine) {
  try {
    Config::Parse("[lint]\n\nprofiles = \"idempotent\"\n", "freshet.toml");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("freshet.toml:3"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("'lint.profiles' must be an array of strings"),
              std::string::npos)
        << error.what();
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
  }
  try {
    Config::Parse("[lint]\ngrant_roles = [\"authenticated\", \"\"]\n", "freshet.toml");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("lint.grant_roles[1]"), std::string::npos)
        << error.what();
  }
}

TEST(ConfigMigrateAndLint, RejectsAnUnknownSeverityNamingTheRuleAndLine) {
  try {
    Config::Parse("[lint.rules]\n\ndrop-table = \"fatal\"\n", "freshet.toml");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("freshet.toml:3"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("lint.rules.drop-table"), std::string::npos);
    EXPECT_EQ(error.kind(), ErrorKind::kUsage);
  }
}

}  // namespace
}  // namespace freshet
