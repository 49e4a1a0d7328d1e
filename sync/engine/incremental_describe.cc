#include "sync/engine/incremental_describe.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "sync/engine/plan.h"

namespace freshet {
namespace {

// Columns a string takes on a terminal, counting UTF-8 code points.
size_t Width(const std::string& text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// table, mode, watermark, deletes, reason: the reason last, as it varies most.
using Row = std::array<std::string, 5>;

Row Describe(const PlannedTable& table) {
  if (!table.incremental) return {table.name.Display(), "-", "", "", "no mode chosen"};
  const TableMode& mode = *table.incremental;
  std::string watermark =
      mode.mode == SyncMode::kWatermark && !mode.watermark.empty() ? "on " + mode.watermark : "";
  std::string deletes =
      mode.deletes == DeletePolicy::kPropagate ? "deletes propagate" : "deletes ignored";
  return {table.name.Display(), SyncModeName(mode.mode), watermark, deletes, mode.reason};
}

}  // namespace

std::string DescribeIncremental(const Plan& plan) {
  bool any = std::any_of(plan.tables.begin(), plan.tables.end(),
                         [](const PlannedTable& table) { return table.incremental.has_value(); });
  if (!any) return {};
  std::vector<Row> rows;
  for (const PlannedTable& table : plan.tables) rows.push_back(Describe(table));
  std::array<size_t, 5> widths{};
  for (const Row& row : rows)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  std::string out =
      fmt::format("Incremental ({} tables: mode, watermark, deletes, why):\n", plan.tables.size());
  for (const Row& row : rows) {
    std::string line = "  ";
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths[i] == 0) continue;  // a column no table uses
      if (i + 1 == row.size()) {
        line += row[i];
        break;
      }
      line += row[i] + std::string(widths[i] - Width(row[i]), ' ') + "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace freshet
