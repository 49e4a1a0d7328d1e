// The masking rules: which kinds each takes, whether it keeps values
// distinct, and the masker each builds. Every keyed rule hashes under a
// domain made of the rule's name and the parameters that change its output,
// never a table or column, so that equal values mask equally everywhere and
// foreign keys stay joined. The rules on text are in mask_text_rules.cc,
// those on other values in mask_value_rules.cc; json, null and constant,
// which wrap other rules or need none, are here.
#include "copy/mask_transformers.h"

#include <regex>
#include <string>
#include <vector>

#include "copy/error.h"
#include "copy/mask_json.h"
#include "copy/mask_rules_internal.h"

namespace freshet {
namespace mask_rules {
namespace {

// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view text) {
  static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  return std::regex_match(text.begin(), text.end(), kNumber);
}

// ------------------------------------------------- json, null and constant

std::unique_ptr<ValueMasker> MakeJson(const Build& b) {
  if (b.rule.paths.empty()) throw b.Fail("paths must list at least one path and its rule");
  std::vector<JsonPathMaskers> paths;
  for (const auto& [path, sub] : b.rule.paths) {
    std::string where = "path '" + path + "' (rule '" + sub.rule + "'): ";
    // A constant that is no JSON number is written as a string, via `text`.
    bool number =
        RuleTakes(sub, ValueKind::kNumeric) && (sub.rule != "constant" || IsJsonNumber(sub.value));
    bool text = RuleTakes(sub, ValueKind::kText);
    if (!text && !number) throw b.Fail(where + "masks neither JSON strings nor numbers");
    JsonPathMaskers maskers{path, nullptr, nullptr};
    try {
      if (number) maskers.number = MakeMasker(sub, b.key, ValueKind::kNumeric, ValueLimits{});
      if (text) {
        maskers.text = MakeMasker(sub, b.key, ValueKind::kText, ValueLimits{});
      } else {
        maskers.text = Masker([where](MaskValue&) -> bool {
          throw ValueError("json", where + "found a string, which the rule does not mask");
        });
      }
    } catch (const Error& e) {
      throw b.Fail(where + e.what());
    }
    paths.push_back(std::move(maskers));
  }
  std::shared_ptr<const JsonPathMasker> masker;
  try {
    masker = std::make_shared<const JsonPathMasker>(std::move(paths));
  } catch (const Error& e) {
    throw b.Fail(e.what());
  }
  return Masker([masker](MaskValue& value) {
    try {
      value.text = masker->Mask(value.text);
    } catch (const Error& e) {
      throw ValueError("json", e.what());
    }
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeNull(const Build&) {
  return Masker([](MaskValue&) { return false; });
}

std::unique_ptr<ValueMasker> MakeConstant(const Build& b) {
  // Text forms only: for other kinds the planner writes the constant into
  // the COPY's SELECT, where the server parses it.
  if (b.kind != ValueKind::kText && b.kind != ValueKind::kJson && b.kind != ValueKind::kNumeric &&
      b.kind != ValueKind::kInet) {
    throw b.Fail(std::string("a constant for a ") + ValueKindName(b.kind) +
                 " column goes into SQL; it has no masker");
  }
  if (b.kind == ValueKind::kNumeric && !DecimalScale(b.rule.value) && b.rule.value != "NaN") {
    throw b.Fail("value is not a decimal number");
  }
  if (!FitsChars(b.rule.value, b.limits.max_chars)) {
    throw b.Fail("value is longer than the column's " + std::to_string(b.limits.max_chars) +
                 " characters");
  }
  return Masker([constant = b.rule.value](MaskValue& value) {
    value.text = constant;
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeNone(const Build& b) {
  throw b.Fail("needs no masker: the planner handles it");
}

// --------------------------------------------------------------- the table

constexpr unsigned Bit(ValueKind kind) { return 1u << static_cast<unsigned>(kind); }
constexpr unsigned kAnyKind = ~0u;
constexpr unsigned kText = Bit(ValueKind::kText);

struct RuleEntry {
  std::string_view name;
  unsigned kinds;     // Bit()s of the kinds it takes
  bool keeps_unique;  // see RuleKeepsUnique
  std::unique_ptr<ValueMasker> (*make)(const Build&);
};

constexpr RuleEntry kRules[] = {
    {"hash", kText, true, MakeHash},
    {"email", kText, true, MakeEmail},
    {"first_name", kText, false, MakeDictionaryWord},
    {"last_name", kText, false, MakeDictionaryWord},
    {"full_name", kText, false, MakeFullName},
    {"city", kText, false, MakeDictionaryWord},
    {"street_address", kText, false, MakeStreetAddress},
    {"company", kText, false, MakeCompany},
    {"phone", kText, false, MakePhone},
    {"ip", Bit(ValueKind::kInet) | kText, false, MakeIp},
    {"uuid", Bit(ValueKind::kUuid) | kText, true, MakeUuid},
    {"integer", Bit(ValueKind::kInteger), false, MakeInteger},
    {"numeric", Bit(ValueKind::kNumeric) | Bit(ValueKind::kInteger), false, MakeNumeric},
    {"date_shift", Bit(ValueKind::kDate) | Bit(ValueKind::kTimestamp), false, MakeDateShift},
    {"null", kAnyKind, false, MakeNull},
    {"constant", kAnyKind, false, MakeConstant},
    {"redact", kText, false, MakeRedact},
    {"regexp", kText, false, MakeRegexp},
    {"choice", kText, false, MakeChoice},
    {"json", Bit(ValueKind::kJson), false, MakeJson},
    {"sql", kAnyKind, false, MakeNone},
    {"keep", kAnyKind, true, MakeNone},  // the values themselves
};

const RuleEntry* FindRule(std::string_view name) {
  for (const RuleEntry& entry : kRules) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace
}  // namespace mask_rules

using mask_rules::Bit;
using mask_rules::Build;
using mask_rules::FindRule;
using mask_rules::kRules;
using mask_rules::RuleEntry;

bool RuleKeepsUnique(const MaskRule& rule) {
  const RuleEntry* entry = FindRule(rule.rule);
  return entry != nullptr && entry->keeps_unique;
}

bool RuleTakes(const MaskRule& rule, ValueKind kind) {
  const RuleEntry* entry = FindRule(rule.rule);
  return entry != nullptr && (entry->kinds & Bit(kind)) != 0;
}

std::unique_ptr<ValueMasker> MakeMasker(const MaskRule& rule, const MaskKey& key, ValueKind kind,
                                        const ValueLimits& limits) {
  const RuleEntry* entry = FindRule(rule.rule);
  if (entry == nullptr) {
    std::string known;
    for (const RuleEntry& e : kRules) known += (known.empty() ? "" : ", ") + std::string(e.name);
    throw Error(ErrorKind::kUsage, "unknown mask rule '" + rule.rule + "' (known: " + known + ")");
  }
  Build build{rule, key, kind, limits};
  if ((entry->kinds & Bit(kind)) == 0) {
    std::string takes;
    for (ValueKind k : {ValueKind::kText, ValueKind::kInteger, ValueKind::kNumeric,
                        ValueKind::kUuid, ValueKind::kDate, ValueKind::kTimestamp, ValueKind::kJson,
                        ValueKind::kInet, ValueKind::kBoolean}) {
      if (entry->kinds & Bit(k))
        takes += (takes.empty() ? "" : ", ") + std::string(ValueKindName(k));
    }
    throw build.Fail(std::string("does not take a ") + ValueKindName(kind) +
                     " column (takes: " + takes + ")");
  }
  return entry->make(build);
}

}  // namespace freshet
