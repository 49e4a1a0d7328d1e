#include "schema/column_mapping.h"

#include <string>
#include <unordered_map>
#include <vector>

#include "schema/type_graph.h"

namespace freshet {
namespace {

// How many offending columns format_reason names before summarizing the rest.
constexpr size_t kReasonColumns = 3;

std::unordered_map<std::string, const Column*> ByName(const Table& table) {
  std::unordered_map<std::string, const Column*> columns;
  for (const Column& column : table.columns) columns.emplace(column.name, &column);
  return columns;
}

// Why this column cannot travel in binary COPY, or empty when it can.
std::string BinaryObstacle(const Column& source, const Column& target) {
  if (source.type != target.type) {
    return source.name + ": " + source.type + " on source, " + target.type + " on target";
  }
  for (const Column* column : {&target, &source})
    if (!column->binary_obstacle.empty()) return source.name + ": " + column->binary_obstacle;
  // Catalogs recorded without types (older snapshot manifests) still know
  // the reg* types by name: their binary form is an OID.
  if (IsObjectNameTypeText(source.type))
    return source.name + ": type " + source.type +
           " names objects by OID, which differ between servers";
  if (!source.binary_portable || !target.binary_portable) {
    return source.name + ": type " + source.type + " is not binary-portable";
  }
  return {};
}

bool NeedsSourceValue(const Column& column) {
  return column.not_null && !column.default_expr && column.identity == 0 && !column.generated;
}

}  // namespace

ColumnMapping MapColumns(const Table& source, const Table& target) {
  ColumnMapping mapping;
  const auto source_columns = ByName(source);
  const auto target_columns = ByName(target);
  const std::string table = target.name.Display();

  std::vector<std::string> obstacles;
  for (const Column& column : target.columns) {
    auto found = source_columns.find(column.name);
    if (found == source_columns.end()) {
      mapping.target_only.push_back(column.name);
      if (NeedsSourceValue(column)) {
        mapping.errors.push_back("target table " + table + ": column " + QuoteIdent(column.name) +
                                 " is NOT NULL without a default and does not exist on the "
                                 "source; add a default on the target or the column on the "
                                 "source");
      }
      continue;
    }
    if (column.generated) continue;  // computed by the target, never written
    mapping.columns.push_back(column.name);
    if (found->second->generated) mapping.read_with_select = true;
    std::string obstacle = BinaryObstacle(*found->second, column);
    if (!obstacle.empty()) obstacles.push_back(std::move(obstacle));
  }
  for (const Column& column : source.columns) {
    if (!target_columns.contains(column.name)) mapping.source_only.push_back(column.name);
  }

  if (!obstacles.empty()) {
    mapping.format = CopyFormat::kText;
    for (size_t i = 0; i < obstacles.size() && i < kReasonColumns; ++i) {
      if (i) mapping.format_reason += "; ";
      mapping.format_reason += obstacles[i];
    }
    if (obstacles.size() > kReasonColumns) {
      mapping.format_reason +=
          "; and " + std::to_string(obstacles.size() - kReasonColumns) + " more column(s)";
    }
  }
  if (mapping.columns.empty() && !(source.columns.empty() && target.columns.empty())) {
    mapping.errors.push_back("table " + table + ": no column in common to copy");
  }
  return mapping;
}

}  // namespace freshet
