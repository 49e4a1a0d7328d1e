// Which columns a run masks, and how: the configured rules ([mask."s.t.c"],
// patterns allowed) bound to the planned tables' columns, carried along
// foreign keys so a masked key and the columns referencing it mask alike,
// checked against the target (unique columns need a unique-keeping rule,
// NOT NULL columns cannot take `null`), and each placed either in the COPY
// stream (copy/mask_codec.h) or in the source's SELECT (null, constant,
// sql). Problems become plan errors naming the column and the rule.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "copy/mask_codec.h"
#include "copy/mask_key.h"
#include "copy/mask_rule.h"
#include "copy/mask_transformers.h"
#include "copy/mask_value.h"
#include "schema/catalog.h"

namespace freshet {

class Connection;
struct Plan;

struct MaskSettings {
  // "schema.table.column" patterns (`*` globs per part) and their rules, in
  // file order. The most specific pattern (fewest `*`) wins, then the first.
  std::vector<std::pair<std::string, MaskRule>> rules;
  bool strict = false;
  // Keys the maskers. Null: rules are checked with a throwaway key, and a
  // sync refuses to start (see MaskKeyMissing).
  std::shared_ptr<const MaskKey> key;

  bool any() const { return !rules.empty(); }
};

// One masked column of a planned table.
struct ColumnMask {
  std::string column;
  MaskRule rule;
  // Why: "rule public.profiles.email", or "follows public.profiles.id
  // (tasks_assignee_id_fkey)".
  std::string origin;
  // Read on the source as this expression (null, constant, sql), cast to the
  // column's type; empty: masked in the stream.
  std::string select_expression;
  ValueKind kind = ValueKind::kText;
  ValueLimits limits;
  std::shared_ptr<const ValueMasker> masker;  // in the stream
  // In the stream: MaskKey::Fingerprint of the key `masker` is keyed by;
  // empty when the plan had no key (rules checked with a throwaway one).
  // Incremental runs record it, so rows masked under another key never mix
  // with the target's (sync/engine/incremental_choose.cc).
  std::string key_fingerprint;
};

// Splits "schema.table.column" (parts may be double-quoted; `*` globs) into
// its table pattern and column glob; throws Error naming the pattern.
std::pair<std::string, std::string> SplitColumnPattern(const std::string& pattern);

// Binds `settings` to `plan`'s tables (their `masks`), appending errors and
// warnings to the plan.
void PlanMasks(const Catalog& source, const Catalog& target, const MaskSettings& settings,
               Plan& plan);

// The content half of the coverage PlanMasks judges by names and types:
// with the source at hand (inside the run's snapshot or not), the copied
// text columns with no rule whose sampled values look like email addresses
// or phone numbers (sync/engine/mask_coverage.h). Warnings, or errors under
// `strict`; nothing when the config has no [mask] section in use.
void PlanSampledCoverage(Connection& source, const Catalog& source_catalog,
                         const MaskSettings& settings, Plan& plan);

// The select list reading `columns` with the masks that are expressions in
// place of their columns; empty when no mask is one.
std::string MaskedSelectList(const std::vector<std::string>& columns,
                             const std::vector<ColumnMask>& masks);

// The row transform masking `columns`' stream as `masks` say; null when no
// mask works in the stream.
std::unique_ptr<MaskRows> StreamMasker(const std::vector<std::string>& columns,
                                       const std::vector<ColumnMask>& masks);

// "in the stream" or "in the source's SELECT".
std::string MaskPlacement(const ColumnMask& mask);

}  // namespace freshet
