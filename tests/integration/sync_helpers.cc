#include "tests/integration/sync_helpers.h"

#include <algorithm>
#include <sstream>

#include "copy/identifiers.h"

namespace freshet::testing {

RunResult Freshet(const std::vector<std::string>& args, const Environment& env) {
  std::vector<std::string> argv{FreshetBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, env);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

namespace {

std::string SqlList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += "'" + item + "'";
  }
  return out;
}

std::string QuoteTable(const std::string& table) {
  auto dot = table.find('.');
  return QuoteIdent(table.substr(0, dot)) + "." + QuoteIdent(table.substr(dot + 1));
}

std::vector<std::string> Columns(const PgCluster& cluster, const std::string& db,
                                 const std::string& table, bool skip_generated) {
  auto dot = table.find('.');
  return Lines(
      cluster.Psql(db,
                   "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                   "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '" +
                       table.substr(0, dot) + "' AND c.relname = '" + table.substr(dot + 1) +
                       "' AND a.attnum > 0 AND NOT a.attisdropped" +
                       (skip_generated ? " AND a.attgenerated = ''" : "") + " ORDER BY a.attnum"));
}

}  // namespace

std::vector<std::string> UserTables(const PgCluster& cluster, const std::string& db,
                                    const std::vector<std::string>& schemas) {
  return Lines(cluster.Psql(
      db,
      "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON "
      "n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND "
      "n.nspname IN (" +
          SqlList(schemas) + ") ORDER BY 1"));
}

std::vector<std::string> SharedColumns(const PgCluster& source, const std::string& source_db,
                                       const PgCluster& target, const std::string& target_db,
                                       const std::string& table) {
  std::vector<std::string> source_columns = Columns(source, source_db, table, false);
  std::vector<std::string> shared;
  for (const auto& column : Columns(target, target_db, table, true))
    if (std::count(source_columns.begin(), source_columns.end(), column)) shared.push_back(column);
  return shared;
}

std::string TableDigest(const PgCluster& cluster, const std::string& db, const std::string& table,
                        const std::vector<std::string>& columns) {
  std::string row = "ROW(";
  for (size_t i = 0; i < columns.size(); ++i) row += (i ? ", " : "") + QuoteIdent(columns[i]);
  row += ")::text";
  return cluster.Psql(db,
                      "SELECT count(*) || ' ' || coalesce(md5(string_agg(r, E'\\n' ORDER BY "
                      "r)), '-') FROM (SELECT " +
                          row + " AS r FROM " + QuoteTable(table) + ") rows");
}

std::vector<std::string> DifferingTables(const PgCluster& source, const std::string& source_db,
                                         const PgCluster& target, const std::string& target_db,
                                         const std::vector<std::string>& schemas) {
  std::vector<std::string> source_tables = UserTables(source, source_db, schemas);
  std::vector<std::string> differing;
  for (const auto& table : UserTables(target, target_db, schemas)) {
    if (!std::count(source_tables.begin(), source_tables.end(), table)) continue;
    auto columns = SharedColumns(source, source_db, target, target_db, table);
    if (TableDigest(source, source_db, table, columns) !=
        TableDigest(target, target_db, table, columns))
      differing.push_back(table);
  }
  return differing;
}

std::vector<std::string> InvalidConstraintsAndIndexes(const PgCluster& cluster,
                                                      const std::string& db) {
  return Lines(cluster.Psql(
      db,
      "SELECT 'constraint ' || conrelid::regclass || '.' || conname FROM pg_constraint "
      "WHERE NOT convalidated UNION ALL SELECT 'index ' || indexrelid::regclass FROM pg_index "
      "WHERE NOT indisvalid OR NOT indisready ORDER BY 1"));
}

std::vector<std::string> ForeignKeys(const PgCluster& cluster, const std::string& db) {
  return Lines(cluster.Psql(
      db,
      "SELECT n.nspname || '.' || c.relname || '.' || con.conname FROM pg_constraint con "
      "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = "
      "c.relnamespace WHERE con.contype = 'f' AND n.nspname NOT IN ('pg_catalog') "
      "ORDER BY 1"));
}

const char* const kCommonSchema = R"sql(
CREATE SCHEMA "My Schema";
CREATE TYPE "My Schema"."Mood" AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN public.positive_int AS int CHECK (VALUE > 0);
CREATE TYPE public.pair AS (a int, b text);
CREATE TABLE "My Schema"."Parent" ("Key" text PRIMARY KEY);
CREATE TABLE "My Schema"."Order Items.v2" (
  "Id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "parent key" text REFERENCES "My Schema"."Parent" ("Key"),
  "select" text, "quote""d" text, "ñame" text,
  mood "My Schema"."Mood", moods "My Schema"."Mood"[], p public.pair, pos public.positive_int,
  amount numeric(12,3), f4 real, f8 double precision, ts timestamptz, t timestamp, d date,
  tm time, iv interval, b bytea, j json, jb jsonb, arr int[], tarr text[], nested int[][],
  u uuid, addr inet, net cidr, mac macaddr, bits bit varying(10), rng int4range, tsr tstzrange,
  pt point, ch char(3), vc varchar(20), tsv tsvector, big text,
  total numeric GENERATED ALWAYS AS (amount * 2) STORED
);
CREATE TABLE public.events (id bigint, kind text, at date, payload text, PRIMARY KEY (id, kind, at))
  PARTITION BY LIST (kind);
CREATE TABLE public.events_a PARTITION OF public.events FOR VALUES IN ('a') PARTITION BY RANGE (at);
CREATE TABLE public.events_a_2024 PARTITION OF public.events_a FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.events_a_rest PARTITION OF public.events_a DEFAULT;
CREATE TABLE public.events_other PARTITION OF public.events DEFAULT;
CREATE TABLE public.vehicles (id int PRIMARY KEY, name text);
CREATE TABLE public.cars (doors int) INHERITS (public.vehicles);
)sql";

}  // namespace freshet::testing
