#include "sync/service/run_json.h"

namespace freshet {
namespace {

nlohmann::json NullIfEmpty(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

std::string TableState(const ProgressStatus::Table& table) {
  return table.done ? "done" : table.started ? "copying" : "waiting";
}

}  // namespace

nlohmann::json ProgressJson(const ProgressStatus& progress) {
  nlohmann::json tables = nlohmann::json::array();
  for (const ProgressStatus::Table& table : progress.tables)
    tables.push_back({{"table", table.name},
                      {"state", TableState(table)},
                      {"rows", table.rows},
                      {"estimated_rows", table.estimated_rows},
                      {"bytes", table.bytes}});
  nlohmann::json out = {{"fraction", progress.fraction},
                        {"rows", progress.rows},
                        {"estimated_rows", progress.estimated_rows},
                        {"bytes", progress.bytes},
                        {"bytes_per_second", nullptr},
                        {"eta_seconds", nullptr},
                        {"tables", tables}};
  if (progress.bytes_per_second) out["bytes_per_second"] = *progress.bytes_per_second;
  if (progress.eta_seconds) out["eta_seconds"] = *progress.eta_seconds;
  return out;
}

nlohmann::json RunJson(const RunRecord& run, const std::optional<RunWatch::Snapshot>& watch) {
  nlohmann::json out = {{"id", run.id},
                        {"job", run.job},
                        {"kind", run.kind},
                        {"state", std::string(RunStateName(run.state))},
                        {"trigger", run.trigger},
                        {"requested_by", run.requested_by},
                        {"overrides", run.overrides},
                        {"targets", run.targets},
                        {"created_at", run.created_at},
                        {"started_at", NullIfEmpty(run.started_at)},
                        {"finished_at", NullIfEmpty(run.finished_at)},
                        {"seconds", run.Seconds()},
                        {"exit_status", nullptr},
                        {"error", NullIfEmpty(run.error)},
                        {"rows", run.rows},
                        {"bytes", run.bytes},
                        {"progress", nullptr},
                        {"last_step", nullptr}};
  if (run.exit_status) out["exit_status"] = *run.exit_status;
  if (watch) {
    nlohmann::json live = LiveJson(*watch);
    for (auto& [key, value] : live.items()) out[key] = std::move(value);
  } else if (run.live.is_object() && !IsFinished(run.state)) {
    for (const auto& [key, value] : run.live.items())
      if (out.contains(key)) out[key] = value;
  }
  return out;
}

nlohmann::json LiveJson(const RunWatch::Snapshot& watch) {
  nlohmann::json out = {{"rows", watch.rows},
                        {"bytes", watch.bytes},
                        {"progress", nullptr},
                        {"last_step", NullIfEmpty(watch.last_step)}};
  if (watch.progress) out["progress"] = ProgressJson(*watch.progress);
  return out;
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace freshet
