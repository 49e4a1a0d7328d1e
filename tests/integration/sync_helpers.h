// Helpers shared by the integration tests of `freshet sync`: running the
// binary, and comparing databases independently of freshet's own verifier
// (sorted md5 digests computed by psql).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/pg_cluster.h"

namespace freshet::testing {

// Runs build/freshet with `args`.
RunResult Freshet(const std::vector<std::string>& args, const Environment& env = {});

// "schema.table" of every ordinary or partitioned, non-partition table in
// `schemas` of the database.
std::vector<std::string> UserTables(const PgCluster& cluster, const std::string& db,
                                    const std::vector<std::string>& schemas = {"public", "auth"});

// Columns of `table` ("schema.table") that both sides have, excluding columns
// generated on the target.
std::vector<std::string> SharedColumns(const PgCluster& source, const std::string& source_db,
                                       const PgCluster& target, const std::string& target_db,
                                       const std::string& table);

// count and md5 of the sorted text of every row over `columns`: equal digests
// mean equal multisets of rows.
std::string TableDigest(const PgCluster& cluster, const std::string& db, const std::string& table,
                        const std::vector<std::string>& columns);

// Tables (of those both sides have) whose digests differ, as "schema.table".
std::vector<std::string> DifferingTables(const PgCluster& source, const std::string& source_db,
                                         const PgCluster& target, const std::string& target_db,
                                         const std::vector<std::string>& schemas = {"public",
                                                                                    "auth"});

// Constraints that are NOT VALID and indexes that are not valid, as text; empty
// when everything is valid.
std::vector<std::string> InvalidConstraintsAndIndexes(const PgCluster& cluster,
                                                      const std::string& db);

// "schema.table.name" of every foreign key in the database, sorted.
std::vector<std::string> ForeignKeys(const PgCluster& cluster, const std::string& db);

// The whole text of a file the run wrote (a report, a manifest); a test
// failure and "" when it cannot be read.
std::string ReadTextFile(const std::string& path);

// The JSON report at `path`; an empty object when there is none (a run that
// failed before writing it).
nlohmann::json ReadJsonReport(const std::string& path);

// The report's entry for `table` ("schema.table"); a test failure and an
// empty object when it has none.
nlohmann::json ReportEntry(const nlohmann::json& report, const std::string& table);

// Lines of psql output (-A -t), split on newlines; empty output gives {}.
std::vector<std::string> Lines(const std::string& text);

// Schema edge cases created on both sides by the sync and snapshot schema
// tests: quoted identifiers, many types, generated and identity columns,
// multi-level partitions and inheritance.
extern const char* const kCommonSchema;
// Rows for kCommonSchema's tables, every type's awkward values among them.
extern const char* const kCommonData;

// Stops a freshet run at a named point (sync/test_hooks.h: "start <task>",
// "done <task>", optionally "#N" for the N-th such point), so a test acts
// at a known moment instead of within a time window.
class PausePoint {
 public:
  explicit PausePoint(std::string point);
  ~PausePoint();
  PausePoint(const PausePoint&) = delete;
  PausePoint& operator=(const PausePoint&) = delete;
  // The environment that arms the pause in a freshet child.
  Environment Env() const;
  // Waits until `process` is paused at the point and returns the point's
  // full name, or returns nullopt if the process ended first (its result is
  // then kept in `ended`).
  std::optional<std::string> WaitUntilPaused(BackgroundProcess& process,
                                             std::optional<RunResult>* ended = nullptr);
  // Lets the paused run go on.
  void Release();

 private:
  std::filesystem::path dir_;
  std::string point_;
};

// A fresh directory under the test temp dir, removed with its contents.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace freshet::testing
