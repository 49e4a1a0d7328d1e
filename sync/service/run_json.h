// How the API shows runs and jobs as JSON (GET /v1/runs, /v1/runs/{id},
// the events stream, the dashboard). Pure functions of plain data.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "sync/service/job.h"
#include "sync/service/run_watch.h"

namespace freshet {

// The run: id, job, kind, state, trigger, times, seconds, exit status, error,
// targets, rows/bytes, and while it runs `progress` (fraction, rows, bytes,
// rate, ETA, per table) and `last_step`.
nlohmann::json RunJson(const RunRecord& run, const std::optional<RunWatch::Snapshot>& watch);
// Without a watch, a run's `live` (published by the replica running it in a
// shared store) stands for it.
nlohmann::json ProgressJson(const ProgressStatus& progress);
// What a watch adds to a run's JSON: rows, bytes, progress, last_step. A
// shared store keeps it as the run's `live`.
nlohmann::json LiveJson(const RunWatch::Snapshot& watch);

// `value` as JSON text (`indent` < 0: one line). Strings that are not valid
// UTF-8 (a server message in another encoding, a name from a path) get
// U+FFFD for their bad bytes instead of failing the answer.
std::string DumpJson(const nlohmann::json& value, int indent = -1);

}  // namespace freshet
