// Internal to the linter: the rules judged on the state the whole directory
// leaves behind, by replaying every file's relation events in version order
// (a table created in one file and given RLS in a later one is fine; one
// dropped later is gone). Findings point at the statement that created the
// table, or that last made a view a security definer view.
#pragma once

#include <string>
#include <vector>

#include "apply/lint.h"
#include "apply/lint_rules.h"

namespace freshet::lint_internal {

struct EndStateFinding {
  size_t file = 0;  // index into the `files` given
  size_t statement = 0;
  std::string rule;
  std::string message;
};

// `files[i]` holds the events of the i-th file in version order (empty for a
// file that did not parse). Rules: rls-not-enabled, missing-grants (only
// when options.grant_roles is set), security-definer-view.
std::vector<EndStateFinding> CheckEndState(const std::vector<std::vector<RelationEvent>>& files,
                                           const LintOptions& options);

}  // namespace freshet::lint_internal
