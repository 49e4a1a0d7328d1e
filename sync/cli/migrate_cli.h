// `freshet migrate ...`: lint, up, status, repair, shadow and new, on top of the
// applier library (apply/). Separate from cli.cc so each file stays about one
// family of commands.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apply/applier.h"
#include "copy/error.h"
#include "sync/cli/config.h"

namespace freshet {

struct MigrateArguments {
  std::string dir;
  std::string db_url;
  std::string format = "text";
  bool dry_run = false;
  bool include_all = false;
  std::vector<std::string> versions;
  std::string status;
  std::string shadow_url;
  std::string compare_to;
  std::string bootstrap;  // shadow: "supabase", "none" or empty (by the directory)
  std::string lock_timeout;
  std::string statement_timeout;
  std::string layout;    // --layout supabase|prisma
  std::string naming;    // --naming supabase|strict|datetime|sequential
  std::string name;      // `migrate new NAME`
  std::string base_dir;  // shadow --base-dir
  // migrate report
  std::string lint_json, shadow_json, changed, title = "freshet: migrations",
                                               merge_target = "production";
  std::vector<std::string> up_json;  // NAME=FILE
};

// The options of `migrate up`, `status`, `repair`, ... resolved over the
// config: flags win over [migrate]; the directory and layout are found as
// README says. With `need_db`, the database (--db-url or [migrate] db, a
// target name or a URL) is resolved now. The service's migrate-up and preview
// jobs use the same (sync/cli/migrate_jobs.cc). Throws Error (kUsage).
MigrateOptions ResolveMigrateOptions(const MigrateArguments& args, const Config& config,
                                     bool need_db);

// What `migrate up --format json` prints on failure: {"error": {"kind",
// "exit_code", "message", "sqlstate"?, "file"?, "statement"?, "line"?,
// "column"?, "locations"?}}.
nlohmann::json MigrateErrorJson(const Error& error);

// Adds `migrate` and its subcommands to `app`; returns the `migrate` command.
CLI::App* AddMigrateCommands(CLI::App& app, MigrateArguments& args);

// Runs the parsed migrate subcommand. `config_path` may be empty. Returns the
// exit status; throws Error for failures (the caller maps kinds to statuses).
int RunMigrate(CLI::App* migrate, const MigrateArguments& args, const std::string& config_path);

}  // namespace freshet
