// How one source table's rows land in the target table of the same name:
// which columns are copied, in which COPY format, and what is only on one side.
// Pure.
#pragma once

#include <string>
#include <vector>

#include "schema/catalog.h"

namespace freshet {

enum class CopyFormat { kBinary, kText };

struct ColumnMapping {
  // Columns present on both sides and not generated on the target, in the
  // target's column order. Source generated columns are copied (read as values)
  // when the target column is an ordinary one.
  std::vector<std::string> columns;
  CopyFormat format = CopyFormat::kBinary;
  // Why the text format was chosen, e.g. "amount: numeric(14,2) on source,
  // numeric on target" or "location: type geography is not binary-portable";
  // empty for binary.
  std::string format_reason;
  // A copied column is generated on the source: COPY table (columns) TO
  // refuses generated columns, so the source is read with COPY (SELECT ...).
  bool read_with_select = false;
  std::vector<std::string> source_only;  // not on the target: dropped
  std::vector<std::string> target_only;  // not on the source: default or NULL
  // Plan errors, each a full sentence naming table and column, e.g. the
  // target-only NOT NULL column without a default, or no shared column at all.
  std::vector<std::string> errors;
};

// Maps `source` onto `target` (same schema and name). Columns match by exact
// name. Binary format requires every copied column to have the same type text
// on both sides and a binary-portable type.
ColumnMapping MapColumns(const Table& source, const Table& target);

}  // namespace freshet
