// RunShadow: pick or start the shadow database, apply the migrations with
// MigrateUp, and diff the resulting schema with --compare-to's.
#include "apply/shadow.h"

#include <fmt/format.h>

#include "apply/applier.h"
#include "apply/local_cluster.h"
#include "apply_sql.h"
#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"
#include "schema/schema_model.h"

namespace freshet {
namespace {

constexpr const char* kShadowLabel = "shadow";

// Refuses (kRefused) a --shadow-url database that holds any relation: the
// shadow must start from scratch, and freshet never clears a database.
void RefuseUnlessEmpty(Connection& connection) {
  Result found = connection.Exec(sql::kShadowUserRelations);
  if (found.Rows() == 0) return;
  std::string names;
  for (int row = 0; row < found.Rows(); ++row) names += (row ? ", " : "") + found.Get(row, 1);
  int64_t total = found.GetInt(0, 0);
  if (total > found.Rows()) names += ", ...";
  throw Error(ErrorKind::kRefused,
              fmt::format("refusing to use {} as the shadow database: it is not empty ({} "
                          "table(s), view(s) or sequence(s): {}). Migrations are applied there "
                          "from scratch and freshet never clears a database: pass an empty "
                          "database as --shadow-url, or leave the option out to use a "
                          "throwaway local server",
                          connection.Describe(), total, names));
}

// The compared database's name, for "only in <name>" in drift items.
std::string CompareLabel(const std::string& url) {
  ConnInfo info = ConnInfo::Parse(url);
  auto db = info.values.find("dbname");
  if (db == info.values.end() || db->second.empty()) return "compared database";
  if (db->second == kShadowLabel) return info.Describe();  // never two sides named "shadow"
  return db->second;
}

}  // namespace

ShadowResult RunShadow(const ShadowOptions& options, std::ostream& log) {
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
    // Supabase's API roles, which migrations grant to and write policies for.
    Connection shadow = Connection::Open(shadow_url, kShadowLabel);
    shadow.Exec(sql::kShadowSupabaseRoles);
  }

  MigrateOptions migrate;
  migrate.db_url = shadow_url;
  migrate.dir = options.dir;
  migrate.layout = options.layout;
  migrate.include_all = true;
  ShadowResult result;
  result.applied = MigrateUp(migrate, log).applied;
  log << "shadow: applied " << result.applied.size() << " migration(s) from " << options.dir
      << "\n";
  if (!compared) return result;

  log << "shadow: comparing the schema with " << compared->Describe() << "\n";
  Connection shadow = Connection::Open(shadow_url, kShadowLabel);
  SchemaModel expected = ReadSchemaModel(shadow, kShadowLabel);
  SchemaModel actual = ReadSchemaModel(*compared, CompareLabel(*options.compare_to));
  if (expected.server_version / 10000 != actual.server_version / 10000)
    log << "shadow: note: the shadow server is PostgreSQL " << expected.server_version / 10000
        << " and the compared one " << actual.server_version / 10000
        << "; definitions printed differently by the two versions show as drift\n";
  result.drift = Diff(expected, actual);
  result.compared = true;
  log << "shadow: " << result.drift.size() << " difference(s)\n";
  return result;
}

}  // namespace freshet
