// The jobs behind `freshet sync`, `plan`, `verify` and `repair`: each opens
// its connections, reads both catalogs, plans, and (for sync) changes the
// target under the journal's protection. The CLI only parses arguments and
// renders reports.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "sync/engine/journal.h"
#include "sync/engine/loader.h"
#include "sync/engine/plan.h"
#include "sync/engine/report.h"
#include "sync/engine/run_observer.h"
#include "sync/engine/safety.h"

namespace freshet {

struct SyncOptions {
  std::string source_url;
  std::string target_url;
  int jobs = 4;
  PlanOptions plan;
  bool verify = false;
  std::string lock_timeout = "30s";  // for the DDL that sets constraints aside
  SafetyOptions safety;
  RetryPolicy retry;  // streams cut by a lost connection
  // `--incremental`: only what changed since the last run moves
  // (sync/engine/incremental_mode.h); PlanOnly then also chooses the modes.
  IncrementalOptions incremental;
  // Watches the run (log lines, plan, tables, rebuild steps, its end); none:
  // log through spdlog's default logger. Must outlive the run.
  RunObserver* observer = nullptr;
};

// `freshet plan`: what sync would do. Changes nothing on either side.
// `pending_journal` is set when the target holds entries of an interrupted run.
// A stop cancels the query under way (the checks of the source's rows can
// take a while) and PlanOnly throws Error "...: cancelled".
Plan PlanOnly(const SyncOptions& options, bool* pending_journal, std::stop_token stop = {});

// `freshet sync`. Fills `report` as it goes (so a failed run still reports
// what happened) and throws Error on failure: kPlan for plan errors, kRefused
// for safety rules, kMismatch when --verify finds differences. Either way the
// observer's RunEnded gets the report (`ok` and `error` set) before it returns
// or throws; so does RunVerify's.
void RunSync(const SyncOptions& options, RunReport& report, std::stop_token stop);

// `freshet verify`: compares without copying; throws Error(kMismatch) naming
// the tables that differ.
void RunVerify(const SyncOptions& options, RunReport& report, std::stop_token stop);

// `freshet repair`: restores what an interrupted run left in the journal.
// A run still writing to the target is waited for, up to `lock_wait` (0: the
// repair fails at once, naming the database).
RestoreOutcome RunRepair(const std::string& target_url, int jobs,
                         std::chrono::seconds lock_wait = std::chrono::seconds(0));

}  // namespace freshet
