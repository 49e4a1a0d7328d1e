#include "tests/integration/sync_helpers.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <system_error>

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

ScratchDir::ScratchDir() {
  std::string pattern =
      (std::filesystem::path(::testing::TempDir()) / "freshet-snapshot-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
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

const char* const kCommonData = R"sql(
INSERT INTO "My Schema"."Parent" VALUES ('p"1'), ('ключ'), ('with space');
INSERT INTO "My Schema"."Order Items.v2" ("parent key", "select", "quote""d", "ñame", mood, moods, p, pos,
  amount, f4, f8, ts, t, d, tm, iv, b, j, jb, arr, tarr, nested, u, addr, net, mac, bits, rng, tsr, pt,
  ch, vc, tsv, big)
SELECT (ARRAY['p"1', 'ключ', 'with space', NULL])[1 + g % 4],
       CASE WHEN g % 5 = 0 THEN NULL ELSE E'tab\there\nnewline \\ backslash ''quote'' "dq" ' || g END,
       'q' || g, 'ü∂ƒ©˙∆˚¬ 漢字 🎉 ' || g,
       (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::"My Schema"."Mood",
       ARRAY['ok', 'happy']::"My Schema"."Mood"[], ROW(g, 'b,(' || g || ')')::public.pair, 1 + g,
       g * 1.125, (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '1.5e-40'])[1 + g % 5]::real,
       (ARRAY['NaN', 'Infinity', '-0', '0.1', '1e300'])[1 + g % 5]::float8,
       timestamptz '2024-02-29 23:59:59.999999+05:30' + g * interval '1 hour',
       timestamp '0044-03-15 12:00 BC' + g * interval '1 day', CASE WHEN g % 2 = 0 THEN date 'infinity' ELSE date '2024-01-01' + g END,
       time '23:59:59.5', interval '1 year 2 mons 3 days 04:05:06.789' * g,
       decode(repeat('00ff10', g % 7), 'hex'), '{"a": [1, 2, {"b": null}]}',
       jsonb_build_object('k', g, 'nested', jsonb_build_array(g, 'x', NULL)),
       ARRAY[g, NULL, -g], ARRAY['a,b', 'NULL', NULL, '{}', ''], ARRAY[[1, 2], [3, 4]],
       md5(g::text)::uuid, '2001:db8::1/64', '10.1.0.0/16', '08:00:2b:01:02:03', B'10101',
       int4range(g, g + 10), tstzrange('2024-01-01', NULL), point(g, -g), 'ab', 'v' || g,
       to_tsvector('english', 'The quick brown fox ' || g), CASE WHEN g = 1 THEN repeat('toast ', 40000) END
FROM generate_series(1, 300) g;
INSERT INTO public.events SELECT g, (ARRAY['a', 'b'])[1 + g % 2], date '2023-06-01' + g, 'e' || g
FROM generate_series(1, 1000) g;
INSERT INTO public.vehicles VALUES (1, 'bike'), (2, 'boat');
INSERT INTO public.cars VALUES (3, 'car', 4), (4, 'van', 5);
)sql";

PausePoint::PausePoint(std::string point) : point_(std::move(point)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "freshet-pause-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
}

PausePoint::~PausePoint() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

Environment PausePoint::Env() const {
  return {{"FRESHET_TEST_PAUSE_DIR", dir_.string()}, {"FRESHET_TEST_PAUSE_AT", point_}};
}

std::optional<std::string> PausePoint::WaitUntilPaused(BackgroundProcess& process,
                                                       std::optional<RunResult>* ended) {
  // The run writes `paused` (by rename, so it is whole) when it stops there;
  // each poll also sees whether it ended instead. No deadline but the test's.
  for (;;) {
    if (std::filesystem::exists(dir_ / "paused")) {
      std::ifstream in(dir_ / "paused");
      return std::string(std::istreambuf_iterator<char>(in), {});
    }
    if (auto result = process.WaitFor(std::chrono::milliseconds(10))) {
      if (ended) *ended = std::move(result);
      return std::nullopt;
    }
  }
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

nlohmann::json ReadJsonReport(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nlohmann::json::object();
  return nlohmann::json::parse(in);
}

nlohmann::json ReportEntry(const nlohmann::json& report, const std::string& table) {
  if (report.contains("tables"))
    for (const auto& entry : report["tables"])
      if (entry.value("table", "") == table) return entry;
  ADD_FAILURE() << "no report entry for " << table << " in " << report.dump();
  return nlohmann::json::object();
}

void PausePoint::Release() { std::ofstream(dir_ / "release") << "go"; }

}  // namespace freshet::testing
