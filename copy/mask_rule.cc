#include "copy/mask_rule.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>

#include "copy/error.h"

namespace freshet {

std::string RuleSignature(const MaskRule& rule) {
  std::string paths;
  for (const auto& [path, sub] : rule.paths) paths += path + "=" + RuleSignature(sub) + ";";
  // \x1f (unit separator) cannot appear in a TOML basic string unescaped
  // and keeps adjacent free-text fields from running into each other.
  return fmt::format(
      "{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}"
      "\x1f{}\x1f{}\x1f{}",
      rule.rule, rule.keep_domain, rule.locale, rule.min ? fmt::format("{}", *rule.min) : "-",
      rule.max ? fmt::format("{}", *rule.max) : "-",
      rule.noise ? fmt::format("{}", *rule.noise) : "-",
      rule.scale ? fmt::format("{}", *rule.scale) : "-", rule.window, rule.value, rule.keep_first,
      rule.keep_last, rule.keep_length, rule.mask_char, rule.pattern, rule.replacement,
      fmt::join(rule.choices, "\x1e"), paths, rule.sql, rule.choices.size());
}

std::string RuleSetFingerprint(const std::vector<std::pair<std::string, MaskRule>>& rules) {
  std::string text;
  for (const auto& [pattern, rule] : rules) text += pattern + "\x1d" + RuleSignature(rule) + "\x1c";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256 failed");
  std::string hex;
  for (unsigned int i = 0; i < 8 && i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace freshet
