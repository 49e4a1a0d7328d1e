// The Supabase bootstrap of a shadow database (apply/sql/supabase_bootstrap.sql):
// what a Supabase project's database holds before its first migration (roles,
// the extensions, auth and storage schemas, grants, search_path), created by
// `freshet migrate shadow` before the migrations and never by a migration
// file. Also how a database that already is a Supabase database is
// recognised, and which objects of the schema model are the platform's, so a
// drift check leaves them out.
#pragma once

#include <ostream>
#include <string_view>

#include "schema/schema_model.h"

namespace freshet {

class Connection;

// The `vN` of the SQL file's first line, `-- freshet supabase bootstrap vN`.
inline constexpr int kSupabaseBootstrapVersion = 1;

// The bootstrap's SQL text (its first line names kSupabaseBootstrapVersion).
std::string_view SupabaseBootstrapSql();

// True when the database already holds Supabase's platform schemas (it has
// auth.users): a Supabase database, or one the bootstrap ran in.
bool HoldsSupabasePlatform(Connection& connection);

// Runs the bootstrap in one transaction. Needs a superuser (it creates
// roles, cluster-wide, when they are missing). Throws Error (kRuntime) naming
// the bootstrap, the server's error and the way around it.
void RunSupabaseBootstrap(Connection& connection, std::ostream& log);

// For a drift check of a shadow built with the bootstrap: removes from both
// models what belongs to the platform, so that Supabase's own objects (of
// whatever version the compared database runs) are not drift. Gone: every
// schema for which IsPlatformSchema (schema/patterns.h) holds, with its
// tables, functions, enums, sequences and grants (default privileges in it
// included), and the extensions installed in one. Kept: what migrations add to platform tables
// present on both sides, their policies (storage.objects) and triggers calling a function outside
// the platform schemas (a trigger on auth.users calling a public function).
void LeavePlatformObjectsOut(SchemaModel& expected, SchemaModel& actual);

}  // namespace freshet
