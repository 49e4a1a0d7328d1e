// The lint tests' fixture: migration files written to a temporary directory,
// linted as `freshet migrate lint` would, and helpers to pick findings.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "apply/lint.h"

namespace freshet::testing {

inline constexpr const char* kLintFile = "20240101000000_test.sql";

class LintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "freshet-lint-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(std::filesystem::path(dir_) / name, std::ios::binary) << content;
  }

  // Lints the files written so far.
  std::vector<Finding> LintDir(const LintOptions& options = {}) {
    set_ = LoadMigrations(dir_);
    return Lint(set_, options);
  }

  // Lints `sql` as the only migration file.
  std::vector<Finding> LintSql(const std::string& sql, const LintOptions& options = {}) {
    Write(kLintFile, sql);
    return LintDir(options);
  }

  std::string dir_;
  MigrationSet set_;
};

inline std::vector<Finding> Only(const std::vector<Finding>& findings, const std::string& rule) {
  std::vector<Finding> out;
  for (const auto& finding : findings)
    if (finding.rule == rule) out.push_back(finding);
  return out;
}

inline size_t Count(const std::vector<Finding>& findings, const std::string& rule) {
  return Only(findings, rule).size();
}

// "rule@line rule@line ", for failure messages.
inline std::string Rules(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& finding : findings)
    out += finding.rule + "@" + std::to_string(finding.line) + " ";
  return out;
}

inline bool Mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline std::string FileName(const Finding& finding) {
  return std::filesystem::path(finding.file).filename().string();
}

}  // namespace freshet::testing
