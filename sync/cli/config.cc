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
#include "sync/cli/url_file.h"

namespace freshet {
namespace {

constexpr std::array<std::string_view, 6> kTopKeys = {"sync",    "sources", "targets",
                                                      "migrate", "lint",    "tables"};
constexpr std::array<std::string_view, 6> kMigrateKeys = {
    "dir", "db", "lock_timeout", "statement_timeout", "layout", "naming"};
constexpr std::array<std::string_view, 4> kLintKeys = {"api_schemas", "rules", "profiles",
                                                       "grant_roles"};
constexpr std::array<std::string_view, 9> kSyncKeys = {"from",         "to",          "jobs",
                                                       "include",      "exclude",     "fk_outside",
                                                       "lock_timeout", "incremental", "deletes"};
constexpr std::array<std::string_view, 3> kSourceKeys = {"url", "url_env", "url_file"};
constexpr std::array<std::string_view, 6> kTargetKeys = {
    "url", "url_env", "url_file", "allow_writes", "protected", "incremental"};
constexpr std::array<std::string_view, 3> kTableKeys = {"watermark", "mode", "deletes"};

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// A key as written in a dotted path: bare when it can be, else quoted.
std::string PathPart(std::string_view key) {
  bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? std::string(key) : fmt::format("\"{}\"", key);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Validates the parsed document into a Config; every error names the origin,
// the line and the dotted key path. Values are never echoed (a URL may hold a
// password).
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void Fail(const toml::source_region& where, const std::string& message) const {
    if (where.begin.line > 0)
      throw Error(ErrorKind::kUsage, fmt::format("{}:{}: {}", origin_, where.begin.line, message));
    throw Error(ErrorKind::kUsage, fmt::format("{}: {}", origin_, message));
  }

  // Rejects keys of `table` not in `allowed`, suggesting a near miss.
  void CheckKeys(const toml::table& table, const std::string& path,
                 std::span<const std::string_view> allowed) const {
    for (const auto& [key, node] : table) {
      std::string_view name = key.str();
      if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
      std::string full = path.empty() ? PathPart(name) : path + "." + PathPart(name);
      std::string hint;
      for (std::string_view candidate : allowed)
        if (EditDistance(name, candidate) <= 2 && name.size() > 2)
          hint = fmt::format(" (did you mean '{}'?)", candidate);
      if (path.empty() && std::find(kSyncKeys.begin(), kSyncKeys.end(), name) != kSyncKeys.end())
        hint = " (did you mean to put it under [sync]?)";
      const toml::source_region& where = key.source().begin.line > 0 ? key.source() : node.source();
      Fail(where, fmt::format("unknown key '{}'{}; expected one of: {}", full, hint,
                              fmt::join(allowed, ", ")));
    }
  }

  template <typename T>
  const toml::value<T>& Value(const toml::node& node, const std::string& path,
                              std::string_view expected) const {
    const toml::value<T>* value = node.as<T>();
    if (!value)
      Fail(node.source(),
           fmt::format("'{}' must be {}, not {}", path, expected, TypeName(node.type())));
    return *value;
  }

  const toml::table& Table(const toml::node& node, const std::string& path) const {
    const toml::table* table = node.as_table();
    if (!table)
      Fail(node.source(), fmt::format("'{}' must be a table, not {}", path, TypeName(node.type())));
    return *table;
  }

  std::string NonEmptyString(const toml::node& node, const std::string& path) const {
    const std::string& text = Value<std::string>(node, path, "a string").get();
    if (text.empty()) Fail(node.source(), fmt::format("'{}' must not be empty", path));
    return text;
  }

  std::vector<std::string> Strings(const toml::node& node, const std::string& path) const {
    const toml::array* array = node.as_array();
    if (!array)
      Fail(node.source(),
           fmt::format("'{}' must be an array of strings, not {}", path, TypeName(node.type())));
    std::vector<std::string> out;
    for (size_t i = 0; i < array->size(); ++i)
      out.push_back(NonEmptyString(*array->get(i), fmt::format("{}[{}]", path, i)));
    return out;
  }

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

  // "freshet.toml:12: ", or "freshet.toml: " when the line is unknown.
  std::string Where(const toml::source_region& where) const {
    return where.begin.line > 0 ? fmt::format("{}:{}: ", origin_, where.begin.line)
                                : origin_ + ": ";
  }

  // [tables."schema.table"]: watermark, mode and deletes per table or
  // pattern. toml++ keeps a table's keys sorted by name, so the entries are
  // put back in the order they appear in the file.
  void ReadTables(const toml::node& node, Config& config) const {
    std::vector<std::pair<toml::source_position, std::pair<std::string, TableSyncSettings>>> read;
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
    std::stable_sort(read.begin(), read.end(), [](const auto& a, const auto& b) {
      return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
    });
    for (auto& entry : read) config.tables.push_back(std::move(entry.second));
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

  std::string Duration(const toml::node& node, const std::string& path) const {
    std::string value = NonEmptyString(node, path);
    if (!IsDuration(value))
      Fail(node.source(),
           fmt::format("'{}' must be a duration such as \"30s\", \"500ms\" or \"2min\"", path));
    return value;
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

  std::string OneOf(const toml::node& node, const std::string& path,
                    std::initializer_list<std::string_view> words) const {
    std::string value = NonEmptyString(node, path);
    if (std::find(words.begin(), words.end(), value) == words.end())
      Fail(node.source(), fmt::format("'{}' must be one of {}", path, fmt::join(words, ", ")));
    return value;
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
      int given = int(endpoint.url.has_value()) + int(endpoint.url_env.has_value()) +
                  int(endpoint.url_file.has_value());
      if (given > 1)
        Fail(table.source(),
             fmt::format("{} '{}' has more than one of url, url_env and url_file; set only one",
                         role, name));
      if (given == 0)
        Fail(table.source(), fmt::format("{} '{}' needs url, url_env or url_file", role, name));
      if (const toml::node* flag = table.get("allow_writes"))
        endpoint.allow_writes = Value<bool>(*flag, path + ".allow_writes", "a boolean").get();
      if (const toml::node* flag = table.get("protected"))
        endpoint.protected_target = Value<bool>(*flag, path + ".protected", "a boolean").get();
      if (const toml::node* flag = table.get("incremental"))
        endpoint.incremental = Value<bool>(*flag, path + ".incremental", "a boolean").get();
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
    return config;
  }

 private:
  // PostgreSQL-style duration: a number with an optional unit.
  static bool IsDuration(std::string_view text) {
    size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == 0) return false;
    if (i < text.size() && text[i] == '.') {
      size_t start = ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      if (i == start) return false;
    }
    while (i < text.size() && text[i] == ' ') ++i;
    std::string_view unit = text.substr(i);
    return unit.empty() || unit == "us" || unit == "ms" || unit == "s" || unit == "min" ||
           unit == "h" || unit == "d";
  }

  std::string origin_;
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
