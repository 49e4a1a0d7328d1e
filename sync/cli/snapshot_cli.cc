#include "sync/cli/snapshot_cli.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <iostream>

#include "sync/cli/sync_options.h"
#include "sync/cli/terminal_progress.h"
#include "sync/engine/report.h"

namespace freshet {
namespace {

Config LoadConfig(const std::string& config_path) {
  std::string path = config_path;
  if (path.empty())
    if (const char* env = std::getenv("FRESHET_CONFIG")) path = env;
  return path.empty() ? Config{} : Config::Load(path);
}

void AddSelection(CLI::App* command, SnapshotArguments& args) {
  command->add_option("--include", args.include,
                      "Tables, schema.table with * wildcards (repeatable); platform schemas such "
                      "as auth only when named");
  command->add_option("--exclude", args.exclude, "Tables to leave out (repeatable)");
  command->add_option("--jobs,-j", args.jobs, "Parallel streams (default 4)")
      ->check(CLI::PositiveNumber);
}

PlanOptions SelectionOptions(const SnapshotArguments& args, const Config& config) {
  PlanOptions options;
  options.includes = args.include.empty() ? config.include : args.include;
  options.excludes = args.exclude.empty() ? config.exclude : args.exclude;
  options.jobs = args.jobs.value_or(config.jobs.value_or(4));
  return options;
}

int Capture(const SnapshotArguments& args, const Config& config, bool quiet, std::stop_token stop) {
  CaptureOptions options = ResolveCaptureOptions(args, config);
  LoggerObserver log_lines(spdlog::default_logger());
  TerminalProgress progress(isatty(STDERR_FILENO) && !quiet, log_lines);
  ObserverFanout observer({&log_lines, &progress});
  options.observer = &observer;
  SnapshotManifest manifest = RunCapture(options, stop);
  std::cerr << DescribeSnapshot(manifest);
  return 0;
}

int Restore(const SnapshotArguments& args, const Config& config, bool quiet, std::stop_token stop) {
  RestoreOptions options = ResolveRestoreOptions(args, config);
  LoggerObserver log_lines(spdlog::default_logger());
  TerminalProgress progress(isatty(STDERR_FILENO) && !quiet, log_lines);
  ObserverFanout observer({&log_lines, &progress});
  options.observer = &observer;
  std::vector<RunReport> reports;
  auto write_reports = [&] {
    nlohmann::json all = nlohmann::json::array();
    std::string markdown;
    for (auto& report : reports) {
      if (report.target.empty()) continue;
      std::cerr << RenderText(report);
      all.push_back(RenderJson(report));
      markdown += RenderMarkdown(report) + "\n";
    }
    if (!args.report_path.empty()) WriteFileAtomically(args.report_path, all.dump(2) + "\n");
    if (!args.summary_path.empty()) WriteFileAtomically(args.summary_path, markdown);
  };
  try {
    RestoreAndReport(options, reports, stop);
  } catch (const Error&) {  // each report says how its target fared
    write_reports();
    throw;
  }
  write_reports();
  return 0;
}

}  // namespace

CaptureOptions ResolveCaptureOptions(const SnapshotArguments& args, const Config& config) {
  std::string from = !args.from.empty() ? args.from : config.from.value_or("");
  if (from.empty()) throw Error(ErrorKind::kUsage, "no source: pass --from URL");
  CaptureOptions options;
  options.source_url = ResolveEndpoint(config.sources, from).ResolveUrl();
  options.out = args.out;
  options.plan = SelectionOptions(args, config);
  if (args.chunk_mb) options.plan.chunk_bytes = *args.chunk_mb <= 0 ? -1 : *args.chunk_mb << 20;
  options.jobs = options.plan.jobs;
  options.compression.level = args.level;
  options.compression.threads = args.threads;
  options.plan.masks = ResolveMasks(config, args.mask_key_ephemeral);
  options.plan.subset = config.subset;
  if (args.mask && !options.plan.masks.any())
    throw Error(ErrorKind::kUsage,
                "--mask needs [mask] rules in the config (none were found), so that the snapshot "
                "holds masked data only");
  return options;
}

RestoreOptions ResolveRestoreOptions(const SnapshotArguments& args, const Config& config) {
  RestoreOptions options;
  options.dir = args.dir;
  std::vector<std::string> targets = args.to;
  if (targets.empty() && config.to) targets.push_back(*config.to);
  if (targets.empty()) throw Error(ErrorKind::kUsage, "no target: pass --to URL (repeatable)");
  for (const auto& value : targets) {
    Endpoint endpoint = ResolveEndpoint(config.targets, value);
    SafetyOptions safety;
    safety.target_name = endpoint.name;
    safety.protected_target = endpoint.protected_target;
    safety.allow_writes = endpoint.allow_writes;
    safety.allow_remote_target = args.allow_remote_target;
    safety.masked_target = endpoint.masked;
    options.targets.push_back({endpoint.ResolveUrl(), safety});
  }
  options.plan = SelectionOptions(args, config);
  options.plan.strategy = args.strategy == "bulk"      ? StrategyChoice::kBulk
                          : args.strategy == "ordered" ? StrategyChoice::kOrdered
                                                       : StrategyChoice::kAuto;
  options.plan.fk_outside =
      args.fk_outside == "not-valid" ? FkOutsidePolicy::kNotValid : FkOutsidePolicy::kError;
  options.jobs = options.plan.jobs;
  options.verify = args.verify;
  options.order = args.one_by_one || args.targets_order == "in-turn" ? TargetOrder::kInTurn
                  : args.targets_order == "together"                 ? TargetOrder::kTogether
                                                                     : TargetOrder::kAuto;
  options.lock_timeout = args.lock_timeout;
  if (!config.mask.rules.empty()) {
    options.required_rules = RuleSetFingerprint(config.mask.rules);
    try {
      options.plan.masks = ResolveMasks(config, args.mask_key_ephemeral);
    } catch (const Error& error) {  // a masked snapshot restores without the key
      options.plan.masks.rules = config.mask.rules;
      options.plan.masks.strict = config.mask.strict;
      options.mask_key_problem = error.what();
    }
  }
  return options;
}

void RestoreAndReport(const RestoreOptions& options, std::vector<RunReport>& reports,
                      std::stop_token stop) {
  try {
    RunRestore(options, reports, stop);
  } catch (const TargetsFailed&) {  // each report says how its target fared
    throw;
  } catch (const Error& error) {
    for (auto& report : reports) {
      report.ok = false;
      report.error = error.what();
    }
    throw;
  }
}

CLI::App* AddSnapshotCommands(CLI::App& app, SnapshotArguments& args) {
  CLI::App* snapshot = app.add_subcommand(
      "snapshot", "Capture the source into zstd-compressed files; restore them into targets");
  snapshot->require_subcommand(1);
  CLI::App* capture = snapshot->add_subcommand("capture", "Capture the source into a directory");
  capture->add_option("--from", args.from, "Source: a connection string or a source name");
  capture->add_option("--out", args.out, "Snapshot directory to create (must not exist)")
      ->required();
  AddSelection(capture, args);
  capture
      ->add_option("--level", args.level,
                   "zstd level (default 1: on COPY data it compresses as well as 3 with about half "
                   "the CPU; see README)")
      ->check(CLI::Range(-7, 19));
  capture
      ->add_option("--zstd-threads", args.threads,
                   "zstd worker threads per stream (default 0: compress in the stream's "
                   "thread)")
      ->check(CLI::Range(0, 64));
  capture->add_option("--chunk-size", args.chunk_mb,
                      "Split tables larger than this many MB into ctid ranges (0: never)");
  capture->add_flag("--mask", args.mask,
                    "Require the config's [mask] rules (they apply whenever the config has them)");
  capture->add_flag("--mask-key-ephemeral", args.mask_key_ephemeral,
                    "Mask with a random key used once: values differ from other captures");

  CLI::App* restore =
      snapshot->add_subcommand("restore", "Restore a snapshot into one or more targets");
  restore->add_option("dir", args.dir, "Snapshot directory")->required();
  restore->add_option("--to", args.to, "Target: a connection string or a target name (repeatable)");
  AddSelection(restore, args);
  restore->add_flag("--verify", args.verify, "Compare every table with the snapshot afterwards");
  restore
      ->add_option("--targets", args.targets_order,
                   "Several --to: auto (default: targets on different servers at once, each file "
                   "read once for all; targets sharing a server in turn), together (all at once) "
                   "or in-turn (one after another)")
      ->check(CLI::IsMember({"auto", "together", "in-turn"}));
  restore->add_flag("--one-by-one", args.one_by_one, "The same as --targets in-turn");
  restore->add_flag("--mask-key-ephemeral", args.mask_key_ephemeral,
                    "An unmasked snapshot restored with the config's [mask] rules: mask with a "
                    "random key used once (values differ from other runs)");
  restore->add_flag("--allow-remote-target", args.allow_remote_target,
                    "Allow targets that are not on this machine");
  restore->add_option("--lock-timeout", args.lock_timeout,
                      "How long to wait for table locks on a target (default 30s)");
  restore
      ->add_option("--strategy", args.strategy,
                   "auto (default: bulk when the role owns the tables), bulk or ordered")
      ->check(CLI::IsMember({"auto", "bulk", "ordered"}));
  restore
      ->add_option("--fk-outside", args.fk_outside,
                   "Foreign keys to tables outside the restore: error (default) or not-valid")
      ->check(CLI::IsMember({"error", "not-valid"}));
  restore->add_option("--report", args.report_path,
                      "Write the reports (one per target) as a JSON array to this file");
  restore->add_option("--summary", args.summary_path,
                      "Write the reports as Markdown to this file (CI job summary)");

  CLI::App* inspect = snapshot->add_subcommand("inspect", "Show what a snapshot holds");
  inspect->add_option("dir", args.dir, "Snapshot directory")->required();
  CLI::App* verify =
      snapshot->add_subcommand("verify", "Check every file of a snapshot against its manifest");
  verify->add_option("dir", args.dir, "Snapshot directory")->required();
  verify->add_option("--jobs,-j", args.jobs, "Files checked in parallel (default 4)")
      ->check(CLI::PositiveNumber);
  return snapshot;
}

int RunSnapshot(CLI::App* snapshot, const SnapshotArguments& args, const std::string& config_path,
                bool quiet, std::stop_token stop) {
  std::string command = snapshot->get_subcommands().front()->get_name();
  if (command == "inspect") {
    std::cout << DescribeSnapshot(ReadManifest(args.dir));
    return 0;
  }
  if (command == "verify") {
    std::vector<std::string> problems = VerifySnapshot(args.dir, args.jobs.value_or(4));
    for (const auto& problem : problems) std::cout << "problem: " << problem << "\n";
    if (!problems.empty()) {
      std::cout << fmt::format("snapshot {}: {} file(s) do not match the manifest\n", args.dir,
                               problems.size());
      return static_cast<int>(ErrorKind::kMismatch);
    }
    std::cout << fmt::format("snapshot {}: every file matches the manifest\n", args.dir);
    return 0;
  }
  Config config;
  try {
    config = LoadConfig(config_path);
  } catch (const Error& error) {
    throw Error(ErrorKind::kUsage, error.what());
  }
  return command == "capture" ? Capture(args, config, quiet, stop)
                              : Restore(args, config, quiet, stop);
}

}  // namespace freshet
