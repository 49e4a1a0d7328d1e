// Masking transformers: deterministic, keyed functions of one non-NULL
// value (mask_value.h). Built from a rule (mask_rule.h), a key and the
// column's kind and limits. Pure; thread-safe after construction.
#pragma once

#include <memory>

#include "copy/mask_key.h"
#include "copy/mask_rule.h"
#include "copy/mask_value.h"

namespace freshet {

class ValueMasker {
 public:
  virtual ~ValueMasker() = default;
  // Masks `value` in place; false makes the field NULL (rule `null`).
  // Throws Error (without the value in its message) on a value it cannot
  // mask, e.g. malformed JSON.
  virtual bool Mask(MaskValue& value) const = 0;
};

// Whether the rule maps distinct inputs to distinct outputs: exactly (uuid:
// a keyed permutation) or up to a keyed 128-bit hash's collisions (hash,
// email). `keep` answers true too, as it leaves values as they are. Every
// other rule can map two values to one. A column narrower than a rule's full
// output (hash under 32 characters, email under 38) gets a shortened value
// that no longer promises this; the planner checks the column's width.
bool RuleKeepsUnique(const MaskRule& rule);

// Whether the rule works on `kind` (e.g. email on text, date_shift on date
// and timestamp, json on json). `null`, `constant`, `sql` and `keep` take
// any column and need no masker.
bool RuleTakes(const MaskRule& rule, ValueKind kind);

// Throws Error naming the rule and what is wrong (an unknown rule, a missing
// parameter, a kind it does not take, a bad pattern or window).
std::unique_ptr<ValueMasker> MakeMasker(const MaskRule& rule, const MaskKey& key, ValueKind kind,
                                        const ValueLimits& limits);

}  // namespace freshet
