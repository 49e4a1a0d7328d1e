// `freshet snapshot ...`: capture, restore, inspect and verify, on top of
// sync/snapshot_capture.h and sync/snapshot_restore.h. Separate from cli.cc so
// each file stays about one family of commands.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "sync/cli/config.h"
#include "sync/snapshot/snapshot_capture.h"
#include "sync/snapshot/snapshot_restore.h"

namespace freshet {

struct SnapshotArguments {
  std::string from;
  std::string out;
  std::string dir;
  std::vector<std::string> to;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::optional<int> jobs;
  int level = 1;
  int threads = 0;
  std::optional<int64_t> chunk_mb;
  std::string strategy = "auto";
  std::string fk_outside = "error";
  std::string lock_timeout = "30s";
  bool allow_remote_target = false;
  bool verify = false;
  std::string targets_order = "auto";  // auto, together or in-turn
  bool one_by_one = false;             // the same as targets_order = in-turn
  std::string report_path;
  std::string summary_path;         // restore --summary: Markdown, one section per target
  bool mask = false;                // capture --mask: [mask] rules required
  bool mask_key_ephemeral = false;  // capture --mask-key-ephemeral
};

// The options of `snapshot capture` and `snapshot restore` resolved over the
// config: flags win over [sync] defaults, names resolve to [sources] and
// [targets] (their URLs read now). The service's snapshot jobs use the same
// (sync/cli/snapshot_jobs.cc). Throw Error (kUsage) for a missing source or
// target, an unknown name or an unset variable. `observer` is left unset.
CaptureOptions ResolveCaptureOptions(const SnapshotArguments& args, const Config& config);
RestoreOptions ResolveRestoreOptions(const SnapshotArguments& args, const Config& config);

// RunRestore, and on a failure that stops every target (an Error other than
// TargetsFailed) every report already begun is marked failed with its
// message before it propagates.
void RestoreAndReport(const RestoreOptions& options, std::vector<RunReport>& reports,
                      std::stop_token stop);

// Adds `snapshot` and its subcommands to `app`; returns the `snapshot` command.
CLI::App* AddSnapshotCommands(CLI::App& app, SnapshotArguments& args);

// Runs the parsed snapshot subcommand. `config_path` may be empty. Returns the
// exit status; throws Error for failures (the caller maps kinds to statuses).
int RunSnapshot(CLI::App* snapshot, const SnapshotArguments& args, const std::string& config_path,
                bool quiet, std::stop_token stop);

}  // namespace freshet
