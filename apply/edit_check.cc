#include "apply/edit_check.h"

#include <nlohmann/json.hpp>

#include "apply/sql_statements.h"

namespace freshet {
namespace {

// Parse trees carry byte positions; drop them so only the SQL is compared.
void StripPositions(nlohmann::json& node) {
  if (node.is_object()) {
    for (const char* key : {"location", "stmt_location", "stmt_len"}) node.erase(key);
    for (auto& [key, value] : node.items()) StripPositions(value);
  } else if (node.is_array()) {
    for (auto& value : node) StripPositions(value);
  }
}

// Every statement of `texts`, in order, as position-free trees.
std::optional<nlohmann::json> Trees(const std::vector<std::string>& texts) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& text : texts) {
    nlohmann::json tree;
    try {
      tree = nlohmann::json::parse(ParseToJson(text));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    nlohmann::json& stmts = tree["stmts"];
    if (!stmts.is_array()) continue;  // only comments: nothing runs
    for (auto& stmt : stmts) {
      StripPositions(stmt);
      out.push_back(std::move(stmt));
    }
  }
  return out;
}

}  // namespace

std::optional<bool> SameSqlIgnoringComments(const std::vector<std::string>& recorded,
                                            const std::vector<std::string>& current) {
  std::optional<nlohmann::json> before = Trees(recorded), after = Trees(current);
  if (!before || !after) return std::nullopt;
  return *before == *after;
}

}  // namespace freshet
