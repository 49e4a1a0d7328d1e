// `freshet migrate shadow`: applies every migration of a directory from
// scratch to a throwaway database, so a broken migration fails here rather
// than in CI or production, and optionally compares the schema that results
// with a real database (--compare-to) to list drift: changes made by hand, or
// migrations edited after they were applied.
//
// The shadow database is, by default, a database `shadow` in a LocalCluster
// (apply/local_cluster.h) that exists for the duration of the call, so it
// needs no server of the user's. In that cluster the roles every Supabase
// project has and migrations often name (`anon`, `authenticated`,
// `service_role`; NOLOGIN) are created first; nothing else Supabase provides
// (the auth, storage or extensions schemas, auth.uid(), ...) is: migrations
// that need it must create it, as a stub migration can.
//
// With --shadow-url the given database is used instead, and it must be empty
// (no tables, views or sequences outside the system schemas, freshet's and
// the Supabase CLI's history included): otherwise RunShadow refuses before
// writing anything. The migrations stay applied there afterwards.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "apply/migration_naming.h"
#include "apply/schema_diff.h"

namespace freshet {

struct ShadowOptions {
  std::string dir = "supabase/migrations";
  std::optional<std::string> shadow_url;  // an empty database to use instead of a local cluster
  std::optional<std::string> compare_to;  // a database to compare the result with
  MigrationLayout layout;
};

struct ShadowResult {
  std::vector<std::string> applied;  // filenames, in the order applied
  std::vector<DriftItem> drift;      // with compare_to: shadow vs that database
  bool compared = false;             // compare_to was given and the comparison ran
};

// Applies every migration of options.dir to the shadow database (MigrateUp
// with include_all), then, with compare_to, diffs the two schemas (the
// compared side is labelled with its database name). Drift is returned, not
// thrown: the CLI exits 4 when it is non-empty. Throws Error: MigrateUp's
// (file, statement, line, server error) when a migration fails, kRefused when
// shadow_url is not empty, kRuntime when the local cluster cannot start or a
// database cannot be read. Progress goes to `log`.
ShadowResult RunShadow(const ShadowOptions& options, std::ostream& log);

}  // namespace freshet
