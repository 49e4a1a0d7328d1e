// RunShadow: check the files, pick or start the shadow database, check its
// extensions, run the Supabase bootstrap, apply the migrations with
// MigrateUp, and diff the resulting schema with --compare-to's.
#include "apply/shadow.h"

#include <fmt/format.h>

#include <filesystem>

#include "apply/applier.h"
#include "apply/local_cluster.h"
#include "apply/shadow_extensions.h"
#include "apply/supabase_bootstrap.h"
#include "apply_sql.h"
#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"
#include "schema/patterns.h"
#include "schema/schema_model.h"

namespace freshet {
namespace {

constexpr const char* kShadowLabel = "shadow";
constexpr const char* kBaseLabel = "base";
constexpr size_t kNamedRelations = 5;

// Refuses (kRefused) a --shadow-url database that holds relations outside the
// platform schemas, or history rows of applied migrations: the shadow must
// start from scratch, and freshet never clears a database.
void RefuseUnlessEmpty(Connection& connection) {
  Result found = connection.Exec(sql::kShadowUserRelations);
  std::vector<std::string> names;
  for (int row = 0; row < found.Rows(); ++row)
    if (!IsPlatformSchema(found.Get(row, 0))) names.push_back(found.Get(row, 2));
  if (!names.empty()) {
    std::string listed;
    for (size_t i = 0; i < names.size() && i < kNamedRelations; ++i)
      listed += (i ? ", " : "") + names[i];
    if (names.size() > kNamedRelations) listed += ", ...";
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to use {} as the shadow database: it is not empty ({} "
                            "table(s), view(s) or sequence(s) outside Supabase's platform "
                            "schemas: {}). Migrations are applied there from scratch and "
                            "freshet never clears a database: pass an empty (or freshly "
                            "created Supabase) database as --shadow-url, or leave the option out "
                            "to use a throwaway local server",
                            connection.Describe(), names.size(), listed));
  }
  Result history = connection.Exec(sql::kShadowAppliedHistory);
  for (int row = 0; row < history.Rows(); ++row) {
    int64_t applied = history.GetInt(row, 1);
    if (applied == 0) continue;
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to use {} as the shadow database: migrations were applied "
                            "there already ({} row(s) in {}). The shadow applies every migration "
                            "from scratch: pass a database where none ran as --shadow-url, or "
                            "leave the option out to use a throwaway local server",
                            connection.Describe(), applied, history.Get(row, 0)));
  }
}

// The compared database's name, for "only in <name>" in drift items.
std::string CompareLabel(const std::string& url) {
  ConnInfo info = ConnInfo::Parse(url);
  auto db = info.values.find("dbname");
  if (db == info.values.end() || db->second.empty()) return "compared database";
  if (db->second == kShadowLabel) return info.Describe();  // never two sides named "shadow"
  return db->second;
}

const char* BootstrapName(ShadowBootstrap bootstrap) {
  return bootstrap == ShadowBootstrap::kSupabase ? "supabase" : "none";
}

// Extensions, then the bootstrap, in the shadow database at `url`; `server`
// names its server for errors.
bool PrepareShadow(const std::string& url, const std::string& server,
                   const std::vector<ExtensionUse>& extensions, ShadowBootstrap bootstrap,
                   std::ostream& log) {
  Connection shadow = Connection::Open(url, kShadowLabel);
  RefuseMissingExtensions(shadow, server.empty() ? "the server of " + shadow.Describe() : server,
                          extensions);
  if (bootstrap != ShadowBootstrap::kSupabase) return false;
  if (HoldsSupabasePlatform(shadow)) {
    log << "shadow: " << shadow.Describe()
        << " already holds Supabase's schemas (auth.users): the bootstrap is not run\n";
    return false;
  }
  RunSupabaseBootstrap(shadow, log);
  return true;
}

}  // namespace

ShadowBootstrap DefaultBootstrap(const std::string& dir) {
  // By the path as given (made absolute, so "." inside the directory counts),
  // not through symlinks: a project's supabase/migrations may be a link.
  std::error_code ignored;
  std::filesystem::path path = std::filesystem::absolute(dir, ignored);
  if (path.empty()) path = dir;
  path = path.lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // a trailing separator
  return path.filename() == "migrations" && path.parent_path().filename() == "supabase"
             ? ShadowBootstrap::kSupabase
             : ShadowBootstrap::kNone;
}

ShadowBootstrap ParseBootstrap(const std::string& text) {
  if (text == "supabase") return ShadowBootstrap::kSupabase;
  if (text == "none") return ShadowBootstrap::kNone;
  throw Error(ErrorKind::kUsage,
              fmt::format("unknown shadow bootstrap '{}': use supabase or none", text));
}

namespace {

// Extensions, bootstrap, then every migration of `dir` (include_all) into the
// database at `url`; returns the files applied.
std::vector<std::string> BuildFromScratch(const std::string& url, const std::string& server,
                                          const std::string& dir, const MigrationLayout& layout,
                                          const std::vector<ExtensionUse>& extensions,
                                          ShadowBootstrap bootstrap, bool* bootstrap_ran,
                                          std::ostream& log) {
  bool ran = PrepareShadow(url, server, extensions, bootstrap, log);
  if (bootstrap_ran) *bootstrap_ran = ran;
  MigrateOptions migrate;
  migrate.db_url = url;
  migrate.dir = dir;
  migrate.layout = layout;
  migrate.include_all = true;
  std::vector<std::string> applied = MigrateUp(migrate, log).applied;
  log << "shadow: applied " << applied.size() << " migration(s) from " << dir << "\n";
  return applied;
}

// The base database: `base_dir` from scratch, then `dir`'s pending files as
// `migrate up` runs them on merge. Returns the base's connection URL.
std::string BuildBase(LocalCluster& cluster, const ShadowOptions& options, ShadowResult& result,
                      const std::string& server, std::ostream& log) {
  MigrationSet base = CheckMigrationsRunnable(*options.base_dir, options.layout);
  cluster.CreateDatabase(kBaseLabel);
  std::string url = cluster.Url(kBaseLabel);
  log << "shadow: building what " << *options.base_dir << " builds (" << base.files.size()
      << " migration(s))\n";
  result.base_applied = BuildFromScratch(url, server, *options.base_dir, options.layout,
                                         CreatedExtensions(base), result.bootstrap, nullptr, log);
  MigrateOptions up;
  up.db_url = url;
  up.dir = options.dir;
  up.layout = options.layout;
  result.on_merge = MigrateUp(up, log).applied;
  log << "shadow: " << result.on_merge.size() << " migration(s) of " << options.dir
      << " applied on top, as on merge\n";
  return url;
}

}  // namespace

ShadowResult RunShadow(const ShadowOptions& options, std::ostream& log) {
  ShadowResult result;
  result.bootstrap = options.bootstrap.value_or(DefaultBootstrap(options.dir));
  if (options.base_dir && (options.shadow_url || options.compare_to))
    throw Error(ErrorKind::kUsage,
                "--base-dir builds both databases in the throwaway server: it cannot be combined "
                "with --shadow-url or --compare-to");
  // Everything that needs no server first: a bad name or a COMMIT in the
  // middle fails in milliseconds, not after initdb.
  MigrationSet set = CheckMigrationsRunnable(options.dir, options.layout);
  std::vector<ExtensionUse> extensions = CreatedExtensions(set);
  log << fmt::format("shadow: {} migration(s) in {} checked; bootstrap: {}\n", set.files.size(),
                     options.dir, BootstrapName(result.bootstrap));

  // Connect to the compared database first: a wrong URL fails before the
  // migrations have run, not after.
  std::optional<Connection> compared;
  if (options.compare_to) compared.emplace(Connection::Open(*options.compare_to, "compare-to"));

  std::optional<LocalCluster> cluster;
  std::string shadow_url;
  if (options.shadow_url) {
    Connection shadow = Connection::Open(*options.shadow_url, kShadowLabel);
    RefuseUnlessEmpty(shadow);
    shadow_url = *options.shadow_url;
    log << "shadow: using " << shadow.Describe() << "\n";
  } else {
    log << "shadow: starting a throwaway PostgreSQL server\n";
    cluster.emplace();
    log << "shadow: server in " << cluster->dir() << " on port " << cluster->port() << " ("
        << cluster->bin_dir() << ")\n";
    cluster->CreateDatabase(kShadowLabel);
    shadow_url = cluster->Url(kShadowLabel);
  }
  std::string server =
      cluster ? "the local PostgreSQL server (" + cluster->bin_dir() + ")" : std::string();
  result.applied = BuildFromScratch(shadow_url, server, options.dir, options.layout, extensions,
                                    result.bootstrap, &result.bootstrap_ran, log);
  std::string compare_url;
  if (options.base_dir) {
    compare_url = BuildBase(*cluster, options, result, server, log);
    compared.emplace(Connection::Open(compare_url, kBaseLabel));
  } else if (options.compare_to) {
    compare_url = *options.compare_to;
  }
  if (!compared) return result;

  log << "shadow: comparing the schema with " << compared->Describe() << "\n";
  Connection shadow = Connection::Open(shadow_url, kShadowLabel);
  SchemaModel expected = ReadSchemaModel(shadow, kShadowLabel);
  SchemaModel actual = ReadSchemaModel(*compared, CompareLabel(compare_url));
  if (expected.server_version / 10000 != actual.server_version / 10000)
    log << "shadow: note: the shadow server is PostgreSQL " << expected.server_version / 10000
        << " and the compared one " << actual.server_version / 10000
        << "; definitions printed differently by the two versions show as drift\n";
  if (result.bootstrap == ShadowBootstrap::kSupabase) {
    LeavePlatformObjectsOut(expected, actual);
    log << "shadow: Supabase's platform schemas (auth, storage, extensions, ...) are left out "
           "of the comparison, but for policies and triggers migrations add to their tables\n";
  }
  result.drift = Diff(expected, actual);
  result.compared = true;
  log << "shadow: " << result.drift.size() << " difference(s)\n";
  return result;
}

}  // namespace freshet
