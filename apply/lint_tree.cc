#include "apply/lint_tree.h"

#include <cctype>

namespace freshet::lint_internal {
namespace {

using nlohmann::json;

const json kNull;

bool IsTrueOption(const json& def_elem) {
  const json& arg = Get(def_elem, "arg");
  if (arg.is_null()) return true;
  std::string text = Str(Get(arg, "String"), "sval");
  if (text.empty()) text = JoinNames(Get(Get(arg, "TypeName"), "names"));  // `off`, `yes`
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!text.empty())
    return text != "false" && text != "f" && text != "off" && text != "0" && text != "no" &&
           text != "n";
  const json& integer = Get(arg, "Integer");
  return !integer.is_object() || Get(integer, "ival").is_number_integer();  // 0 is omitted
}

}  // namespace

// node[key], or null when node is not an object or has no such key.
const json& Get(const json& node, const char* key) {
  if (!node.is_object()) return kNull;
  auto it = node.find(key);
  return it == node.end() ? kNull : *it;
}

std::string Str(const json& node, const char* key) {
  const json& value = Get(node, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

bool Flag(const json& node, const char* key) {
  const json& value = Get(node, key);
  return value.is_boolean() && value.get<bool>();
}

// [{"String":{"sval":"a"}}, {"String":{"sval":"b"}}] -> "a.b"
std::string JoinNames(const json& names) {
  std::string out;
  if (!names.is_array()) return out;
  for (const auto& name : names) {
    if (!out.empty()) out += '.';
    out += Str(Get(name, "String"), "sval");
  }
  return out;
}

// A RangeVar as written: "schema.table" or "table".
std::string Display(const json& range_var) {
  std::string schema = Str(range_var, "schemaname");
  std::string name = Str(range_var, "relname");
  return schema.empty() ? name : schema + "." + name;
}

// A RangeVar as a lookup key; unqualified names count as `public`.
std::string Key(const json& range_var) {
  std::string schema = Str(range_var, "schemaname");
  return (schema.empty() ? "public" : schema) + "." + Str(range_var, "relname");
}

// The same key from a DropStmt object ({"List":{"items":[...]}}).
std::string KeyOfNameList(const json& object) {
  return KeyOfNames(Get(Get(object, "List"), "items"));
}

std::string KeyOfNames(const json& items) {
  if (!items.is_array() || items.empty()) return {};
  std::string name = Str(Get(items.back(), "String"), "sval");
  std::string schema = items.size() > 1 ? Str(Get(items[items.size() - 2], "String"), "sval") : "";
  return (schema.empty() ? "public" : schema) + "." + name;
}

// Calls visit(type, body) for every node {"Type": {...}} of a tree, skipping
// the bodies of functions and rules (they only run when called).
void Walk(const json& node, const std::function<void(const std::string&, const json&)>& visit) {
  if (node.is_array()) {
    for (const auto& child : node) Walk(child, visit);
    return;
  }
  if (!node.is_object()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() == "CreateFunctionStmt" || it.key() == "RuleStmt") continue;
    if (it.value().is_object() && !it.key().empty() && std::isupper(it.key()[0]))
      visit(it.key(), it.value());
    Walk(it.value(), visit);
  }
}

const json& Items(const json& node) {
  static const json kEmpty = json::array();
  return node.is_array() ? node : kEmpty;
}

bool HasOption(const json& options, const std::string& name) {
  return OptionValue(options, name).value_or(false);
}

std::optional<bool> OptionValue(const json& options, const std::string& name) {
  std::optional<bool> value;
  for (const auto& option : Items(options)) {
    const json& def_elem = Get(option, "DefElem");
    if (Str(def_elem, "defname") == name) value = IsTrueOption(def_elem);
  }
  return value;
}

// A constant that disables a timeout: 0 (omitted ival) or '0'.
bool IsZero(const json& a_const) {
  if (Get(a_const, "ival").is_object()) return !Get(Get(a_const, "ival"), "ival").is_number();
  std::string text = Str(Get(a_const, "sval"), "sval");
  return text == "0" || text == "0ms" || text == "0s";
}

}  // namespace freshet::lint_internal
