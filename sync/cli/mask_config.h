// The [mask] section of freshet.toml: the key's source, strict coverage, and
// one table per masked column pattern:
//   [mask]
//   key_file = "/run/secrets/mask-key"     # or key_env = "NAME"; default FRESHET_MASK_KEY
//   [mask."public.profiles.email"]
//   rule = "email"
//   [mask."public.deals.metadata"]
//   rule = "json"
//   paths = { "$.contact.email" = "email", "$.contact.phone" = { rule = "phone" } }
// Checked here: keys, types, known rule names, each rule's required
// parameters. Whether a rule fits its column is the planner's business.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "copy/mask_rule.h"
#include "sync/cli/toml_reader.h"

namespace freshet {

struct MaskConfig {
  std::vector<std::pair<std::string, MaskRule>> rules;  // in file order
  std::optional<std::string> key_file;
  std::optional<std::string> key_env;
  bool strict = false;
};

void ReadMaskSection(const TomlReader& reader, const toml::node& node, MaskConfig& config);

// The rule names [mask] accepts.
const std::vector<std::string>& MaskRuleNames();

}  // namespace freshet
