// Internal to copy/: what the files of masking rules share. The rule table,
// json, null and constant live in mask_transformers.cc; the rules on text in
// mask_text_rules.cc; uuid, integer, numeric and date_shift in
// mask_value_rules.cc. Everything else includes mask_transformers.h.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "copy/error.h"
#include "copy/mask_transformers.h"

namespace freshet::mask_rules {

// A masker around a function object; lambdas hold only values fixed at
// construction, so Mask is thread-safe.
template <class F>
class FunctionMasker final : public ValueMasker {
 public:
  explicit FunctionMasker(F f) : f_(std::move(f)) {}
  bool Mask(MaskValue& value) const override { return f_(value); }

 private:
  F f_;
};

template <class F>
std::unique_ptr<ValueMasker> Masker(F f) {
  return std::make_unique<FunctionMasker<F>>(std::move(f));
}

// What a rule's factory is given.
struct Build {
  const MaskRule& rule;
  const MaskKey& key;
  ValueKind kind;
  const ValueLimits& limits;

  Error Fail(const std::string& what) const {
    return Error(ErrorKind::kUsage, "mask rule '" + rule.rule + "': " + what);
  }
};

// An error about one value, found while masking; names the rule, never the value.
inline Error ValueError(const std::string& rule, const std::string& what) {
  return Error("mask rule '" + rule + "': " + what + " (the value is not shown)");
}

inline size_t CountChars(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return count;
}

// The byte length of the first `chars` UTF-8 characters of `text`.
inline size_t BytesOfFirstChars(std::string_view text, size_t chars) {
  size_t i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<uint8_t>(text[i]) & 0xC0) != 0x80 && chars-- == 0) break;
  }
  return i;
}

// Cuts `text` to at most `max` characters (0: no limit), on a character boundary.
inline void FitChars(std::string& text, size_t max) {
  if (max != 0) text.resize(BytesOfFirstChars(text, max));
}

inline bool FitsChars(std::string_view text, size_t max) {
  return max == 0 || CountChars(text) <= max;
}

inline std::string Hex(const std::array<uint8_t, 16>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// The scale (digits after the point) of a decimal or JSON number text, or
// nullopt when `text` is not one.
std::optional<int> DecimalScale(std::string_view text);

// Text rules (mask_text_rules.cc).
std::unique_ptr<ValueMasker> MakeHash(const Build& b);
std::unique_ptr<ValueMasker> MakeEmail(const Build& b);
std::unique_ptr<ValueMasker> MakeDictionaryWord(const Build& b);  // first_name, last_name, city
std::unique_ptr<ValueMasker> MakeFullName(const Build& b);
std::unique_ptr<ValueMasker> MakeStreetAddress(const Build& b);
std::unique_ptr<ValueMasker> MakeCompany(const Build& b);
std::unique_ptr<ValueMasker> MakePhone(const Build& b);
std::unique_ptr<ValueMasker> MakeIp(const Build& b);
std::unique_ptr<ValueMasker> MakeRedact(const Build& b);
std::unique_ptr<ValueMasker> MakeRegexp(const Build& b);
std::unique_ptr<ValueMasker> MakeChoice(const Build& b);

// Value rules (mask_value_rules.cc).
std::unique_ptr<ValueMasker> MakeUuid(const Build& b);
std::unique_ptr<ValueMasker> MakeInteger(const Build& b);
std::unique_ptr<ValueMasker> MakeNumeric(const Build& b);
std::unique_ptr<ValueMasker> MakeDateShift(const Build& b);

}  // namespace freshet::mask_rules
