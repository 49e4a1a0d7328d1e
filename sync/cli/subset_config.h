// The [subset] section of freshet.toml (sync/engine/subset.h):
//   [subset]
//   root = "public.organizations"     # "schema.table"; no schema: public
//   where = "plan = 'team'"           # SQL over the root's columns
//   percent = 5                       # of the root's matching rows, (0, 100]
//   children = true                   # follow referencing rows down (default)
//   children_except = ["public.activities.actor_id"]  # but not through these
//                                     # foreign keys ("schema.table.column" or
//                                     # "schema.table.constraint_name")
//   limits = { "public.audit_log" = 10000 }  # rows taken by choice, per table
// Checked here: keys, types, ranges, table names. Whether the tables exist
// is the planner's business.
#pragma once

#include <toml++/toml.h>

#include <string_view>

#include "sync/cli/toml_reader.h"
#include "sync/engine/subset.h"

namespace freshet {

void ReadSubsetSection(const TomlReader& reader, const toml::node& node, SubsetSettings& subset);

// "schema.table" (or "table", in public) as a name; nullopt when it is not
// one. Parts in double quotes may hold dots (SplitDottedName).
std::optional<QualifiedName> ParseTableName(std::string_view text);

// "schema.table.column" or "schema.table.constraint" (parts quoted as in
// ParseTableName); nullopt when it has not three non-empty parts.
std::optional<ForeignKeyName> ParseForeignKeyName(std::string_view text);

}  // namespace freshet
