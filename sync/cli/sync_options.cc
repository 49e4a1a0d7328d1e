#include "sync/cli/sync_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>

#include "copy/error.h"
#include "schema/patterns.h"

namespace freshet {
namespace {

void CheckPatterns(const std::vector<std::string>& patterns, const std::string& flag) {
  for (const std::string& pattern : patterns) {
    try {
      TablePattern::Parse(pattern);
    } catch (const Error& error) {
      throw Error(ErrorKind::kUsage, fmt::format("{} {}: {}", flag, pattern, error.what()));
    }
  }
}

SyncOptions ResolveOrThrow(const SyncArguments& args, bool need_source) {
  Config config;
  std::string config_path = args.config_path;
  if (config_path.empty()) {
    if (const char* env = std::getenv("FRESHET_CONFIG")) config_path = env;
  }
  if (!config_path.empty()) config = Config::Load(config_path);

  SyncOptions options;
  std::string from = !args.from.empty() ? args.from : config.from.value_or("");
  std::string to = !args.to.empty() ? args.to : config.to.value_or("");
  if (need_source && from.empty())
    throw Error(ErrorKind::kUsage, "no source: pass --from URL (or set [sync] from in the config)");
  if (to.empty())
    throw Error(ErrorKind::kUsage, "no target: pass --to URL (or set [sync] to in the config)");
  if (need_source) {
    Endpoint source = ResolveEndpoint(config.sources, from);
    options.source_url = source.ResolveUrl();
  }
  Endpoint target = ResolveEndpoint(config.targets, to);
  options.target_url = target.ResolveUrl();
  options.safety.target_name = target.name;
  options.safety.protected_target = target.protected_target;
  options.safety.allow_writes = target.allow_writes;
  options.safety.allow_remote_target = args.allow_remote_target;

  options.jobs = args.jobs.value_or(config.jobs.value_or(4));
  options.plan.includes = args.include.empty() ? config.include : args.include;
  options.plan.excludes = args.exclude.empty() ? config.exclude : args.exclude;
  std::string fk_outside = args.fk_outside.value_or(config.fk_outside.value_or("error"));
  options.plan.fk_outside =
      fk_outside == "not-valid" ? FkOutsidePolicy::kNotValid : FkOutsidePolicy::kError;
  options.plan.strategy = args.strategy == "bulk"      ? StrategyChoice::kBulk
                          : args.strategy == "ordered" ? StrategyChoice::kOrdered
                                                       : StrategyChoice::kAuto;
  options.plan.jobs = options.jobs;
  if (args.chunk_mb) options.plan.chunk_bytes = *args.chunk_mb <= 0 ? -1 : *args.chunk_mb << 20;
  options.lock_timeout = args.lock_timeout.value_or(config.lock_timeout.value_or("30s"));
  options.verify = args.verify;
  if (args.retries) options.retry.attempts = std::max(0, *args.retries) + 1;
  // Tests shorten the wait between attempts; users keep the default.
  if (const char* backoff = std::getenv("FRESHET_RETRY_BACKOFF_MS"))
    options.retry.backoff = std::chrono::milliseconds(std::atoi(backoff));
  options.incremental = ResolveIncremental(args, config, target);
  options.safety.masked_target = target.masked;
  options.plan.masks = ResolveMasks(config, args.mask_key_ephemeral);
  options.plan.subset = config.subset;
  return options;
}

}  // namespace

IncrementalOptions ResolveIncremental(const SyncArguments& args, const Config& config,
                                      const Endpoint& target) {
  IncrementalOptions options;
  options.enabled =
      args.incremental.value_or(config.incremental.value_or(false) || target.incremental);
  if (!options.enabled && (!args.full.empty() || !args.diff.empty())) {
    std::string flag = args.full.empty() ? "--diff" : "--full";
    throw Error(ErrorKind::kUsage,
                fmt::format("{} chooses a table's mode in an incremental sync; add --incremental "
                            "(or set incremental = true under [sync] or the target){}",
                            flag, args.incremental == false ? ", and drop --no-incremental" : ""));
  }
  CheckPatterns(args.full, "--full");
  CheckPatterns(args.diff, "--diff");
  for (const std::string& pattern : args.full)
    if (std::find(args.diff.begin(), args.diff.end(), pattern) != args.diff.end())
      throw Error(
          ErrorKind::kUsage,
          fmt::format("{} is given to both --full and --diff; choose one mode for it", pattern));
  options.tables = config.tables;
  options.full = args.full;
  options.diff = args.diff;
  options.deletes = config.deletes.value_or(DeletePolicy::kPropagate);
  return options;
}

MaskSettings ResolveMasks(const Config& config, bool ephemeral) {
  MaskSettings settings;
  settings.rules = config.mask.rules;
  settings.strict = config.mask.strict;
  if (ephemeral) {
    settings.key = std::make_shared<const MaskKey>(MaskKey::Ephemeral());
    return settings;
  }
  // A configured source wins: key_env, then key_file; FRESHET_MASK_KEY
  // only when the config names neither (a stray variable must not swap the
  // key the config chose).
  std::string variable = config.mask.key_env.value_or("FRESHET_MASK_KEY");
  bool from_env = config.mask.key_env || !config.mask.key_file;
  try {
    if (const char* secret = std::getenv(variable.c_str()); from_env && secret && *secret) {
      settings.key = std::make_shared<const MaskKey>(MaskKey::FromSecret(secret));
    } else if (config.mask.key_file && !config.mask.key_env) {
      std::ifstream file(*config.mask.key_file, std::ios::binary);
      if (!file)
        throw Error(fmt::format("cannot read the mask key file {}", *config.mask.key_file));
      std::string secret((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
      settings.key = std::make_shared<const MaskKey>(MaskKey::FromSecret(secret));
    } else if (config.mask.key_env) {
      throw Error(fmt::format("[mask] key_env names {}, which is not set", variable));
    }
  } catch (const Error& error) {
    throw Error(
        ErrorKind::kUsage,
        fmt::format("mask key ({}): {}",
                    from_env ? "$" + variable : "file " + *config.mask.key_file, error.what()));
  }
  return settings;
}

SyncOptions ResolveSyncOptions(const SyncArguments& args, bool need_source) {
  try {
    return ResolveOrThrow(args, need_source);
  } catch (const Error& error) {
    throw Error(ErrorKind::kUsage, error.what());
  }
}

}  // namespace freshet
