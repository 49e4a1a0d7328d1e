// `freshet snapshot restore` (a snapshot into one or more targets) and
// `freshet snapshot verify` (every file against the manifest).
//
// A restore does what `sync` does, with the snapshot as the source: the plan
// is built from the manifest's catalog and each target's own, so shared
// columns map by name, foreign keys order the load or are set aside
// (journaled), and the bulk strategy applies. Before anything is written to
// any target, every file is checked against the manifest (present, same size,
// same checksum) and every target is planned; a damaged snapshot or a target
// it cannot map onto is an error with every target untouched.
//
// Several targets run in one task graph, at most `jobs` streams at a time on
// each database server (told apart by the servers themselves, so two URLs of
// one server count once). Targets on different servers restore at once, each
// file decompressed once and streamed into all of them; targets sharing a
// server restore in turn, a later one taking only the workers the earlier
// ones leave idle (TargetOrder::kAuto, the default; measured in README).
#pragma once

#include <filesystem>
#include <stop_token>
#include <string>
#include <vector>

#include "sync/engine/plan.h"
#include "sync/engine/report.h"
#include "sync/engine/run_observer.h"
#include "sync/engine/safety.h"
#include "sync/engine/target_run.h"  // TargetsFailed
#include "sync/snapshot/snapshot_manifest.h"

namespace freshet {

struct SnapshotTarget {
  std::string url;
  SafetyOptions safety;
};

enum class TargetOrder {
  kAuto,      // at once across servers, in turn on a shared server
  kTogether,  // every target at once, each file streamed into all of them
  kInTurn,    // one target after another (later ones fill idle workers)
};

struct RestoreOptions {
  std::filesystem::path dir;
  std::vector<SnapshotTarget> targets;
  int jobs = 4;
  PlanOptions plan;  // includes, excludes, strategy, fk_outside, masks
  bool verify = false;
  TargetOrder order = TargetOrder::kAuto;  // several targets
  std::string lock_timeout = "30s";
  // The config's [mask] rules (RuleSetFingerprint), when it has any: a
  // snapshot masked by other rules is refused; one masked by the same rules
  // restores as it is; an unmasked one is masked while it is restored, by
  // `plan.masks` (rules and key), exactly as a masked sync would mask it.
  std::string required_rules;
  // Why `plan.masks.key` could not be read, when it could not (the key
  // itself is never in it): only a restore that masks needs the key.
  std::string mask_key_problem;
  RunObserver* observer = nullptr;  // none: log through spdlog's default logger
};

// Restores; fills one report per target as it goes (so a failure still
// reports). Throws TargetsFailed (sync/engine/target_run.h) once writing has
// begun and some targets failed, or Error for a failure before
// anything was written or one that stops every target (a stop request, a
// snapshot file that cannot be read): kUsage for a damaged or unreadable snapshot, kPlan
// when a target cannot take it, kRefused for safety rules, kMismatch when
// --verify finds a difference, kRuntime otherwise.
void RunRestore(const RestoreOptions& options, std::vector<RunReport>& reports,
                std::stop_token stop);

// Checks every file of the snapshot in `dir`: size and checksum of the file,
// then decompressed: size and checksum of the stream, and the rows and their
// digest. Returns one line per problem (empty: all good). Throws Error only
// when the manifest itself cannot be read.
std::vector<std::string> VerifySnapshot(const std::filesystem::path& dir, int jobs);

}  // namespace freshet
