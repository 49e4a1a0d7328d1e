// What a run did, table by table, and its renderings: text for stderr, JSON
// for --report, Markdown for --summary (a CI job summary). Plain data and pure
// formatting functions; nothing here contains a password (endpoints are
// described with ConnInfo::Describe).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace freshet {

struct TableChecksum {
  uint64_t rows = 0;
  std::string sum;  // decimal text of the order-independent row hash sum
  bool operator==(const TableChecksum&) const = default;
};

struct TableVerification {
  TableChecksum source;
  TableChecksum target;
  bool equal() const { return source == target; }
};

struct TableReport {
  std::string table;  // schema.name
  uint64_t rows = 0;
  uint64_t bytes = 0;  // COPY stream bytes
  double seconds = 0;  // from the first stream start to the last stream end
  std::string format;  // "binary" or "text"
  std::string route;   // "direct", "per partition", ...
  std::vector<std::string> deferred_constraints;
  std::optional<TableVerification> verification;
  uint64_t retries = 0;  // streams retried after a dropped connection
  // Incremental runs (`mode` empty otherwise): how the table was synced and
  // why, and what the merge did to the target's rows. `rows`/`bytes` count
  // the rows staged from the source; `compared_bytes` the hashes and keys
  // read from both sides to find them.
  std::string mode;  // "watermark", "diff" or "full"
  std::string mode_reason;
  uint64_t inserted = 0;
  uint64_t updated = 0;
  uint64_t deleted = 0;
  uint64_t unchanged = 0;
  uint64_t compared_bytes = 0;

  double MegabytesPerSecond() const {
    return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
  }
};

struct RunReport {
  std::string command;  // "sync", "verify", ...
  std::string source;   // described endpoint, no password
  std::string target;
  std::string started_at;  // ISO 8601 UTC
  double seconds = 0;
  std::string strategy;        // "bulk" or "ordered" (sync)
  size_t indexes_rebuilt = 0;  // bulk: indexes dropped for the load and rebuilt
  double rebuild_seconds = 0;  // time to rebuild indexes and re-add constraints
  bool ok = true;
  std::string error;  // set when the run failed
  std::vector<TableReport> tables;
  std::vector<std::string> deferred_constraints;  // "public.tasks.tasks_x_fkey (cycle)"
  // Masked columns, never their values: "public.profiles.email: rule email,
  // in the stream (rule public.profiles.email)".
  std::vector<std::string> masked_columns;
  // A subset run: what was kept ("5% of public.organizations: 1234 rows in
  // 9 tables, ..."); empty otherwise.
  std::string subset;
  std::vector<std::string> restored;  // journal entries restored at start/end
  std::vector<std::string> warnings;
  std::vector<std::string> source_only_tables;
  std::vector<std::string> target_only_tables;
  bool verified = false;     // verification ran
  bool incremental = false;  // sync --incremental

  uint64_t TotalRows() const;
  uint64_t TotalRetries() const;
  uint64_t TotalBytes() const;
  // Tables whose verification differs.
  std::vector<std::string> Mismatched() const;
};

std::string RenderText(const RunReport& report);
nlohmann::json RenderJson(const RunReport& report);
std::string RenderMarkdown(const RunReport& report);

// Writes `text` to `path` atomically (temp file + rename); throws Error naming
// the path on failure.
void WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace freshet
