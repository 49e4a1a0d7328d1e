#include "sync/cli/config.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <span>
#include <string_view>
#include <system_error>

#include "copy/conninfo.h"
#include "copy/error.h"
#include "schema/patterns.h"
#include "sync/cli/service_config.h"
#include "sync/cli/toml_reader.h"
#include "sync/cli/url_file.h"

namespace freshet {
namespace {

constexpr std::array<std::string_view, 10> kTopKeys = {
    "sync", "sources", "targets", "migrate", "lint", "tables", "service", "jobs", "mask", "subset"};
constexpr std::array<std::string_view, 6> kMigrateKeys = {
    "dir", "db", "lock_timeout", "statement_timeout", "layout", "naming"};
constexpr std::array<std::string_view, 4> kLintKeys = {"api_schemas", "rules", "profiles",
                                                       "grant_roles"};
constexpr std::array<std::string_view, 9> kSyncKeys = {"from",         "to",          "jobs",
                                                       "include",      "exclude",     "fk_outside",
                                                       "lock_timeout", "incremental", "deletes"};
constexpr std::array<std::string_view, 3> kSourceKeys = {"url", "url_env", "url_file"};
constexpr std::array<std::string_view, 12> kTargetKeys = {
    "url",          "url_env",          "url_file",
    "allow_writes", "protected",        "incremental",
    "url_template", "url_template_env", "url_template_file",
    "name_pattern", "maintenance_db",   "masked"};
constexpr std::array<std::string_view, 3> kTableKeys = {"watermark", "mode", "deletes"};

// password).
class Reader : public TomlReader {
 public:
  explicit Reader(std::string origin) : TomlReader(std::move(origin)) {}

  std::string TopLevelHint(std::string_view key) const override {
    if (std::find(kSyncKeys.begin(), kSyncKeys.end(), key) != kSyncKeys.end())
      return " (did you mean to put it under [sync]?)";
    return {};
  }

  // Rejects keys of `table` not in `allowed`, suggesting a near miss.

  void ReadSync(const toml::node& node, Config& config) const {
    const toml::table& sync = Table(node, "sync");
    CheckKeys(sync, "sync", kSyncKeys);
    if (const toml::node* from = sync.get("from")) config.from = NonEmptyString(*from, "sync.from");
    if (const toml::node* to = sync.get("to")) config.to = NonEmptyString(*to, "sync.to");
    if (const toml::node* jobs = sync.get("jobs")) {
      int64_t value = Value<int64_t>(*jobs, "sync.jobs", "an integer").get();
      if (value < 1) Fail(jobs->source(), "'sync.jobs' must be at least 1");
      if (value > INT_MAX) Fail(jobs->source(), "'sync.jobs' is too large");
      config.jobs = static_cast<int>(value);
    }
    if (const toml::node* include = sync.get("include"))
      config.include = Strings(*include, "sync.include");
    if (const toml::node* exclude = sync.get("exclude"))
      config.exclude = Strings(*exclude, "sync.exclude");
    if (const toml::node* policy = sync.get("fk_outside")) {
      std::string value = NonEmptyString(*policy, "sync.fk_outside");
      if (value != "error" && value != "not-valid")
        Fail(policy->source(), "'sync.fk_outside' must be \"error\" or \"not-valid\"");
      config.fk_outside = value;
    }
    if (const toml::node* timeout = sync.get("lock_timeout")) {
      std::string value = NonEmptyString(*timeout, "sync.lock_timeout");
      if (!IsDuration(value))
        Fail(timeout->source(),
             "'sync.lock_timeout' must be a duration such as \"30s\", \"500ms\" or \"2min\"");
      config.lock_timeout = value;
    }
    if (const toml::node* flag = sync.get("incremental"))
      config.incremental = Value<bool>(*flag, "sync.incremental", "a boolean").get();
    if (const toml::node* deletes = sync.get("deletes"))
      config.deletes = Deletes(*deletes, "sync.deletes");
  }

  DeletePolicy Deletes(const toml::node& node, const std::string& path) const {
    return ParseDeletePolicy(Value<std::string>(node, path, "a string").get(),
                             Where(node.source()) + "'" + path + "'");
  }

  // [tables."schema.table"]: watermark, mode and deletes per table or
  // pattern. toml++ keeps a table's keys sorted by name, so the entries are
  // put back in the order they appear in the file.
  void ReadTables(const toml::node& node, Config& config) const {
    Positioned<std::pair<std::string, TableSyncSettings>> read;
    for (const auto& [key, value] : Table(node, "tables")) {
      std::string pattern(key.str());
      std::string path = "tables." + PathPart(pattern);
      const toml::source_region& where =
          key.source().begin.line > 0 ? key.source() : value.source();
      try {
        TablePattern::Parse(pattern);
      } catch (const Error& error) {
        Fail(where, fmt::format("'{}': {}", path, error.what()));
      }
      read.emplace_back(where.begin, std::pair(pattern, ReadTable(value, path)));
    }
    AppendInFileOrder(read, config.tables);
  }

  TableSyncSettings ReadTable(const toml::node& node, const std::string& path) const {
    const toml::table& table = Table(node, path);
    for (const auto& [key, value] : table)
      if (value.is_table())  // [tables.public.deals]: a dotted key, not one table name
        Fail(value.source(),
             fmt::format("'{}.{}' is a table; quote a schema-qualified name as one key, as in "
                         "[tables.\"public.deals\"]",
                         path, PathPart(key.str())));
    CheckKeys(table, path, kTableKeys);
    TableSyncSettings settings;
    if (const toml::node* column = table.get("watermark"))
      settings.watermark = NonEmptyString(*column, path + ".watermark");
    if (const toml::node* mode = table.get("mode"))
      settings.mode = ParseSyncMode(Value<std::string>(*mode, path + ".mode", "a string").get(),
                                    Where(mode->source()) + "'" + path + ".mode'");
    if (const toml::node* deletes = table.get("deletes"))
      settings.deletes = Deletes(*deletes, path + ".deletes");
    return settings;
  }

  void ReadMigrate(const toml::node& node, Config& config) const {
    const toml::table& migrate = Table(node, "migrate");
    CheckKeys(migrate, "migrate", kMigrateKeys);
    if (const toml::node* dir = migrate.get("dir"))
      config.migrations_dir = NonEmptyString(*dir, "migrate.dir");
    if (const toml::node* db = migrate.get("db"))
      config.migrate_db = NonEmptyString(*db, "migrate.db");
    if (const toml::node* timeout = migrate.get("lock_timeout"))
      config.migrate_lock_timeout = Duration(*timeout, "migrate.lock_timeout");
    if (const toml::node* timeout = migrate.get("statement_timeout"))
      config.migrate_statement_timeout = Duration(*timeout, "migrate.statement_timeout");
    if (const toml::node* layout = migrate.get("layout"))
      config.migrate_layout = OneOf(*layout, "migrate.layout", {"supabase", "prisma"});
    if (const toml::node* naming = migrate.get("naming"))
      config.migrate_naming =
          OneOf(*naming, "migrate.naming", {"supabase", "strict", "datetime", "sequential"});
  }

  // [lint]: api_schemas, profiles, grant_roles and per-rule severities
  // ([lint.rules] id = "error"). Rule ids and profile names are checked by
  // the linter, which knows them.
  void ReadLint(const toml::node& node, Config& config) const {
    const toml::table& lint = Table(node, "lint");
    CheckKeys(lint, "lint", kLintKeys);
    if (const toml::node* schemas = lint.get("api_schemas"))
      config.api_schemas = Strings(*schemas, "lint.api_schemas");
    if (const toml::node* profiles = lint.get("profiles"))
      config.lint_profiles = Strings(*profiles, "lint.profiles");
    if (const toml::node* roles = lint.get("grant_roles"))
      config.lint_grant_roles = Strings(*roles, "lint.grant_roles");
    if (const toml::node* rules = lint.get("rules")) {
      for (const auto& [key, value] : Table(*rules, "lint.rules")) {
        std::string path = "lint.rules." + PathPart(key.str());
        std::string severity = NonEmptyString(value, path);
        if (severity != "error" && severity != "warning" && severity != "off")
          Fail(value.source(), fmt::format("'{}' must be \"error\", \"warning\" or \"off\"", path));
        config.lint_rules[std::string(key.str())] = severity;
      }
    }
  }

  // [sources] or [targets]: a table of endpoint tables.
  void ReadEndpoints(const toml::node& node, const std::string& section, bool target,
                     std::map<std::string, Endpoint>& out) const {
    const std::string role = target ? "target" : "source";
    for (const auto& [key, value] : Table(node, section)) {
      std::string name(key.str());
      std::string path = section + "." + PathPart(name);
      if (name.empty()) Fail(key.source(), fmt::format("{} names must not be empty", role));
      const toml::table& table = Table(value, path);
      CheckKeys(table, path,
                target ? std::span<const std::string_view>(kTargetKeys)
                       : std::span<const std::string_view>(kSourceKeys));
      Endpoint endpoint;
      endpoint.name = name;
      endpoint.role = role;
      if (const toml::node* url = table.get("url"))
        endpoint.url = NonEmptyString(*url, path + ".url");
      if (const toml::node* env = table.get("url_env"))
        endpoint.url_env = NonEmptyString(*env, path + ".url_env");
      if (const toml::node* file = table.get("url_file"))
        endpoint.url_file = NonEmptyString(*file, path + ".url_file");
      if (target) ReadTargetTemplate(*this, table, path, endpoint);  // service_config.cc
      int given = int(endpoint.url.has_value()) + int(endpoint.url_env.has_value()) +
                  int(endpoint.url_file.has_value()) + int(endpoint.IsTemplate());
      if (given > 1)
        Fail(table.source(),
             fmt::format("{} '{}' has more than one of url, url_env and url_file{}; set only one",
                         role, name, target ? " (or url_template...)" : ""));
      if (given == 0)
        Fail(table.source(), fmt::format("{} '{}' needs url, url_env or url_file{}", role, name,
                                         target ? " (or url_template for previews)" : ""));
      if (const toml::node* flag = table.get("allow_writes"))
        endpoint.allow_writes = Value<bool>(*flag, path + ".allow_writes", "a boolean").get();
      if (const toml::node* flag = table.get("protected"))
        endpoint.protected_target = Value<bool>(*flag, path + ".protected", "a boolean").get();
      if (const toml::node* flag = table.get("incremental"))
        endpoint.incremental = Value<bool>(*flag, path + ".incremental", "a boolean").get();
      if (const toml::node* flag = table.get("masked"))
        endpoint.masked = Value<bool>(*flag, path + ".masked", "a boolean").get();
      if (endpoint.allow_writes && endpoint.protected_target)
        Fail(table.source(),
             fmt::format("target '{}' is both protected and allow_writes; choose one", name));
      out.emplace(name, std::move(endpoint));
    }
  }

  Config Read(const toml::table& root) const {
    CheckKeys(root, "", kTopKeys);
    Config config;
    if (const toml::node* sync = root.get("sync")) ReadSync(*sync, config);
    if (const toml::node* sources = root.get("sources"))
      ReadEndpoints(*sources, "sources", false, config.sources);
    if (const toml::node* targets = root.get("targets"))
      ReadEndpoints(*targets, "targets", true, config.targets);
    if (const toml::node* migrate = root.get("migrate")) ReadMigrate(*migrate, config);
    if (const toml::node* lint = root.get("lint")) ReadLint(*lint, config);
    if (const toml::node* tables = root.get("tables")) ReadTables(*tables, config);
    if (const toml::node* mask = root.get("mask")) ReadMaskSection(*this, *mask, config.mask);
    if (const toml::node* subset = root.get("subset"))
      ReadSubsetSection(*this, *subset, config.subset);
    if (const toml::node* service = root.get("service"))
      ReadServiceSection(*this, *service, config.service);
    if (const toml::node* jobs = root.get("jobs")) {
      if (!jobs->is_table())  // `jobs = 2` meant for [sync]
        Fail(jobs->source(),
             "top-level 'jobs' is the table of service jobs ([jobs.NAME]); did you mean to put "
             "it under [sync]?");
      ReadJobsSection(*this, *jobs, config.service_jobs);
    }
    return config;
  }
};

// A value that cannot be a connection string (no URL scheme, no key=value) and
// is safe to repeat in an error.
bool LooksLikeName(const std::string& value) {
  if (value.empty() || value.find("://") != std::string::npos ||
      value.find('=') != std::string::npos)
    return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

std::string Endpoint::ResolveUrl() const {
  if (url) return *url;
  if (IsTemplate())
    throw Error(ErrorKind::kUsage,
                fmt::format("{} '{}' is a preview template (url_template): only preview jobs can "
                            "write to it",
                            role, name));
  if (url_file) return ReadUrlFile(*url_file, fmt::format("{} '{}'", role, name));
  if (!url_env)
    throw Error(ErrorKind::kUsage,
                fmt::format("{} '{}' has none of url, url_env and url_file", role, name));
  const char* value = std::getenv(url_env->c_str());
  if (!value) {
    throw Error(ErrorKind::kUsage,
                fmt::format("{} '{}': environment variable {} is not set", role, name, *url_env));
  }
  // Secrets made from files (kubectl create secret --from-file) end in a newline.
  std::string text = value;
  const char* space = " \t\r\n";
  size_t begin = text.find_first_not_of(space);
  text = begin == std::string::npos ? ""
                                    : text.substr(begin, text.find_last_not_of(space) - begin + 1);
  if (text.empty())
    throw Error(ErrorKind::kUsage,
                fmt::format("{} '{}': environment variable {} is empty", role, name, *url_env));
  return text;
}

Config Config::Parse(const std::string& text, const std::string& origin) {
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& error) {
    throw Error(ErrorKind::kUsage, fmt::format("{}:{}: {}", origin, error.source().begin.line,
                                               RedactSecrets(std::string(error.description()))));
  }
#else
  toml::parse_result result = toml::parse(text, origin);
  if (!result) {
    const toml::parse_error& error = result.error();
    throw Error(ErrorKind::kUsage, fmt::format("{}:{}: {}", origin, error.source().begin.line,
                                               RedactSecrets(std::string(error.description()))));
  }
  toml::table root = std::move(result).table();
#endif
  return Reader(origin).Read(root);
}

Config Config::Load(const std::string& path) {
  auto fail = [&path](int error) {
    throw Error(ErrorKind::kUsage,
                fmt::format("cannot read config file {}: {}", path,
                            std::error_code(error, std::generic_category()).message()));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(errno);
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      fail(error);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return Parse(text, path);
}

Endpoint ResolveEndpoint(const std::map<std::string, Endpoint>& endpoints,
                         const std::string& value) {
  if (auto it = endpoints.find(value); it != endpoints.end()) return it->second;
  if (LooksLikeName(value)) {
    std::vector<std::string> known;
    for (const auto& [name, endpoint] : endpoints) known.push_back(name);
    throw Error(
        ErrorKind::kUsage,
        fmt::format("'{}' is neither a configured name ({}) nor a connection string", value,
                    known.empty() ? "none configured" : fmt::format("{}", fmt::join(known, ", "))));
  }
  Endpoint endpoint;
  endpoint.name = "command line";
  endpoint.url = value;
  return endpoint;
}

}  // namespace freshet
