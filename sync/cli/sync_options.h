// The arguments of `sync`, `plan`, `verify` and `repair`, and their
// resolution over freshet.toml into SyncOptions: flags win over [sync]
// defaults; names resolve to configured endpoints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sync/cli/config.h"
#include "sync/engine/sync_run.h"

namespace freshet {

struct SyncArguments {
  std::string config_path;
  std::string from, to;
  std::optional<int> jobs;
  std::vector<std::string> include, exclude;
  bool verify = false;
  std::string report_path, summary_path;
  std::optional<std::string> fk_outside;
  std::optional<std::string> lock_timeout;
  std::string strategy = "auto";
  std::optional<int64_t> chunk_mb;
  std::optional<int> retries;
  bool allow_remote_target = false;
  bool verbose = false, quiet = false;
  // --incremental / --no-incremental; unset: from the config.
  std::optional<bool> incremental;
  std::vector<std::string> full;    // --full PATTERN
  std::vector<std::string> diff;    // --diff PATTERN
  bool mask_key_ephemeral = false;  // --mask-key-ephemeral
  int repair_wait = 0;              // repair --wait SECONDS
};

// Reads the config (--config or $FRESHET_CONFIG) and resolves the arguments
// over it. Every failure (unreadable config, unknown name, unset variable,
// contradictory flags) is an Error of kind kUsage.
SyncOptions ResolveSyncOptions(const SyncArguments& args, bool need_source);

// The incremental part: enabled by --incremental, [sync] incremental or the
// target's `incremental = true` (--no-incremental wins over both). --full and
// --diff need it enabled; their patterns must parse and not repeat each
// other. Throws Error (kUsage) naming the flag.
IncrementalOptions ResolveIncremental(const SyncArguments& args, const Config& config,
                                      const Endpoint& target);

// The masking part: [mask]'s rules, and the key from the environment
// variable (key_env, default FRESHET_MASK_KEY), key_file, or a random one
// with --mask-key-ephemeral. No key leaves settings.key null: planning
// works, a sync refuses. Throws Error (kUsage) on an unreadable key file or
// a short key, naming the variable or file, never the key.
MaskSettings ResolveMasks(const Config& config, bool ephemeral);

}  // namespace freshet
