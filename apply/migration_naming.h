// How migrations are laid out on disk and named: the layouts (a directory of
// `.sql` files as the Supabase CLI reads it, or Prisma's directory of
// `<name>/migration.sql`) and, for the file layout, the naming profiles a
// project picks. Pure functions over names; no I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace freshet {

enum class Layout {
  kSupabase,  // `dir/<version>_<name>.sql`, history in supabase_migrations.schema_migrations
  kPrisma,    // `dir/<version>_<name>/migration.sql`, history in _prisma_migrations
};

enum class Naming {
  kSupabase,    // `<digits>_<anything>.sql`, what the Supabase CLI accepts (default)
  kStrict,      // `YYYYMMDDHHMMSS_lowercase_a_z0_9.sql`, a valid UTC timestamp
  kDateTime,    // `YYYYMMDD_HHMMSS_description.sql`, a valid UTC date and time
  kSequential,  // `0001_description.sql`, every number of one width
};

struct MigrationLayout {
  Layout layout = Layout::kSupabase;
  Naming naming = Naming::kSupabase;
};

// "supabase"/"prisma" and "supabase"/"strict"/"datetime"/"sequential"; the
// parsers throw Error(kUsage) listing the accepted words.
Layout ParseLayout(const std::string& text);
Naming ParseNaming(const std::string& text);
const char* LayoutName(Layout layout);
const char* NamingName(Naming naming);

// What a file name means under a naming profile.
struct ParsedName {
  std::string version;  // the ordering key recorded in history ("20240101000000", "0001")
  std::string name;     // the description ("init"); may be empty under kSupabase
};

// The version and name of `filename` under `naming`, or nullopt when the name
// does not fit the profile.
std::optional<ParsedName> ParseMigrationName(const std::string& filename, Naming naming);

// The pattern of a profile as a sentence for messages:
// "<digits>_<name>.sql (what the Supabase CLI accepts)".
std::string NamingPattern(Naming naming);

// True for `YYYYMMDDHHMMSS_description.sql` (the strict profile).
bool IsValidMigrationName(const std::string& filename);

// `description` made safe for a file name: lowercase, runs of anything but
// a-z0-9 turned into one '_', trimmed of '_'; empty when nothing is left.
std::string Slug(const std::string& description);

// The UTC time as "YYYYMMDDHHMMSS".
std::string UtcTimestamp(std::chrono::system_clock::time_point when);

}  // namespace freshet
