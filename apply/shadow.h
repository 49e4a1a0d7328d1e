// `freshet migrate shadow`: applies every migration of a directory from
// scratch to a throwaway database, so a broken migration fails here rather
// than in CI or production, and optionally compares the schema that results
// with a real database (--compare-to) to list drift: changes made by hand, or
// migrations edited after they were applied.
//
// Order, each step failing before the next starts:
//  1. every file is checked as `up` would before running it (names, syntax,
//     transaction control: CheckMigrationsRunnable), with no server;
//  2. the shadow database is picked or started: by default a database
//     `shadow` in a LocalCluster (apply/local_cluster.h) that exists for the
//     duration of the call; with --shadow-url the given database, which must
//     hold nothing outside the platform schemas (schema/patterns.h) and no
//     applied migrations, else RunShadow refuses before writing anything;
//  3. every extension the migrations CREATE must be available on that server
//     (apply/shadow_extensions.h), else one refusal lists them all;
//  4. with the Supabase bootstrap (apply/supabase_bootstrap.h), Supabase's
//     roles, schemas and grants are created, unless the database already
//     holds them (a Supabase database given as --shadow-url);
//  5. the migrations are applied (MigrateUp with include_all); with
//     --shadow-url they stay applied there afterwards.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "apply/migration_naming.h"
#include "apply/schema_diff.h"

namespace freshet {

enum class ShadowBootstrap {
  kNone,      // the migrations run on a bare database
  kSupabase,  // apply/sql/supabase_bootstrap.sql first
};

// kSupabase when `dir` is a Supabase project's `.../supabase/migrations`,
// kNone otherwise.
ShadowBootstrap DefaultBootstrap(const std::string& dir);

// "supabase" or "none"; throws Error (kUsage) for anything else.
ShadowBootstrap ParseBootstrap(const std::string& text);

struct ShadowOptions {
  std::string dir = "supabase/migrations";
  std::optional<std::string> shadow_url;  // a database to use instead of a local cluster
  std::optional<std::string> compare_to;  // a database to compare the result with
  std::optional<ShadowBootstrap> bootstrap = std::nullopt;  // unset: DefaultBootstrap(dir)
  MigrationLayout layout = {};
  // What main builds (a pull request's check): this directory's migrations
  // are applied to a second database of the throwaway server, then `dir`'s
  // pending files on top of them as `migrate up` would on merge (without
  // include_all: a file older than the newest applied one is refused), and
  // the schema that results is compared with `dir` applied from scratch.
  std::optional<std::string> base_dir = std::nullopt;
};

struct ShadowResult {
  std::vector<std::string> applied;       // filenames, in the order applied
  std::vector<DriftItem> drift;           // with compare_to or base_dir: shadow vs that database
  bool compared = false;                  // compare_to/base_dir was given and the comparison ran
  std::vector<std::string> base_applied;  // with base_dir: its files, applied first
  std::vector<std::string> on_merge;      // with base_dir: `dir`'s files up applied on top
  ShadowBootstrap bootstrap = ShadowBootstrap::kNone;  // the one in effect
  bool bootstrap_ran = false;  // false with kSupabase when the database already held it
};

// Runs the steps above (with base_dir, steps 2-5 for the base database too,
// then `migrate up` of `dir` onto it), then, with compare_to or base_dir, diffs the two schemas
// (the compared side is labelled with its database name); with the Supabase bootstrap the
// platform's own objects are left out of the comparison (LeavePlatformObjectsOut). Drift is
// returned, not thrown: the CLI exits 4 when it is non-empty. Throws Error:
// CheckMigrationsRunnable's and MigrateUp's (a MigrationError naming file, statement and line),
// kRefused when shadow_url holds user relations or applied migrations or an extension is missing,
// kRuntime when the local cluster cannot start, the bootstrap fails or a database cannot be read.
// Progress goes to `log`.
ShadowResult RunShadow(const ShadowOptions& options, std::ostream& log);

}  // namespace freshet
