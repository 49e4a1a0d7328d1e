// A masking rule as the configuration states it, before it is bound to a
// column (sync/engine/mask_plan.h resolves which columns get which rule).
// Pure data.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace freshet {

struct MaskRule {
  // hash, email, first_name, last_name, full_name, city, street_address,
  // company, phone, ip, uuid, integer, numeric, date_shift, null, constant,
  // redact, regexp, choice, json, sql, keep.
  std::string rule;
  // email: keep the domain of the original address.
  bool keep_domain = false;
  // Dictionaries (names, cities, ...): "en" (default), "de", "fr", ...
  std::string locale;
  // integer / numeric: a value in [min, max] (both given), or the original
  // moved by at most `noise` of itself (0.1: +-10%); `scale` digits kept for
  // numeric (default: the original's).
  std::optional<double> min, max, noise;
  std::optional<int> scale;
  // date_shift: the window, an interval text ("30 days", "12 hours"); each
  // value moves by a keyed amount within +-window, whole days for dates.
  std::string window;
  // constant: the value, in the column type's text form.
  std::string value;
  // redact: keep this many characters at either end, replace the others
  // with `mask_char` ("*"); keep_length false: a fixed 8-character run.
  int keep_first = 0, keep_last = 0;
  bool keep_length = true;
  std::string mask_char = "*";
  // regexp: ECMAScript pattern and replacement ($1, $2 ... for groups).
  std::string pattern, replacement;
  // choice: one of these, picked by a keyed hash of the value.
  std::vector<std::string> choices;
  // json: JSONPath-like paths ("$.contact.email", "$.items[*].phone") and
  // the rule masking the value found there (a string or number).
  std::vector<std::pair<std::string, MaskRule>> paths;
  // sql: an expression over the source row, pushed into COPY (SELECT ...).
  std::string sql;
  // keep: why this column, which looks personal, stays as it is.
  std::string reason;
};

// Everything that changes a rule's output, as text: two rules mask alike
// exactly when their signatures are equal.
std::string RuleSignature(const MaskRule& rule);

// 16 hex digits of a SHA-256 over a rule set (patterns and signatures, in
// order): tells two rule sets apart in a snapshot manifest.
std::string RuleSetFingerprint(const std::vector<std::pair<std::string, MaskRule>>& rules);

}  // namespace freshet
