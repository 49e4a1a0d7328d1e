#include "sync/cli/cli.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stop_token>
#include <thread>

#include "copy/conninfo.h"
#include "sync/cli/config.h"
#include "sync/cli/mask_cli.h"
#include "sync/cli/migrate_cli.h"
#include "sync/cli/serve_cli.h"
#include "sync/cli/signal_stop.h"
#include "sync/cli/snapshot_cli.h"
#include "sync/cli/sync_options.h"
#include "sync/cli/terminal_progress.h"
#include "sync/cli/version.h"
#include "sync/engine/sync_run.h"

namespace freshet {
namespace {

using Arguments = SyncArguments;

void AddEndpointOptions(CLI::App* command, Arguments& args, bool with_from) {
  if (with_from)
    command->add_option("--from", args.from,
                        "Source: a connection string (postgres://... or key=value) or a source "
                        "name from the config");
  command->add_option("--to", args.to,
                      "Target: a connection string or a target name from the config");
}

void AddSelectionOptions(CLI::App* command, Arguments& args) {
  command->add_option("--include", args.include,
                      "Tables to sync, schema.table with * wildcards (repeatable); platform "
                      "schemas such as auth only when named");
  command->add_option("--exclude", args.exclude, "Tables to leave out (repeatable)");
  command->add_option("--jobs,-j", args.jobs, "Parallel table streams (default 4)")
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--fk-outside", args.fk_outside,
                   "Foreign keys to tables outside the sync: error (default) or not-valid")
      ->check(CLI::IsMember({"error", "not-valid"}));
}

void AddReportOptions(CLI::App* command, Arguments& args) {
  command->add_option("--report", args.report_path, "Write the report as JSON to this file");
  command->add_option("--summary", args.summary_path,
                      "Write the report as Markdown to this file (CI job summary)");
}

void WriteReports(const Arguments& args, const RunReport& report) {
  std::cerr << RenderText(report);
  if (!args.report_path.empty())
    WriteFileAtomically(args.report_path, RenderJson(report).dump(2) + "\n");
  if (!args.summary_path.empty()) WriteFileAtomically(args.summary_path, RenderMarkdown(report));
}

// The CLI's reports, written when a run ends, however it ends. A report that
// cannot be written fails a run that succeeded (ThrowIfFailed); a failed run
// keeps its own error.
class ReportFiles final : public RunObserver {
 public:
  explicit ReportFiles(const Arguments& args) : args_(args) {}
  void Log(LogLevel, std::string_view) override {}
  void RunEnded(const RunReport& report) override {
    try {
      WriteReports(args_, report);
    } catch (const Error& error) {
      failure_ = error;
    }
  }
  void ThrowIfFailed() const {
    if (failure_) throw *failure_;
  }

 private:
  const Arguments& args_;
  std::optional<Error> failure_;
};

int Run(const std::string& command, const Arguments& args) {
  if (command == "repair") {
    SyncOptions options = ResolveSyncOptions(args, false);
    RestoreOutcome outcome =
        RunRepair(options.target_url, options.jobs, std::chrono::seconds(args.repair_wait));
    if (outcome.restored.empty() && outcome.problems.empty())
      std::cerr << "nothing to repair: no interrupted run left changes on "
                << ConnInfo::Parse(options.target_url).Describe() << "\n";
    for (const auto& line : outcome.restored) std::cerr << "restored: " << line << "\n";
    for (const auto& line : outcome.problems) std::cerr << "problem: " << line << "\n";
    return outcome.problems.empty() ? 0 : static_cast<int>(ErrorKind::kRuntime);
  }
  SyncOptions options = ResolveSyncOptions(args, true);
  if (command == "plan") {
    bool pending = false;
    SignalStop signals;
    Plan plan = PlanOnly(options, &pending, signals.token());
    std::cout << DescribePlan(plan);
    if (pending)
      std::cout << "note: the target holds changes of an interrupted run; sync (or repair) "
                   "restores them first\n";
    return plan.ok() ? 0 : static_cast<int>(ErrorKind::kPlan);
  }
  SignalStop signals;
  LoggerObserver log_lines(spdlog::default_logger());
  TerminalProgress progress(isatty(STDERR_FILENO) && !args.quiet, log_lines);
  ReportFiles reports(args);
  ObserverFanout observer({&log_lines, &progress, &reports});
  options.observer = &observer;
  RunReport report;
  if (command == "sync") {
    RunSync(options, report, signals.token());
  } else {
    options.incremental = {};  // verify compares whole tables; [sync] incremental is for sync
    RunVerify(options, report, signals.token());
  }
  reports.ThrowIfFailed();
  return 0;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"freshet: refresh development databases from production, fast and safely",
               "freshet"};
  app.require_subcommand(1);
  app.set_version_flag("--version", fmt::format("freshet {} (git {})", kVersion, kGitRevision),
                       "Print the version and the git revision, then exit");
  app.fallthrough();  // --config, -v and -q work after the subcommand too
  Arguments args;
  app.add_option("--config", args.config_path, "freshet.toml with sources, targets and defaults");
  app.add_flag("--verbose,-v", args.verbose, "Debug logging");
  app.add_flag("--quiet,-q", args.quiet, "Warnings and errors only");

  CLI::App* sync = app.add_subcommand("sync", "Copy the source's data into the target");
  CLI::App* plan = app.add_subcommand("plan", "Show what sync would do, changing nothing");
  CLI::App* verify = app.add_subcommand("verify", "Compare source and target without copying");
  CLI::App* repair =
      app.add_subcommand("repair", "Restore what an interrupted run left set aside on a target");
  for (CLI::App* command : {sync, plan, verify}) {
    AddEndpointOptions(command, args, true);
    AddSelectionOptions(command, args);
  }
  AddEndpointOptions(repair, args, false);
  repair
      ->add_option("--wait", args.repair_wait,
                   "Wait up to SECONDS for a run still writing to the target to end (default 0: "
                   "fail at once)")
      ->check(CLI::NonNegativeNumber);
  for (CLI::App* command : {sync, verify}) AddReportOptions(command, args);
  for (CLI::App* command : {sync, plan}) {
    command->add_flag("--allow-remote-target", args.allow_remote_target,
                      "Allow a target that is not on this machine");
    command->add_option("--lock-timeout", args.lock_timeout,
                        "How long to wait for table locks on the target (default 30s)");
    command
        ->add_option("--strategy", args.strategy,
                     "auto (default: bulk when the role owns the tables), bulk or ordered")
        ->check(CLI::IsMember({"auto", "bulk", "ordered"}));
    CLI::Option* incremental = command->add_flag_callback(
        "--incremental", [&args] { args.incremental = true; },
        "Move only what changed since the last run (watermark, diff or full per table; "
        "`freshet plan --incremental` shows which)");
    command
        ->add_flag_callback(
            "--no-incremental", [&args] { args.incremental = false; },
            "A full sync, although the config asks for incremental")
        ->excludes(incremental);
    command->add_option("--full", args.full,
                        "Incremental: refresh these tables whole this run (schema.table, * "
                        "wildcards; repeatable)");
    command->add_option("--diff", args.diff,
                        "Incremental: compare these tables whole with the source this run and "
                        "copy what differs (repeatable)");
    command->add_option("--chunk-size", args.chunk_mb,
                        "Read tables larger than this many MB as parallel ctid ranges "
                        "(PostgreSQL 14+ source; default: from the total size and --jobs; "
                        "0: never split)");
  }
  sync->add_flag("--verify", args.verify, "Compare every table after the load");
  sync->add_flag("--mask-key-ephemeral", args.mask_key_ephemeral,
                 "Mask with a random key used once (throwaway targets): values differ from run "
                 "to run");
  sync->add_option("--retries", args.retries,
                   "Retry a stream cut by a lost connection this many times, from the same "
                   "snapshot, with backoff from 1 s (default 3; 0: never)");
  CLI::App* mask = app.add_subcommand("mask", "Masking of personal data: check coverage");
  mask->require_subcommand(1);
  CLI::App* mask_check = mask->add_subcommand(
      "check", "List copied columns that look personal and have no [mask] rule (exit 3 if any)");
  AddEndpointOptions(mask_check, args, true);
  AddSelectionOptions(mask_check, args);
  MigrateArguments migrate_args;
  CLI::App* migrate = AddMigrateCommands(app, migrate_args);
  SnapshotArguments snapshot_args;
  CLI::App* snapshot = AddSnapshotCommands(app, snapshot_args);
  ServeArguments serve_args;
  AddServeCommand(app, serve_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : static_cast<int>(ErrorKind::kUsage);
  }

  auto logger = spdlog::stderr_color_mt("freshet");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%H:%M:%S %^%l%$ %v");
  spdlog::set_level(args.verbose ? spdlog::level::debug
                    : args.quiet ? spdlog::level::warn
                                 : spdlog::level::info);
  std::string command = app.get_subcommands().front()->get_name();
  try {
    if (command == "migrate") return RunMigrate(migrate, migrate_args, args.config_path);
    if (command == "mask") return RunMaskCheck(args);
    if (command == "serve") return RunServe(serve_args, args.config_path);
    if (command == "snapshot") {
      SignalStop signals;
      return RunSnapshot(snapshot, snapshot_args, args.config_path, args.quiet, signals.token());
    }
    return Run(command, args);
  } catch (const Error& error) {
    spdlog::error("{}", RedactSecrets(error.what()));
    return static_cast<int>(error.kind());
  } catch (const std::exception& error) {
    spdlog::error("{}", RedactSecrets(error.what()));
    return static_cast<int>(ErrorKind::kRuntime);
  }
}

}  // namespace freshet
