// Internal to the linter: what the statement rules know while they walk one
// file, and the rule families (one lint_rules_*.cc file each) that read and
// extend it. lint_rules.cc calls every family on each statement, in order,
// then records what the statement created.
//
// "Existing" tables are those not created earlier in the same file: a table
// created a few statements above is empty and unused, so dropping columns,
// adding NOT NULL columns or indexes to it is safe. Not thread-safe; one
// context per file.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "apply/lint_rules.h"

namespace freshet::lint_internal {

struct FileContext {
  FileContext(const MigrationFile& file, const std::vector<Statement>& statements,
              const LintOptions& options)
      : file(file), statements(statements), options(options) {}

  const MigrationFile& file;
  const std::vector<Statement>& statements;
  const LintOptions& options;
  size_t current = 0;  // the statement being checked
  FileCheck result;

  // Created earlier in this file, "schema.name".
  std::set<std::string> created_tables;
  std::set<std::string> created_indexes;
  std::set<std::string> created_views;

  // Locking rules.
  bool lock_timeout = false;                      // a non-zero lock_timeout is set
  std::optional<size_t> lock_timeout_finding;     // index into result.findings
  std::set<size_t> strong_lock_statements;        // those without one, for the count
  std::map<std::string, size_t> not_valid_added;  // "schema.table.constraint" -> statement
  std::set<std::string> policy_tables_reported;

  // API rules: views of API schemas dropped in this file and not (yet)
  // created again, by key: the DROP statement and the name as written.
  std::map<std::string, std::pair<size_t, std::string>> dropped_views;

  // Profiles: "kind:schema.name" of DROP ... IF EXISTS seen in this file.
  std::set<std::string> dropped_if_exists;

  void Add(size_t statement, std::string rule, std::string message) {
    result.findings.push_back({statement, std::move(rule), std::move(message)});
  }
  void Add(std::string rule, std::string message) {
    Add(current, std::move(rule), std::move(message));
  }
  void Record(RelationEvent event) {
    event.statement = current;
    result.events.push_back(std::move(event));
  }

  bool IsNew(const nlohmann::json& range_var) const;
  bool IsApiSchema(const std::string& schema) const;
};

// Rule families. Each gets every statement's type and body (the node under
// the statement's single key); CheckNested* see the whole tree.
void CheckDataLoss(FileContext& context, const std::string& type, const nlohmann::json& body);
void CheckDataLossNested(FileContext& context, const nlohmann::json& tree);
void CheckTableChanges(FileContext& context, const std::string& type, const nlohmann::json& body);
void CheckLocking(FileContext& context, const std::string& type, const nlohmann::json& body);
void CheckLockingNested(FileContext& context, const nlohmann::json& tree);
void CheckApiExposure(FileContext& context, const std::string& type, const nlohmann::json& body);
void CheckProfiles(FileContext& context, const std::string& type, const nlohmann::json& body);
void CheckProfilesNested(FileContext& context, const nlohmann::json& tree);
void CheckIdentifiers(FileContext& context, const std::string& type);

// Called once after the last statement.
void FinishLocking(FileContext& context);
void FinishApiExposure(FileContext& context);

// Notes that a strong lock is taken on an existing table (`what`, `lock`):
// `missing-lock-timeout` for the file's first such statement without a
// lock_timeout set before it.
void NeedLockTimeout(FileContext& context, const std::string& what, const std::string& lock);

}  // namespace freshet::lint_internal
