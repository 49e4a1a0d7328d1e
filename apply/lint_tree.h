// Internal to the linter: reading libpg_query's JSON parse trees, where a
// node is {"TypeName": {fields}} and protobuf leaves out zero/false/empty
// fields (so `0` is `{"ival": {}}` and a missing key means the default).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace freshet::lint_internal {

// node[key], or a null value when node is not an object or has no such key.
const nlohmann::json& Get(const nlohmann::json& node, const char* key);

// node[key] as a string ("" when absent or not a string).
std::string Str(const nlohmann::json& node, const char* key);

// node[key] is `true`.
bool Flag(const nlohmann::json& node, const char* key);

// [{"String":{"sval":"a"}}, {"String":{"sval":"b"}}] -> "a.b"
std::string JoinNames(const nlohmann::json& names);

// A RangeVar as written: "schema.table" or "table".
std::string Display(const nlohmann::json& range_var);

// A RangeVar as a lookup key, "schema.table"; unqualified names count as `public`.
std::string Key(const nlohmann::json& range_var);

// The same key from a name list ({"List":{"items":[...]}}, as in DropStmt).
std::string KeyOfNameList(const nlohmann::json& object);

// The same key from a bare array of String nodes (a type's or function's name).
std::string KeyOfNames(const nlohmann::json& names);

// node itself when it is an array, else an empty array (to loop over a
// field protobuf may have left out).
const nlohmann::json& Items(const nlohmann::json& node);

// A list of DefElem options (VACUUM, REINDEX) turns `name` on.
bool HasOption(const nlohmann::json& options, const std::string& name);

// The boolean value a list of DefElem options gives `name` (`x`, `x = on`,
// `x = false`, `x = 0` ...), or nullopt when it does not mention it.
std::optional<bool> OptionValue(const nlohmann::json& options, const std::string& name);

// An A_Const that disables a timeout: 0 or '0'.
bool IsZero(const nlohmann::json& a_const);

// Calls visit(type, body) for every node {"Type": {...}} of a tree, skipping
// the bodies of functions and rules (they only run when called).
void Walk(const nlohmann::json& node,
          const std::function<void(const std::string&, const nlohmann::json&)>& visit);

}  // namespace freshet::lint_internal
