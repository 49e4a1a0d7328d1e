// Internal to the linter: whether a column DEFAULT can be added without
// rewriting the table. Since PostgreSQL 11, ADD COLUMN with a non-volatile
// default evaluates it once and stores the value in the catalog; a volatile
// default (and a stored generated column) is computed row by row, rewriting
// the table under ACCESS EXCLUSIVE. pg_proc cannot be read at lint time, so
// functions are judged by name from the lists in lint_volatility.cc; a
// function in neither list may be volatile.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace freshet::lint_internal {

enum class DefaultCost {
  kInstant,           // constants, casts, operators, known stable/immutable functions
  kRewrite,           // calls a known volatile function
  kPossiblyRewrites,  // calls a function of unknown volatility
};

struct DefaultVerdict {
  DefaultCost cost = DefaultCost::kInstant;
  std::string function;  // the deciding call as written, e.g. "gen_random_uuid" or "my.fn"
};

// Classifies a raw default expression (a Constraint's raw_expr); the first
// volatile call wins over an unknown one.
DefaultVerdict ClassifyDefault(const nlohmann::json& expression);

}  // namespace freshet::lint_internal
