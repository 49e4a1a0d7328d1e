#include "sync/cli/migrate_cli.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apply/applier.h"
#include "apply/lint.h"
#include "apply/migration_error.h"
#include "apply/migration_new.h"
#include "apply/shadow.h"
#include "copy/error.h"
#include "sync/cli/config.h"
#include "sync/cli/migrate_report.h"
#include "sync/cli/signal_stop.h"

namespace freshet {
namespace {

constexpr const char* kSupabaseDir = "supabase/migrations";
constexpr const char* kPrismaDir = "prisma/migrations";

Config LoadConfig(const std::string& config_path) {
  std::string path = config_path;
  if (path.empty()) {
    if (const char* env = std::getenv("FRESHET_CONFIG")) path = env;
  }
  return path.empty() ? Config() : Config::Load(path);
}

// --layout/--naming, else the config's, else the layout found in `dir`.
MigrationLayout ResolveLayout(const MigrateArguments& args, const Config& config,
                              const std::string& dir) {
  MigrationLayout layout;
  std::string name = !args.layout.empty() ? args.layout : config.migrate_layout.value_or("");
  layout.layout = name.empty() ? DetectLayout(dir) : ParseLayout(name);
  std::string naming = !args.naming.empty() ? args.naming : config.migrate_naming.value_or("");
  if (!naming.empty()) layout.naming = ParseNaming(naming);
  return layout;
}

// --dir, else [migrate] dir, else supabase/migrations (prisma/migrations for
// the Prisma layout, or when only that exists).
std::string ResolveDir(const MigrateArguments& args, const Config& config) {
  if (!args.dir.empty()) return args.dir;
  if (config.migrations_dir) return *config.migrations_dir;
  std::string layout = !args.layout.empty() ? args.layout : config.migrate_layout.value_or("");
  std::error_code ec;
  if (layout == "prisma" || (layout.empty() && !std::filesystem::exists(kSupabaseDir, ec) &&
                             std::filesystem::is_directory(kPrismaDir, ec)))
    return kPrismaDir;
  return kSupabaseDir;
}

LintOptions ResolveLintOptions(const Config& config) {
  LintOptions options;
  if (!config.api_schemas.empty()) options.api_schemas = config.api_schemas;
  options.profiles = config.lint_profiles;  // an unknown name: freshet::Lint throws kUsage
  options.grant_roles = config.lint_grant_roles;
  for (const auto& [rule, severity] : config.lint_rules) {
    bool known = false;
    for (const auto& candidate : LintRules()) known = known || candidate.id == rule;
    if (!known)
      throw Error(ErrorKind::kUsage,
                  fmt::format("config [lint.rules]: unknown rule '{}' (see `freshet migrate lint "
                              "--help` or README for the rule ids)",
                              rule));
    options.severity[rule] = ParseSeverity(severity);
  }
  return options;
}

int Lint(const MigrateArguments& args, const Config& config) {
  MigrateOptions options = ResolveMigrateOptions(args, config, false);
  MigrationSet set = LoadMigrations(options.dir, options.layout);
  for (const SkippedFile& skipped : set.skipped)  // the other skips are findings
    std::cerr << fmt::format("note: skipping {}: {}\n", skipped.file, skipped.reason);
  std::vector<Finding> findings = freshet::Lint(set, ResolveLintOptions(config));
  if (args.format == "json")
    std::cout << RenderLintJson(findings) << "\n";
  else if (args.format == "markdown")
    std::cout << RenderLintMarkdown(findings, set);
  else
    std::cout << RenderLintText(findings, set);
  return HasErrors(findings) ? static_cast<int>(ErrorKind::kPlan) : 0;
}

int Status(const MigrateArguments& args, const Config& config) {
  std::vector<VersionStatus> rows = MigrationStatus(ResolveMigrateOptions(args, config, true));
  if (args.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : rows)
      out.push_back({{"version", row.version},
                     {"name", row.name},
                     {"state", StateName(row.state)},
                     {"applied_at", row.applied_at ? nlohmann::json(*row.applied_at) : nullptr}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  size_t width = 16;  // Prisma's versions are whole directory names
  for (const auto& row : rows) width = std::max(width, row.version.size() + 1);
  std::cout << fmt::format("{:<{}} {:<16} {:<26} {}\n", "version", width, "state", "applied at",
                           "name");
  for (const auto& row : rows)
    std::cout << fmt::format("{:<{}} {:<16} {:<26} {}\n", row.version, width, StateName(row.state),
                             row.applied_at.value_or("-"), row.name);
  return 0;
}

int New(const MigrateArguments& args, const Config& config) {
  MigrateOptions options = ResolveMigrateOptions(args, config, false);
  std::cout << CreateMigration(options.dir, options.layout, args.name,
                               std::chrono::system_clock::now())
            << "\n";
  return 0;
}

const char* KindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kRuntime:
      return "runtime";
    case ErrorKind::kUsage:
      return "usage";
    case ErrorKind::kPlan:
      return "plan";
    case ErrorKind::kMismatch:
      return "mismatch";
    case ErrorKind::kRefused:
      return "refused";
  }
  return "runtime";
}

nlohmann::json LocationJson(const MigrationLocation& location) {
  nlohmann::json out = {{"file", location.file}};
  if (location.statement > 0) out["statement"] = location.statement;
  if (location.line > 0) out["line"] = location.line;
  if (location.column > 0) out["column"] = location.column;
  return out;
}

// Runs `command`; with --format json, a failure is also printed on stdout as
// MigrateErrorJson, with the fields of `done` beside "error" (what was done before
// it), before it propagates (the caller prints it on stderr and exits with its
// kind's status, as for text).
template <typename Command>
int WithJsonErrors(const MigrateArguments& args, Command command,
                   const nlohmann::json& done = nlohmann::json::object()) {
  try {
    return command();
  } catch (const Error& error) {
    if (args.format == "json") {
      nlohmann::json out = MigrateErrorJson(error);
      out.update(done);
      std::cout << out.dump(2) << std::endl;
    }
    throw;
  } catch (const std::exception& error) {
    if (args.format == "json") {
      nlohmann::json out = MigrateErrorJson(Error(ErrorKind::kRuntime, error.what()));
      out.update(done);
      std::cout << out.dump(2) << std::endl;
    }
    throw;
  }
}

int Shadow(const MigrateArguments& args, const Config& config) {
  ShadowOptions options;
  MigrateOptions resolved = ResolveMigrateOptions(args, config, false);
  options.dir = resolved.dir;
  options.layout = resolved.layout;
  if (!args.shadow_url.empty()) options.shadow_url = args.shadow_url;
  if (!args.compare_to.empty())
    options.compare_to = ResolveEndpoint(config.targets, args.compare_to).ResolveUrl();
  if (!args.bootstrap.empty()) options.bootstrap = ParseBootstrap(args.bootstrap);
  if (!args.base_dir.empty()) options.base_dir = args.base_dir;
  ShadowResult result = RunShadow(options, std::cerr);
  if (args.format == "json" && options.base_dir) {
    nlohmann::json out = {{"applied", result.applied},
                          {"base_applied", result.base_applied},
                          {"on_merge", result.on_merge},
                          {"drift", DriftJson(result.drift)}};
    std::cout << out.dump(2) << "\n";
  } else if (args.format == "json") {
    std::cout << DriftJson(result.drift).dump(2) << "\n";
  } else {
    std::cout << fmt::format("shadow: {} migrations applied cleanly\n", result.applied.size());
    if (options.base_dir)
      std::cout << fmt::format("on merge: {} migrations applied on top of what {} builds\n",
                               result.on_merge.size(), *options.base_dir);
    if (result.compared) std::cout << DriftText(result.drift);
  }
  return result.compared && !result.drift.empty() ? static_cast<int>(ErrorKind::kMismatch) : 0;
}

// `done` collects the files committed as they are ({"applied", "seconds"}),
// for the JSON of a failure.
int Up(const MigrateArguments& args, const Config& config, nlohmann::json& done) {
  MigrateOptions options = ResolveMigrateOptions(args, config, true);
  done = {{"applied", nlohmann::json::array()}, {"seconds", nlohmann::json::array()}};
  options.on_applied = [&done](const std::string& file, double seconds) {
    done["applied"].push_back(file);
    done["seconds"].push_back(seconds);
  };
  SignalStop signals;  // Ctrl-C cancels the statement under way; its file is rolled back
  options.stop = signals.token();
  UpResult result = MigrateUp(options, std::cerr);
  if (args.format == "json") {
    nlohmann::json out = {{"applied", result.applied}, {"database", result.database}};
    if (!options.dry_run) out["seconds"] = result.seconds;
    if (options.dry_run) {
      out["dry_run"] = true;
      out["sql"] = result.dry_run_text;
    }
    std::cout << out.dump(2) << "\n";
  } else if (options.dry_run) {
    std::cout << result.dry_run_text;
  }
  if (options.dry_run) return 0;
  if (result.applied.empty())
    std::cerr << "up to date: no pending migrations\n";
  else
    std::cerr << fmt::format("applied {} migrations\n", result.applied.size());
  return 0;
}

// The --format json output a command wrote to `path`: null when it wrote
// nothing parseable (it failed before it could report).
nlohmann::json ReadJsonOutput(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::kUsage, fmt::format("migrate report: cannot read {}", path));
  nlohmann::json parsed = nlohmann::json::parse(in, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json() : parsed;
}

int Report(const MigrateArguments& args) {
  MigrationReportInputs inputs;
  inputs.title = args.title;
  inputs.merge_target = args.merge_target;
  if (!args.lint_json.empty()) inputs.lint = ReadJsonOutput(args.lint_json);
  if (!args.shadow_json.empty()) inputs.shadow = ReadJsonOutput(args.shadow_json);
  for (const std::string& up : args.up_json) {
    size_t equals = up.find('=');
    if (equals == std::string::npos || equals == 0)
      throw Error(
          ErrorKind::kUsage,
          fmt::format("migrate report --up '{}': expected NAME=FILE, e.g. staging=up.json", up));
    inputs.ups.emplace_back(up.substr(0, equals), ReadJsonOutput(up.substr(equals + 1)));
  }
  if (!args.changed.empty()) {
    std::ifstream in(args.changed);
    if (!in)
      throw Error(ErrorKind::kUsage, fmt::format("migrate report: cannot read {}", args.changed));
    inputs.changed.emplace();
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) inputs.changed->push_back(line);
  }
  std::cout << RenderMigrationReport(inputs).markdown;
  return 0;
}

}  // namespace

MigrateOptions ResolveMigrateOptions(const MigrateArguments& args, const Config& config,
                                     bool need_db) {
  MigrateOptions options;
  options.dir = ResolveDir(args, config);
  options.layout = ResolveLayout(args, config, options.dir);
  options.dry_run = args.dry_run;
  options.include_all = args.include_all;
  if (!args.lock_timeout.empty())
    options.lock_timeout = args.lock_timeout;
  else if (config.migrate_lock_timeout)
    options.lock_timeout = *config.migrate_lock_timeout;
  if (!args.statement_timeout.empty())
    options.statement_timeout = args.statement_timeout;
  else if (config.migrate_statement_timeout)
    options.statement_timeout = *config.migrate_statement_timeout;
  if (need_db) {
    std::string db = !args.db_url.empty() ? args.db_url : config.migrate_db.value_or("");
    if (db.empty())
      throw Error(ErrorKind::kUsage,
                  "no database: pass --db-url URL (or set [migrate] db in the config)");
    try {
      options.db_url = ResolveEndpoint(config.targets, db).ResolveUrl();
    } catch (const Error& error) {
      throw Error(ErrorKind::kUsage, error.what());
    }
  }
  return options;
}

// {"error": {"kind", "exit_code", "message", "sqlstate"?, "file"?,
// "statement"?, "line"?, "column"?, "locations"?}}: the first location's
// fields at the top, every location in "locations" when there are several.
nlohmann::json MigrateErrorJson(const Error& error) {
  nlohmann::json out = {{"kind", KindName(error.kind())},
                        {"exit_code", static_cast<int>(error.kind())},
                        {"message", error.what()}};
  if (!error.sqlstate().empty()) out["sqlstate"] = error.sqlstate();
  if (const auto* located = dynamic_cast<const MigrationError*>(&error)) {
    const std::vector<MigrationLocation>& locations = located->locations();
    if (!locations.empty()) out.update(LocationJson(locations.front()));
    if (locations.size() > 1) {
      nlohmann::json all = nlohmann::json::array();
      for (const MigrationLocation& location : locations) all.push_back(LocationJson(location));
      out["locations"] = std::move(all);
    }
  }
  return {{"error", std::move(out)}};
}

CLI::App* AddMigrateCommands(CLI::App& app, MigrateArguments& args) {
  CLI::App* migrate = app.add_subcommand("migrate", "Lint and apply schema migrations");
  migrate->require_subcommand(1);
  auto add_dir = [&](CLI::App* command) {
    command->add_option("--dir", args.dir,
                        "Migrations directory (default [migrate] dir, supabase/migrations, or "
                        "prisma/migrations when only that exists)");
    command
        ->add_option("--layout", args.layout,
                     "supabase (files) or prisma (<dir>/migration.sql); default: detected")
        ->check(CLI::IsMember({"supabase", "prisma"}));
    command
        ->add_option("--naming", args.naming,
                     "File naming profile: supabase (default), strict, datetime, sequential")
        ->check(CLI::IsMember({"supabase", "strict", "datetime", "sequential"}));
  };
  auto add_db = [&](CLI::App* command) {
    command->add_option("--db-url", args.db_url,
                        "Database: a connection string or a target name from the config");
  };
  auto add_timeouts = [&](CLI::App* command) {
    command->add_option("--lock-timeout", args.lock_timeout,
                        "lock_timeout set before each file (default 5s); a file may override it");
    command->add_option("--statement-timeout", args.statement_timeout,
                        "statement_timeout set before each file (default 15min)");
  };

  CLI::App* lint = migrate->add_subcommand("lint", "Check names, syntax and dangerous operations");
  add_dir(lint);
  lint->add_option("--format", args.format, "text, json or markdown")
      ->check(CLI::IsMember({"text", "json", "markdown"}));

  CLI::App* up = migrate->add_subcommand("up", "Apply pending migrations");
  add_dir(up);
  add_db(up);
  add_timeouts(up);
  up->add_flag("--dry-run", args.dry_run, "Print what would run; change nothing");
  up->add_flag("--include-all", args.include_all,
               "Also apply pending files older than the newest applied one");
  up->add_option("--format", args.format,
                 "text or json (json: {\"applied\": [...]}, or {\"error\": {...}} on failure)")
      ->check(CLI::IsMember({"text", "json"}));

  CLI::App* status = migrate->add_subcommand("status", "Show every version and its state");
  add_dir(status);
  add_db(status);
  status->add_option("--format", args.format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));

  CLI::App* repair =
      migrate->add_subcommand("repair", "Mark versions applied or reverted without executing them");
  add_dir(repair);
  add_db(repair);
  repair->add_option("versions", args.versions, "Versions to mark")->required();
  repair->add_option("--status", args.status, "applied or reverted")
      ->required()
      ->check(CLI::IsMember({"applied", "reverted"}));

  CLI::App* shadow = migrate->add_subcommand(
      "shadow", "Apply every migration to a throwaway database and compare schemas");
  add_dir(shadow);
  shadow->add_option("--shadow-url", args.shadow_url,
                     "A database to use instead of a local throwaway cluster: empty, or "
                     "holding only Supabase's platform schemas");
  shadow->add_option("--compare-to", args.compare_to,
                     "Compare the resulting schema with this database; exit 4 on drift");
  shadow
      ->add_option("--bootstrap", args.bootstrap,
                   "supabase: create Supabase's roles and schemas first (the default for a "
                   ".../supabase/migrations directory); none: a bare database")
      ->check(CLI::IsMember({"supabase", "none"}));
  shadow->add_option("--base-dir", args.base_dir,
                     "A pull request's check: also build this directory (the base branch's "
                     "migrations), apply --dir's new files on top as `up` would on merge, and "
                     "compare with --dir built from scratch; exit 4 when they differ");
  shadow
      ->add_option("--format", args.format,
                   "text or json (json: the drift, or {\"error\": {...}} on failure)")
      ->check(CLI::IsMember({"text", "json"}));
  CLI::App* report = migrate->add_subcommand(
      "report",
      "Markdown for a pull-request comment or a job summary, from the --format json output of "
      "lint, shadow --base-dir and up (exits 0 whatever it reports: the checks' own exit "
      "statuses fail the job)");
  report->add_option("--lint", args.lint_json, "`migrate lint --format json` output");
  report->add_option("--shadow", args.shadow_json,
                     "`migrate shadow --base-dir DIR --format json` output");
  report->add_option("--up", args.up_json,
                     "NAME=FILE: `migrate up --format json` output for the environment NAME "
                     "(repeatable)");
  report->add_option("--changed", args.changed,
                     "File listing the pull request's changed files, one per line");
  report->add_option("--title", args.title, "Heading (default \"freshet: migrations\")");
  report->add_option("--merge-target", args.merge_target,
                     "Where merged migrations go (default production)");
  CLI::App* create = migrate->add_subcommand(
      "new", "Create the next migration file, named for the layout; prints its path");
  add_dir(create);
  create->add_option("name", args.name, "What the migration does, e.g. add_profiles")->required();
  return migrate;
}

int RunMigrate(CLI::App* migrate, const MigrateArguments& args, const std::string& config_path) {
  Config config = LoadConfig(config_path);
  std::string command = migrate->get_subcommands().front()->get_name();
  if (command == "lint") return Lint(args, config);
  if (command == "status") return Status(args, config);
  if (command == "shadow") return WithJsonErrors(args, [&] { return Shadow(args, config); });
  if (command == "up") {
    nlohmann::json done = nlohmann::json::object();
    return WithJsonErrors(
        args, [&] { return Up(args, config, done); }, done);
  }
  if (command == "new") return New(args, config);
  if (command == "report") return Report(args);
  if (command == "repair") {
    MigrateOptions options = ResolveMigrateOptions(args, config, true);
    MigrateRepair(options, args.versions, args.status == "applied");
    std::cerr << fmt::format("marked {} {}\n", args.status, fmt::join(args.versions, ", "));
    return 0;
  }
  throw Error(ErrorKind::kUsage, "unknown migrate command: " + command);
}

}  // namespace freshet
