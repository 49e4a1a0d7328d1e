// CreatedExtensions parses only the statements that can be CREATE EXTENSION
// (a cheap look at the first two words first); RefuseMissingExtensions asks
// the server once for all names.
#include "apply/shadow_extensions.h"

#include <fmt/format.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "apply/migration_error.h"
#include "apply/sql_statements.h"
#include "copy/connection.h"
#include "copy/error.h"

namespace freshet {
namespace {

// The statement's first `count` words, lowercased ("create extension").
std::string LeadingWords(const std::string& text, int count) {
  std::string out;
  size_t i = 0;
  for (int word = 0; word < count; ++word) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (word > 0) out += ' ';
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
  }
  return out;
}

// The extension a CREATE EXTENSION statement creates; empty for any other.
std::string CreatedExtension(const std::string& text) {
  if (LeadingWords(text, 2) != "create extension") return {};
  nlohmann::json tree = nlohmann::json::parse(ParseToJson(text));
  const nlohmann::json& stmt = tree["stmts"][0]["stmt"];
  if (!stmt.contains("CreateExtensionStmt")) return {};
  return stmt["CreateExtensionStmt"].value("extname", "");
}

}  // namespace

std::vector<ExtensionUse> CreatedExtensions(const MigrationSet& set) {
  std::vector<ExtensionUse> uses;
  for (const MigrationFile& file : set.files) {
    SplitResult split = SplitStatements(file.content);
    if (split.error) continue;
    for (size_t i = 0; i < split.statements.size(); ++i) {
      const Statement& statement = split.statements[i];
      std::string name = CreatedExtension(statement.text);
      if (!name.empty())
        uses.push_back({name, file.filename, static_cast<int>(i + 1), statement.line});
    }
  }
  return uses;
}

void RefuseMissingExtensions(Connection& shadow, const std::string& server,
                             const std::vector<ExtensionUse>& uses) {
  if (uses.empty()) return;
  std::set<std::string> available;
  Result rows = shadow.Exec("SELECT name FROM pg_catalog.pg_available_extensions");
  for (int row = 0; row < rows.Rows(); ++row) available.insert(rows.Get(row, 0));
  std::vector<MigrationLocation> locations;
  std::set<std::string> missing;
  std::string lines;
  for (const ExtensionUse& use : uses) {
    if (available.count(use.name)) continue;
    missing.insert(use.name);
    locations.push_back({use.file, use.statement, use.line, 0});
    lines += fmt::format("\n  {}:{}: CREATE EXTENSION {}", use.file, use.line, use.name);
  }
  if (locations.empty()) return;
  std::string names;
  for (const std::string& name : missing) names += (names.empty() ? "" : ", ") + name;
  bool one = missing.size() == 1;
  throw MigrationError(
      Error(ErrorKind::kRefused,
            fmt::format("the migrations create {} extension{} that {} does not have: {}; "
                        "nothing was applied:{}\ninstall {} on that server (FRESHET_PG_BIN picks "
                        "the local server's programs), or pass --shadow-url with a database "
                        "whose server has {} (extensions only Supabase ships, such as "
                        "pg_graphql or supabase_vault: a local Supabase database, `supabase "
                        "start`)",
                        missing.size(), one ? "" : "s", server, names, lines, one ? "it" : "them",
                        one ? "it" : "them")),
      std::move(locations));
}

}  // namespace freshet
