#include "sync/cli/mask_config.h"

#include <algorithm>
#include <array>

namespace freshet {
namespace {

constexpr std::array<std::string_view, 3> kSettings = {"key_file", "key_env", "strict"};
constexpr std::array<std::string_view, 19> kRuleKeys = {
    "rule",        "keep_domain", "locale",     "min",       "max",         "noise",     "scale",
    "window",      "value",       "keep_first", "keep_last", "keep_length", "mask_char", "pattern",
    "replacement", "choices",     "paths",      "sql",       "reason"};

class MaskReader {
 public:
  explicit MaskReader(const TomlReader& reader) : reader_(reader) {}

  MaskRule Rule(const toml::node& node, const std::string& path) const {
    MaskRule rule;
    if (const auto* name = node.as_string()) {  // paths = { "$.a" = "email" }
      rule.rule = name->get();
      CheckName(node, path, rule.rule);
      return rule;
    }
    const toml::table& table = reader_.Table(node, path);
    reader_.CheckKeys(table, path, kRuleKeys);
    const toml::node* name = table.get("rule");
    if (!name) reader_.Fail(node.source(), fmt::format("'{}' needs a rule", path));
    rule.rule = reader_.NonEmptyString(*name, path + ".rule");
    CheckName(*name, path + ".rule", rule.rule);
    ReadParameters(table, path, rule);
    CheckRequired(node, path, rule);
    return rule;
  }

 private:
  void CheckName(const toml::node& node, const std::string& path, const std::string& name) const {
    const auto& names = MaskRuleNames();
    if (std::find(names.begin(), names.end(), name) == names.end())
      reader_.Fail(node.source(), fmt::format("'{}': unknown rule \"{}\"; expected one of: {}",
                                              path, name, fmt::join(names, ", ")));
  }

  double Number(const toml::node& node, const std::string& path) const {
    if (const auto* integer = node.as_integer()) return static_cast<double>(integer->get());
    return reader_.Value<double>(node, path, "a number").get();
  }

  int Int(const toml::node& node, const std::string& path) const {
    int64_t value = reader_.Value<int64_t>(node, path, "an integer").get();
    if (value < 0 || value > 1000)
      reader_.Fail(node.source(), fmt::format("'{}' must be between 0 and 1000", path));
    return static_cast<int>(value);
  }

  void ReadParameters(const toml::table& table, const std::string& path, MaskRule& rule) const {
    auto text = [&](const char* key, std::string& out) {
      if (const toml::node* node = table.get(key))
        out = reader_.Value<std::string>(*node, path + "." + key, "a string").get();
    };
    if (const toml::node* node = table.get("keep_domain"))
      rule.keep_domain = reader_.Value<bool>(*node, path + ".keep_domain", "a boolean").get();
    if (const toml::node* node = table.get("keep_length"))
      rule.keep_length = reader_.Value<bool>(*node, path + ".keep_length", "a boolean").get();
    text("locale", rule.locale);
    text("window", rule.window);
    text("value", rule.value);
    text("mask_char", rule.mask_char);
    text("pattern", rule.pattern);
    text("replacement", rule.replacement);
    text("sql", rule.sql);
    text("reason", rule.reason);
    if (const toml::node* node = table.get("min")) rule.min = Number(*node, path + ".min");
    if (const toml::node* node = table.get("max")) rule.max = Number(*node, path + ".max");
    if (const toml::node* node = table.get("noise")) rule.noise = Number(*node, path + ".noise");
    if (const toml::node* node = table.get("scale")) rule.scale = Int(*node, path + ".scale");
    if (const toml::node* node = table.get("keep_first"))
      rule.keep_first = Int(*node, path + ".keep_first");
    if (const toml::node* node = table.get("keep_last"))
      rule.keep_last = Int(*node, path + ".keep_last");
    if (const toml::node* node = table.get("choices"))
      rule.choices = reader_.Strings(*node, path + ".choices");
    if (const toml::node* node = table.get("paths")) {
      // toml++ keeps keys sorted; the first path listed wins an overlap, so
      // they go back in file order.
      Positioned<std::pair<std::string, MaskRule>> read;
      for (const auto& [key, value] : reader_.Table(*node, path + ".paths"))
        read.emplace_back(
            key.source().begin,
            std::pair(std::string(key.str()), Rule(value, path + ".paths." + PathPart(key.str()))));
      AppendInFileOrder(read, rule.paths);
    }
  }

  // What each rule cannot do without.
  void CheckRequired(const toml::node& node, const std::string& path, const MaskRule& rule) const {
    auto need = [&](bool present, const char* what) {
      if (!present)
        reader_.Fail(node.source(),
                     fmt::format("'{}': rule \"{}\" needs {}", path, rule.rule, what));
    };
    if (rule.rule == "json") need(!rule.paths.empty(), "paths = { \"$.a.b\" = \"rule\", ... }");
    if (rule.rule == "sql") need(!rule.sql.empty(), "sql = \"an expression over the row\"");
    if (rule.rule == "regexp") need(!rule.pattern.empty(), "pattern and replacement");
    if (rule.rule == "choice") need(!rule.choices.empty(), "choices = [\"a\", \"b\", ...]");
    if (rule.rule == "date_shift") need(!rule.window.empty(), "window = \"30 days\"");
    if (rule.rule == "keep") need(!rule.reason.empty(), "reason = \"why it stays as it is\"");
    if (rule.min.has_value() != rule.max.has_value()) need(false, "both min and max");
  }

  const TomlReader& reader_;
};

}  // namespace

const std::vector<std::string>& MaskRuleNames() {
  static const std::vector<std::string> names = {
      "hash",           "email",      "first_name", "last_name", "full_name", "city",
      "street_address", "company",    "phone",      "ip",        "uuid",      "integer",
      "numeric",        "date_shift", "null",       "constant",  "redact",    "regexp",
      "choice",         "json",       "sql",        "keep"};
  return names;
}

void ReadMaskSection(const TomlReader& reader, const toml::node& node, MaskConfig& config) {
  const toml::table& mask = reader.Table(node, "mask");
  Positioned<std::pair<std::string, MaskRule>> read;
  MaskReader rules(reader);
  for (const auto& [key, value] : mask) {
    std::string name(key.str());
    std::string path = "mask." + PathPart(name);
    if (name == "key_file") {
      config.key_file = reader.NonEmptyString(value, path);
    } else if (name == "key_env") {
      config.key_env = reader.NonEmptyString(value, path);
    } else if (name == "strict") {
      config.strict = reader.Value<bool>(value, path, "a boolean").get();
    } else if (name.find('.') == std::string::npos) {
      std::string settings;
      for (auto setting : kSettings)
        settings += std::string(settings.empty() ? "" : ", ") + std::string(setting);
      reader.Fail(key.source().begin.line > 0 ? key.source() : value.source(),
                  fmt::format("unknown key '{}'; expected one of {}, or a column as "
                              "[mask.\"schema.table.column\"]",
                              path, settings));
    } else {
      const toml::source_region& where =
          key.source().begin.line > 0 ? key.source() : value.source();
      read.emplace_back(where.begin, std::pair(name, rules.Rule(value, path)));
    }
  }
  AppendInFileOrder(read, config.rules);
  if (config.key_file && config.key_env)
    reader.Fail(node.source(), "[mask] has both key_file and key_env; keep one");
}

}  // namespace freshet
