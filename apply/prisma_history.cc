#include "apply/prisma_history.h"

#include <fmt/format.h>

#include "copy/identifiers.h"

namespace freshet::prisma_history {
namespace {

// Prisma's DDL for PostgreSQL (schema-engine, create_migrations_table).
constexpr const char* kCreateTable =
    "CREATE TABLE public._prisma_migrations ("
    "id VARCHAR(36) PRIMARY KEY NOT NULL, "
    "checksum VARCHAR(64) NOT NULL, "
    "finished_at TIMESTAMPTZ, "
    "migration_name VARCHAR(255) NOT NULL, "
    "logs TEXT, "
    "rolled_back_at TIMESTAMPTZ, "
    "started_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
    "applied_steps_count INTEGER NOT NULL DEFAULT 0)";

bool TableExists(Connection& connection) {
  return connection.Exec("SELECT to_regclass('public._prisma_migrations') IS NOT NULL")
      .GetBool(0, 0);
}

std::string Replace(const std::string& text, const std::string& from, const std::string& to) {
  std::string out;
  size_t at = 0;
  for (size_t found; (found = text.find(from, at)) != std::string::npos; at = found + from.size())
    out += text.substr(at, found - at) + to;
  return out + text.substr(at);
}

}  // namespace

void EnsureTable(Connection& connection) {
  if (!TableExists(connection)) connection.Exec(kCreateTable);
}

std::map<std::string, AppliedVersion> Read(Connection& connection) {
  std::map<std::string, AppliedVersion> out;
  if (!TableExists(connection)) return out;
  Result rows = connection.Exec(
      "SELECT migration_name, checksum, finished_at IS NULL, "
      "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
      "FROM public._prisma_migrations WHERE rolled_back_at IS NULL "
      "ORDER BY started_at, finished_at NULLS LAST");
  for (int row = 0; row < rows.Rows(); ++row) {
    AppliedVersion applied;
    applied.version = rows.Get(row, 0);
    size_t cut = applied.version.find('_');
    applied.name = cut == std::string::npos ? applied.version : applied.version.substr(cut + 1);
    applied.sha256 = rows.Get(row, 1);
    applied.failed = rows.GetBool(row, 2);
    applied.applied_at = rows.GetOptional(row, 3);
    auto [it, inserted] = out.emplace(applied.version, applied);
    // A finished row outweighs a failed attempt of the same name.
    if (!inserted && (it->second.failed || !applied.failed)) it->second = applied;
  }
  return out;
}

bool ChecksumMatches(const std::string& checksum, const std::string& content) {
  std::string lf = Replace(content, "\r\n", "\n");
  for (const std::string& variant : {content, lf, Replace(lf, "\n", "\r\n")})
    if (Sha256Hex(variant) == checksum) return true;
  return false;
}

void Record(Connection& connection, const MigrationFile& file, bool ran) {
  if (ran) {
    connection.Exec(
        "INSERT INTO public._prisma_migrations (id, checksum, finished_at, migration_name, "
        "started_at, applied_steps_count) "
        "VALUES (gen_random_uuid()::text, $1, clock_timestamp(), $2, now(), 1)",
        {file.sha256, file.version});
    return;
  }
  connection.Exec(
      "UPDATE public._prisma_migrations SET rolled_back_at = now() "
      "WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL",
      {file.version});
  Result updated = connection.Exec(
      "UPDATE public._prisma_migrations SET checksum = $1 "
      "WHERE migration_name = $2 AND rolled_back_at IS NULL",
      {file.sha256, file.version});
  if (updated.AffectedRows() > 0) return;
  connection.Exec(
      "INSERT INTO public._prisma_migrations (id, checksum, finished_at, migration_name, logs, "
      "started_at) VALUES (gen_random_uuid()::text, $1, now(), $2, '', now())",
      {file.sha256, file.version});
}

void RollBack(Connection& connection, const std::vector<std::string>& names) {
  connection.Exec(
      "UPDATE public._prisma_migrations SET rolled_back_at = now() "
      "WHERE migration_name = ANY($1::text[]) AND rolled_back_at IS NULL",
      {TextArrayLiteral(names)});
}

}  // namespace freshet::prisma_history
