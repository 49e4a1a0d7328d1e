// RunSupabaseBootstrap and the platform filter of drift checks. The SQL
// itself lives in apply/sql/supabase_bootstrap.sql.
#include "apply/supabase_bootstrap.h"

#include <fmt/format.h>

#include <iterator>
#include <map>

#include "apply_sql.h"
#include "copy/connection.h"
#include "copy/error.h"
#include "schema/patterns.h"

namespace freshet {
namespace {

// "schema" of a "schema.name..." model key (schema names hold no dot in
// practice; the model's keys are unquoted).
std::string SchemaOf(const std::string& key) { return key.substr(0, key.find('.')); }

template <typename Map>
void EraseInPlatformSchemas(Map& objects) {
  for (auto it = objects.begin(); it != objects.end();)
    it = IsPlatformSchema(SchemaOf(it->first)) ? objects.erase(it) : std::next(it);
}

// The schema of the function a trigger definition executes
// ("... EXECUTE FUNCTION public.handle_new_user()" -> "public"); empty when
// the definition has no such clause.
std::string TriggerFunctionSchema(const std::string& definition) {
  static constexpr std::string_view kExecute = "EXECUTE FUNCTION ";
  size_t start = definition.find(kExecute);
  if (start == std::string::npos) return {};
  start += kExecute.size();
  if (start < definition.size() && definition[start] == '"') {
    std::string schema;
    for (size_t i = start + 1; i < definition.size(); ++i) {
      if (definition[i] != '"') {
        schema += definition[i];
      } else if (i + 1 < definition.size() && definition[i + 1] == '"') {
        schema += '"';
        ++i;
      } else {
        return schema;
      }
    }
    return schema;
  }
  size_t end = definition.find_first_of(".(", start);
  return end == std::string::npos ? std::string() : definition.substr(start, end - start);
}

// A platform table reduced to what migrations add to it: policies, and
// triggers that call a function outside the platform schemas.
TableModel UserAdditionsOnly(const TableModel& table) {
  TableModel kept;
  kept.kind = table.kind;
  kept.policies = table.policies;
  for (const auto& [name, trigger] : table.triggers)
    if (!IsPlatformSchema(TriggerFunctionSchema(trigger.definition))) kept.triggers[name] = trigger;
  return kept;
}

}  // namespace

std::string_view SupabaseBootstrapSql() { return sql::kSupabaseBootstrap; }

bool HoldsSupabasePlatform(Connection& connection) {
  return connection.Exec("SELECT pg_catalog.to_regclass('auth.users') IS NOT NULL").Get(0, 0) ==
         "t";
}

void RunSupabaseBootstrap(Connection& connection, std::ostream& log) {
  log << fmt::format(
             "shadow: creating Supabase's roles and schemas (freshet supabase bootstrap v{})",
             kSupabaseBootstrapVersion)
      << std::endl;
  try {
    connection.Exec("BEGIN");
    // Not the user's business: "role ... is already a member", and
    // CREATE PUBLICATION's warning about wal_level on a shadow server.
    connection.Exec("SET LOCAL client_min_messages = error");
    connection.Exec(sql::kSupabaseBootstrap);
    connection.Exec("COMMIT");
  } catch (const Error& error) {
    try {
      connection.Exec("ROLLBACK");
    } catch (const Error&) {
    }
    throw Error(fmt::format("the Supabase bootstrap (v{}) failed in {}: {}\nit needs a superuser "
                            "and a database without Supabase's schemas; pass --bootstrap none "
                            "to apply the migrations without it",
                            kSupabaseBootstrapVersion, connection.Describe(), error.what()),
                error.sqlstate(), ErrorKind::kRuntime);
  }
}

void LeavePlatformObjectsOut(SchemaModel& expected, SchemaModel& actual) {
  for (SchemaModel* model : {&expected, &actual}) {
    for (auto it = model->schemas.begin(); it != model->schemas.end();)
      it = IsPlatformSchema(*it) ? model->schemas.erase(it) : std::next(it);
    for (auto it = model->extensions.begin(); it != model->extensions.end();)
      it = IsPlatformSchema(it->second) ? model->extensions.erase(it) : std::next(it);
    EraseInPlatformSchemas(model->functions);
    EraseInPlatformSchemas(model->enums);
    EraseInPlatformSchemas(model->sequences);
    // Grants in the platform schemas are the platform version's own.
    EraseInPlatformSchemas(model->schema_grants);
    EraseInPlatformSchemas(model->relation_grants);
    EraseInPlatformSchemas(model->column_grants);
    EraseInPlatformSchemas(model->function_grants);
    for (auto it = model->default_privileges.begin(); it != model->default_privileges.end();)
      it = IsPlatformSchema(it->first.schema) ? model->default_privileges.erase(it) : std::next(it);
  }
  // Platform tables on both sides keep what migrations add to them; the
  // others are the platform's own (its version's tables, or the bootstrap's
  // compared with a database that is no Supabase database).
  std::map<std::string, TableModel> expected_platform, actual_platform;
  for (auto it = expected.tables.begin(); it != expected.tables.end();) {
    if (!IsPlatformSchema(SchemaOf(it->first))) {
      ++it;
      continue;
    }
    auto other = actual.tables.find(it->first);
    if (other != actual.tables.end()) {
      expected_platform[it->first] = UserAdditionsOnly(it->second);
      actual_platform[it->first] = UserAdditionsOnly(other->second);
    }
    it = expected.tables.erase(it);
  }
  EraseInPlatformSchemas(actual.tables);
  expected.tables.merge(expected_platform);
  actual.tables.merge(actual_platform);
}

}  // namespace freshet
