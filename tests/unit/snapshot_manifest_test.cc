#include "sync/snapshot_manifest.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "copy/error.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint64_t kMaxUnsigned = std::numeric_limits<uint64_t>::max();
constexpr int64_t kMaxSigned = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinSigned = std::numeric_limits<int64_t>::min();
constexpr const char* kOrigin = "snap/manifest.json";

QualifiedName Name(const std::string& schema, const std::string& name) {
  return QualifiedName{schema, name};
}

Column MakeColumn(const std::string& name, const std::string& type) {
  Column column;
  column.name = name;
  column.type = type;
  return column;
}

// public.accounts (identity key, generated column, triggers, inherited by
// public.accounts_archive), a two-level partitioned public.events, and a
// mixed-case, non-ASCII "Sales"."Bestellpositionen äöü", with foreign keys
// and every kind of index among them. Every optional field appears both set
// and unset; every integer field takes an extreme value somewhere.
Catalog RichCatalog() {
  Catalog catalog;
  catalog.system_identifier = kMaxUnsigned;
  catalog.database = "app";
  catalog.server_version = 150018;

  Table accounts;
  accounts.name = Name("public", "accounts");
  Column id = MakeColumn("id", "bigint");
  id.binary_portable = true;
  id.not_null = true;
  id.identity = 'a';
  Column email = MakeColumn("email", "text");
  email.not_null = true;
  Column created = MakeColumn("created_at", "timestamp with time zone");
  created.binary_portable = true;
  created.default_expr = "now()";
  Column balance = MakeColumn("balance", "numeric(14,2)");
  balance.default_expr = "(credit - debit)";
  balance.generated = true;
  Column legacy = MakeColumn("legacy_id", "integer");
  legacy.identity = 'd';
  accounts.columns = {id, email, created, balance, legacy};
  accounts.primary_key = {"id"};
  accounts.has_inheritance_children = true;
  accounts.estimated_rows = kMaxSigned;
  accounts.bytes = kMinSigned;
  accounts.heap_bytes = kMaxSigned;
  accounts.owned_by_current_user = true;
  accounts.owned_sequences = {{"id", Name("public", "accounts_id_seq")},
                              {"legacy_id", Name("public", "accounts_legacy_id_seq")}};
  accounts.user_triggers = {{"audit", 'O'}, {"replica_only", 'R'}, {"disabled", 'D'}};
  catalog.tables.push_back(accounts);

  Table archive;
  archive.name = Name("public", "accounts_archive");
  archive.columns = {id, email};
  archive.inherits_from = {Name("public", "accounts"), Name("audit", "stamped")};
  archive.estimated_rows = 0;
  archive.bytes = 8192;
  catalog.tables.push_back(archive);

  Table events;
  events.name = Name("public", "events");
  events.kind = TableKind::kPartitioned;
  Column at = MakeColumn("at", "timestamp with time zone");
  at.not_null = true;
  Column payload = MakeColumn("payload", "jsonb");
  payload.default_expr = "'{}'::jsonb";
  events.columns = {id, at, payload};
  events.primary_key = {"id", "at"};
  catalog.tables.push_back(events);

  Table events_2026 = events;
  events_2026.name = Name("public", "events_2026");
  events_2026.partition_root = Name("public", "events");
  events_2026.partition_parent = Name("public", "events");
  events_2026.partition_bound = "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')";
  catalog.tables.push_back(events_2026);

  Table events_2026_01 = events_2026;
  events_2026_01.name = Name("public", "events_2026_01");
  events_2026_01.kind = TableKind::kTable;
  events_2026_01.partition_parent = Name("public", "events_2026");
  events_2026_01.partition_bound = "FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')";
  events_2026_01.estimated_rows = 123456789;
  events_2026_01.bytes = kMaxSigned;
  events_2026_01.heap_bytes = kMinSigned;
  catalog.tables.push_back(events_2026_01);

  Table items;
  items.name = Name("Sales", "Bestellpositionen äöü");
  items.columns = {MakeColumn("Order \"ID\"", "integer"), MakeColumn("menge\tstück", "smallint")};
  items.user_triggers = {{"always", 'A'}};
  catalog.tables.push_back(items);

  ForeignKey to_accounts;
  to_accounts.name = "events_account_fkey";
  to_accounts.table = Name("public", "events");
  to_accounts.referenced = Name("public", "accounts");
  to_accounts.columns = {"account_id"};
  to_accounts.columns_nullable = true;
  to_accounts.deferrable = true;
  to_accounts.validated = false;
  to_accounts.definition =
      "FOREIGN KEY (account_id) REFERENCES accounts(id) DEFERRABLE INITIALLY DEFERRED NOT VALID";
  catalog.foreign_keys.push_back(to_accounts);
  ForeignKey composite;
  composite.name = "items_event_fkey";
  composite.table = Name("Sales", "Bestellpositionen äöü");
  composite.referenced = Name("public", "events");
  composite.columns = {"event_id", "event_at"};
  composite.definition = "FOREIGN KEY (event_id, event_at) REFERENCES public.events(id, at)";
  catalog.foreign_keys.push_back(composite);

  Index primary;
  primary.table = Name("public", "accounts");
  primary.name = "accounts_pkey";
  primary.definition = "CREATE UNIQUE INDEX accounts_pkey ON public.accounts USING btree (id)";
  primary.constraint_name = "accounts_pkey";
  primary.constraint_type = 'p';
  primary.constraint_definition = "PRIMARY KEY (id)";
  primary.clustered = true;
  primary.bytes = kMaxSigned;
  catalog.indexes.push_back(primary);
  Index unique = primary;
  unique.name = "accounts_email_key";
  unique.definition = "CREATE UNIQUE INDEX accounts_email_key ON public.accounts (email)";
  unique.constraint_name = "accounts_email_key";
  unique.constraint_type = 'u';
  unique.constraint_definition = "UNIQUE (email)";
  unique.replica_identity = true;
  unique.clustered = false;
  unique.bytes = 0;
  catalog.indexes.push_back(unique);
  Index exclusion;
  exclusion.table = Name("public", "events");
  exclusion.name = "events_no_overlap";
  exclusion.definition = "CREATE INDEX events_no_overlap ON ONLY public.events USING gist (r)";
  exclusion.constraint_name = "events_no_overlap";
  exclusion.constraint_type = 'x';
  exclusion.constraint_definition = "EXCLUDE USING gist (r WITH &&)";
  exclusion.partitions = {
      {Name("public", "events_2026_01"), "events_2026_01_r_excl",
       "CREATE INDEX events_2026_01_r_excl ON public.events_2026_01 USING gist (r)",
       "events_2026_01_r_excl", "EXCLUDE USING gist (r WITH &&)"},
      {Name("public", "events_2026_02"), "events_2026_02_r_idx",
       "CREATE INDEX events_2026_02_r_idx ON public.events_2026_02 USING gist (r)", "", ""}};
  catalog.indexes.push_back(exclusion);
  Index plain;
  plain.table = Name("Sales", "Bestellpositionen äöü");
  plain.name = "items_menge_idx";
  plain.definition = "CREATE INDEX items_menge_idx ON \"Sales\".\"Bestellpositionen äöü\" (x)";
  plain.valid = false;
  plain.bytes = kMinSigned;
  catalog.indexes.push_back(plain);
  return catalog;
}

SnapshotFile MakeFile(const std::string& path, const QualifiedName& relation, uint64_t rows,
                      const std::string& digest, FileDigest file) {
  return SnapshotFile{path, relation, rows, RowDigest::Parse(digest), std::move(file)};
}

SnapshotManifest RichManifest() {
  SnapshotManifest manifest;
  manifest.freshet_version = "0.1.0";
  manifest.created_at = "2026-01-02T03:04:05Z";
  manifest.snapshot_time = "2026-01-02T03:00:00.123456Z";
  manifest.source = "app@prod:5432/app";
  manifest.source_server_version = "15.18";
  manifest.compression.level = -5;
  manifest.compression.threads = 4;
  manifest.catalog = RichCatalog();

  SnapshotTable accounts;
  accounts.name = Name("public", "accounts");
  accounts.columns = {"id", "email", "created_at", "legacy_id"};
  accounts.rows = kMaxUnsigned;
  accounts.digest = RowDigest::Parse("18446744073709551615:ffffffffffffffff");
  accounts.files = {
      MakeFile("data/0001.copy.zst", Name("public", "accounts"), kMaxUnsigned,
               "18446744073709551615:0123456789abcdef",
               {kMaxUnsigned, kMaxUnsigned - 1, "0123456789abcdef", "fedcba9876543210"}),
      MakeFile("data/0002.copy.zst", Name("public", "accounts"), 0, "0:0000000000000000",
               {19 + 2, 30, "", "00000000000000ff"}),
  };
  manifest.tables.push_back(accounts);

  SnapshotTable events;
  events.name = Name("public", "events");
  events.columns = {"id", "at", "payload"};
  events.format = StreamFormat::kText;
  events.rows = 3;
  events.digest = RowDigest::Parse("3:00000000000000aa");
  events.files = {MakeFile("./data/sub dir/events_2026_01.copy.zst",
                           Name("public", "events_2026_01"), 3, "3:00000000000000aa",
                           {300, 120, "1111111111111111", "2222222222222222"})};
  manifest.tables.push_back(events);

  SnapshotTable items;  // captured empty: no files at all
  items.name = Name("Sales", "Bestellpositionen äöü");
  items.columns = {"Order \"ID\"", "menge\tstück"};
  manifest.tables.push_back(items);

  manifest.sequences = {{Name("public", "accounts_id_seq"), kMaxSigned},
                        {Name("public", "accounts_legacy_id_seq"), kMinSigned},
                        {Name("Sales", "never used"), std::nullopt}};
  return manifest;
}

// ------------------------------------------------------- field-by-field equality

void ExpectSame(const Table& a, const Table& b);
void ExpectSame(const ForeignKey& a, const ForeignKey& b);
void ExpectSame(const Index& a, const Index& b);
void ExpectSame(const PartitionIndex& a, const PartitionIndex& b);
void ExpectSame(const SnapshotFile& a, const SnapshotFile& b);
void ExpectSame(const SnapshotTable& a, const SnapshotTable& b);
void ExpectSame(const SnapshotSequence& a, const SnapshotSequence& b);

void ExpectSame(const Column& a, const Column& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.binary_portable, b.binary_portable) << a.name;
  EXPECT_EQ(a.not_null, b.not_null) << a.name;
  EXPECT_EQ(a.default_expr, b.default_expr) << a.name;
  EXPECT_EQ(a.generated, b.generated) << a.name;
  EXPECT_EQ(a.identity, b.identity) << a.name;
}

void ExpectSame(const OwnedSequence& a, const OwnedSequence& b) {
  EXPECT_EQ(a.column, b.column);
  EXPECT_EQ(a.sequence, b.sequence);
}

void ExpectSame(const Trigger& a, const Trigger& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.enabled, b.enabled) << a.name;
}

template <typename T>
void ExpectSameList(const std::vector<T>& a, const std::vector<T>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(fmt::format("element {}", i));
    ExpectSame(a[i], b[i]);
  }
}

void ExpectSame(const Table& a, const Table& b) {
  SCOPED_TRACE(a.name.Display());
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.kind, b.kind);
  ExpectSameList(a.columns, b.columns);
  EXPECT_EQ(a.primary_key, b.primary_key);
  EXPECT_EQ(a.partition_root, b.partition_root);
  EXPECT_EQ(a.partition_parent, b.partition_parent);
  EXPECT_EQ(a.partition_bound, b.partition_bound);
  EXPECT_EQ(a.inherits_from, b.inherits_from);
  EXPECT_EQ(a.has_inheritance_children, b.has_inheritance_children);
  EXPECT_EQ(a.estimated_rows, b.estimated_rows);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.heap_bytes, b.heap_bytes);
  EXPECT_EQ(a.owned_by_current_user, b.owned_by_current_user);
  ExpectSameList(a.owned_sequences, b.owned_sequences);
  ExpectSameList(a.user_triggers, b.user_triggers);
}

void ExpectSame(const ForeignKey& a, const ForeignKey& b) {
  SCOPED_TRACE(a.name);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.table, b.table);
  EXPECT_EQ(a.referenced, b.referenced);
  EXPECT_EQ(a.columns, b.columns);
  EXPECT_EQ(a.columns_nullable, b.columns_nullable);
  EXPECT_EQ(a.deferrable, b.deferrable);
  EXPECT_EQ(a.validated, b.validated);
  EXPECT_EQ(a.definition, b.definition);
}

void ExpectSame(const PartitionIndex& a, const PartitionIndex& b) {
  SCOPED_TRACE(a.name);
  EXPECT_EQ(a.table, b.table);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.definition, b.definition);
  EXPECT_EQ(a.constraint_name, b.constraint_name);
  EXPECT_EQ(a.constraint_definition, b.constraint_definition);
}

void ExpectSame(const Index& a, const Index& b) {
  SCOPED_TRACE(a.name);
  EXPECT_EQ(a.table, b.table);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.definition, b.definition);
  EXPECT_EQ(a.constraint_name, b.constraint_name);
  EXPECT_EQ(a.constraint_type, b.constraint_type);
  EXPECT_EQ(a.constraint_definition, b.constraint_definition);
  EXPECT_EQ(a.replica_identity, b.replica_identity);
  EXPECT_EQ(a.clustered, b.clustered);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_EQ(a.bytes, b.bytes);
  ExpectSameList(a.partitions, b.partitions);
}

void ExpectSame(const Catalog& a, const Catalog& b) {
  ExpectSameList(a.tables, b.tables);
  ExpectSameList(a.foreign_keys, b.foreign_keys);
  ExpectSameList(a.indexes, b.indexes);
  EXPECT_EQ(a.system_identifier, b.system_identifier);
  EXPECT_EQ(a.database, b.database);
  EXPECT_EQ(a.server_version, b.server_version);
}

void ExpectSame(const SnapshotFile& a, const SnapshotFile& b) {
  SCOPED_TRACE(a.path);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.relation, b.relation);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.file, b.file);
}

void ExpectSame(const SnapshotTable& a, const SnapshotTable& b) {
  SCOPED_TRACE(a.name.Display());
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.columns, b.columns);
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.digest, b.digest);
  ExpectSameList(a.files, b.files);
}

void ExpectSame(const SnapshotSequence& a, const SnapshotSequence& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.last_value, b.last_value) << a.name.Display();
}

void ExpectSame(const SnapshotManifest& a, const SnapshotManifest& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.freshet_version, b.freshet_version);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.snapshot_time, b.snapshot_time);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.source_server_version, b.source_server_version);
  EXPECT_EQ(a.compression.level, b.compression.level);
  EXPECT_EQ(a.compression.threads, b.compression.threads);
  ExpectSame(a.catalog, b.catalog);
  ExpectSameList(a.tables, b.tables);
  ExpectSameList(a.sequences, b.sequences);
}

// The manifest must carry every field of these structs, and ExpectSame must
// compare every one. Adding or removing a field stops this from compiling:
// then update snapshot_manifest.cc (writer, reader, layout comment), the
// ExpectSame above and RichCatalog, and adjust the count here.
TEST(ManifestJson, KnowsEveryFieldOfTheStructsItSerializes) {
  [[maybe_unused]] auto [c1, c2, c3, c4, c5, c6, c7] = Column{};
  [[maybe_unused]] auto [o1, o2] = OwnedSequence{};
  [[maybe_unused]] auto [g1, g2] = Trigger{};
  [[maybe_unused]] auto [t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15] =
      Table{};
  [[maybe_unused]] auto [f1, f2, f3, f4, f5, f6, f7, f8] = ForeignKey{};
  [[maybe_unused]] auto [p1, p2, p3, p4, p5] = PartitionIndex{};
  [[maybe_unused]] auto [i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11] = Index{};
  [[maybe_unused]] auto [k1, k2, k3, k4, k5, k6] = Catalog{};
  [[maybe_unused]] auto [q1, q2] = QualifiedName{};
  [[maybe_unused]] auto [d1, d2, d3, d4] = FileDigest{};
  [[maybe_unused]] auto [z1, z2] = ZstdOptions{};
  [[maybe_unused]] auto [s1, s2, s3, s4, s5] = SnapshotFile{};
  [[maybe_unused]] auto [b1, b2, b3, b4, b5, b6] = SnapshotTable{};
  [[maybe_unused]] auto [n1, n2] = SnapshotSequence{};
  [[maybe_unused]] auto [m1, m2, m3, m4, m5, m6, m7, m8, m9, m10] = SnapshotManifest{};
}

// ------------------------------------------------------------------ helpers

json ValidDocument() { return json::parse(ManifestToJson(RichManifest())); }

// The message of the Error that reading `text` throws (checking that it is a
// usage error), or "" when the text is accepted.
std::string RejectionOf(const std::string& text) {
  try {
    ManifestFromJson(text, kOrigin);
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kUsage) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "accepted: " << text.substr(0, 200);
  return {};
}

std::string RejectionOf(const char* text) { return RejectionOf(std::string(text)); }
std::string RejectionOf(const json& document) { return RejectionOf(document.dump()); }

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------- round trip

TEST(ManifestJson, RoundTripKeepsEveryField) {
  SnapshotManifest original = RichManifest();
  SnapshotManifest read = ManifestFromJson(ManifestToJson(original), kOrigin);
  ExpectSame(read, original);
}

TEST(ManifestJson, RoundTripOfAnEmptyManifest) {
  SnapshotManifest original;
  ExpectSame(ManifestFromJson(ManifestToJson(original), kOrigin), original);
}

TEST(ManifestJson, WritingIsStable) {
  std::string text = ManifestToJson(RichManifest());
  EXPECT_EQ(ManifestToJson(ManifestFromJson(text, kOrigin)), text);
}

TEST(ManifestJson, TopLevelKeysComeInTheDocumentedOrder) {
  nlohmann::ordered_json document = nlohmann::ordered_json::parse(ManifestToJson(RichManifest()));
  std::vector<std::string> keys;
  for (const auto& item : document.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"format", "version", "freshet_version", "created_at",
                                            "snapshot_time", "source", "source_server_version",
                                            "compression", "catalog", "tables", "sequences"}));
  EXPECT_EQ(document["format"], "freshet-snapshot");
  EXPECT_EQ(document["version"], 1);
  EXPECT_EQ(document["compression"]["algorithm"], "zstd");
}

TEST(ManifestJson, LargeUnsignedValuesAreWrittenExactly) {
  std::string text = ManifestToJson(RichManifest());
  json document = json::parse(text);
  const json& file = document["tables"][0]["files"][0];
  EXPECT_TRUE(file["rows"].is_number_unsigned());
  EXPECT_EQ(file["rows"].get<uint64_t>(), kMaxUnsigned);
  EXPECT_EQ(file["compressed_bytes"].get<uint64_t>(), kMaxUnsigned - 1);
  EXPECT_TRUE(Contains(text, "\"raw_bytes\": 18446744073709551615")) << text;
  EXPECT_EQ(document["catalog"]["system_identifier"], "18446744073709551615");
}

TEST(ManifestJson, TablesAndFilesUseTheDocumentedKeys) {
  json document = ValidDocument();
  const json& table = document["tables"][1];
  EXPECT_EQ(table["schema"], "public");
  EXPECT_EQ(table["name"], "events");
  EXPECT_EQ(table["format"], "text");
  EXPECT_EQ(table["digest"], "3:00000000000000aa");
  const json& file = table["files"][0];
  EXPECT_EQ(file["relation"], (json{{"schema", "public"}, {"name", "events_2026_01"}}));
  EXPECT_EQ(file["raw_xxh3"], "1111111111111111");
  EXPECT_EQ(file["file_xxh3"], "2222222222222222");
  EXPECT_EQ(document["tables"][0]["format"], "binary");
}

TEST(ManifestJson, AbsentOptionalValuesAreNull) {
  json document = ValidDocument();
  EXPECT_TRUE(document["sequences"][2]["last_value"].is_null());
  const json& accounts = document["catalog"]["tables"][0];
  EXPECT_TRUE(accounts["partition_root"].is_null());
  EXPECT_TRUE(accounts["partition_parent"].is_null());
  EXPECT_TRUE(accounts["columns"][1]["default_expr"].is_null());
  EXPECT_EQ(accounts["columns"][1]["identity"], "");
  EXPECT_EQ(accounts["columns"][0]["identity"], "a");
  EXPECT_EQ(accounts["kind"], "table");
  EXPECT_EQ(document["catalog"]["tables"][2]["kind"], "partitioned");
}

TEST(ManifestJson, UnknownKeysAreIgnored) {
  json document = ValidDocument();
  document["added_in_a_later_release"] = {1, 2, 3};
  document["tables"][0]["files"][0]["encryption"] = nullptr;
  document["catalog"]["tables"][0]["columns"][0]["collation"] = "C";
  ExpectSame(ManifestFromJson(document.dump(), kOrigin), RichManifest());
}

TEST(ManifestJson, TextThatIsNotUtf8CannotBeWritten) {
  SnapshotManifest manifest;
  manifest.source = "latin1 \xe9";
  try {
    ManifestToJson(manifest);
    FAIL() << "expected Error";
  } catch (const Error& error) {
    EXPECT_TRUE(Contains(error.what(), "cannot encode the snapshot manifest as JSON"))
        << error.what();
  }
}

// ---------------------------------------------------------- refused input

TEST(ManifestFromJson, MalformedJsonGivesPosition) {
  std::string message =
      RejectionOf("{\n  \"format\": \"freshet-snapshot\",\n  \"version\": 1,,\n}");
  EXPECT_TRUE(Contains(message, "snap/manifest.json: malformed JSON")) << message;
  EXPECT_TRUE(Contains(message, "line 3, column")) << message;
  EXPECT_FALSE(Contains(message, "json.exception")) << message;
}

TEST(ManifestFromJson, EmptyTextIsMalformed) {
  EXPECT_TRUE(Contains(RejectionOf(std::string()), "malformed JSON"));
}

TEST(ManifestFromJson, TopLevelMustBeAnObject) {
  EXPECT_EQ(RejectionOf("[1, 2]"),
            "snap/manifest.json: expected a JSON object, the snapshot manifest");
}

TEST(ManifestFromJson, MissingFieldIsNamedByItsPath) {
  json document = ValidDocument();
  document["tables"][1]["files"][0].erase("rows");
  EXPECT_EQ(RejectionOf(document), "snap/manifest.json: field tables[1].files[0].rows: missing");
}

TEST(ManifestFromJson, MissingTopLevelField) {
  json document = ValidDocument();
  document.erase("sequences");
  EXPECT_EQ(RejectionOf(document), "snap/manifest.json: field sequences: missing");
}

TEST(ManifestFromJson, MissingCatalogField) {
  json document = ValidDocument();
  document["catalog"]["indexes"][3].erase("valid");
  EXPECT_EQ(RejectionOf(document), "snap/manifest.json: field catalog.indexes[3].valid: missing");
}

TEST(ManifestFromJson, StringWhereUnsignedIntegerBelongs) {
  json document = ValidDocument();
  document["tables"][1]["files"][0]["rows"] = "3";
  EXPECT_EQ(RejectionOf(document),
            "snap/manifest.json: field tables[1].files[0].rows: expected an unsigned integer, "
            "found a string");
}

TEST(ManifestFromJson, NegativeOrFractionalRowCount) {
  json document = ValidDocument();
  document["tables"][0]["rows"] = -1;
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field tables[0].rows: expected an unsigned integer, found -1"));
  document["tables"][0]["rows"] = 1.5;
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field tables[0].rows: expected an unsigned integer, found 1.5"));
}

TEST(ManifestFromJson, UnsignedBeyond64BitsIsRefused) {
  std::string text = ManifestToJson(RichManifest());
  size_t at = text.find("18446744073709551615", text.find("\"raw_bytes\""));
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 20, "18446744073709551616");  // parsed as a double
  EXPECT_TRUE(Contains(RejectionOf(text),
                       "field tables[0].files[0].raw_bytes: expected an unsigned integer"));
}

TEST(ManifestFromJson, SignedFieldOutOfRange) {
  json document = ValidDocument();
  document["catalog"]["tables"][0]["estimated_rows"] = uint64_t{1} << 63;
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field catalog.tables[0].estimated_rows: expected a signed 64-bit integer"));
}

TEST(ManifestFromJson, WrongTypesInTheCatalog) {
  json document = ValidDocument();
  document["catalog"]["tables"][0]["columns"][2]["not_null"] = "yes";
  EXPECT_EQ(RejectionOf(document),
            "snap/manifest.json: field catalog.tables[0].columns[2].not_null: expected true or "
            "false, found a string");

  document = ValidDocument();
  document["catalog"]["tables"][0]["partition_bound"] = nullptr;
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field catalog.tables[0].partition_bound: expected a string, found null"));

  document = ValidDocument();
  document["catalog"]["tables"][0]["columns"][0]["default_expr"] = 5;
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field catalog.tables[0].columns[0].default_expr: expected a string"));

  document = ValidDocument();
  document["catalog"]["tables"][0]["columns"][0]["identity"] = "always";
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field catalog.tables[0].columns[0].identity: "
                       "expected a string of at most one character"));

  document = ValidDocument();
  document["catalog"]["tables"][0]["kind"] = "view";
  EXPECT_TRUE(Contains(RejectionOf(document), "field catalog.tables[0].kind: expected \"table\""));

  document = ValidDocument();
  document["catalog"]["tables"][1]["inherits_from"] = {"public.accounts"};
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field catalog.tables[1].inherits_from[0]: expected an object"));
}

TEST(ManifestFromJson, SystemIdentifierMustBeADecimalString) {
  json document = ValidDocument();
  document["catalog"]["system_identifier"] = 7;
  EXPECT_TRUE(
      Contains(RejectionOf(document), "field catalog.system_identifier: expected a string"));
  for (const char* bad : {"", "-1", "12x", "18446744073709551616"}) {
    document["catalog"]["system_identifier"] = bad;
    EXPECT_TRUE(Contains(RejectionOf(document),
                         "field catalog.system_identifier: expected an "
                         "unsigned 64-bit integer"))
        << bad;
  }
}

TEST(ManifestFromJson, ArrayElementOfWrongType) {
  json document = ValidDocument();
  document["tables"][0]["columns"][1] = 42;
  EXPECT_TRUE(
      Contains(RejectionOf(document), "field tables[0].columns[1]: expected a string, found 42"));
  document = ValidDocument();
  document["tables"] = json::object();
  EXPECT_TRUE(Contains(RejectionOf(document), "field tables: expected an array, found an object"));
}

TEST(ManifestFromJson, BadDigestIsAUsageErrorNamingTheField) {
  json document = ValidDocument();
  document["tables"][0]["files"][1]["digest"] = "zero rows";
  EXPECT_TRUE(
      Contains(RejectionOf(document), "snap/manifest.json: field tables[0].files[1].digest"));
}

TEST(ManifestFromJson, BadChecksum) {
  json document = ValidDocument();
  document["tables"][0]["files"][0]["file_xxh3"] = "0123456789ABCDEF";
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field tables[0].files[0].file_xxh3: expected 16 lowercase hex digits"));
}

TEST(ManifestFromJson, UnknownStreamFormatOrCompression) {
  json document = ValidDocument();
  document["tables"][0]["format"] = "csv";
  EXPECT_TRUE(Contains(RejectionOf(document), "field tables[0].format: expected \"binary\""));
  document = ValidDocument();
  document["compression"]["algorithm"] = "lz4";
  EXPECT_TRUE(Contains(RejectionOf(document),
                       "field compression.algorithm: compression \"lz4\" is not supported"));
}

TEST(ManifestFromJson, UnknownVersionIsRefusedSayingWhichVersionsAreKnown) {
  json document = ValidDocument();
  document["version"] = 2;
  EXPECT_EQ(RejectionOf(document),
            "snap/manifest.json: snapshot format version 2 is not supported (this freshet reads "
            "version 1)");
}

TEST(ManifestFromJson, VersionIsCheckedBeforeAnyOtherField) {
  EXPECT_TRUE(Contains(RejectionOf(R"({"format": "freshet-snapshot", "version": 7})"),
                       "snapshot format version 7 is not supported"));
}

TEST(ManifestFromJson, VersionMustBeAnInteger) {
  json document = ValidDocument();
  document["version"] = "1";
  EXPECT_EQ(RejectionOf(document),
            "snap/manifest.json: field version: expected an integer, found a string");
}

TEST(ManifestFromJson, UnknownFormatIsRefused) {
  json document = ValidDocument();
  document["format"] = "pg_dump";
  std::string message = RejectionOf(document);
  EXPECT_TRUE(Contains(message, "snap/manifest.json: not a freshet snapshot manifest")) << message;
  EXPECT_TRUE(Contains(message, "pg_dump")) << message;
  EXPECT_EQ(RejectionOf("{}"), "snap/manifest.json: field format: missing");
}

TEST(ManifestFromJson, AbsoluteFilePathIsRefused) {
  json document = ValidDocument();
  document["tables"][0]["files"][1]["path"] = "/etc/passwd";
  std::string message = RejectionOf(document);
  EXPECT_TRUE(Contains(message, "field tables[0].files[1].path: \"/etc/passwd\" is absolute"))
      << message;
}

TEST(ManifestFromJson, FilePathLeavingTheDirectoryIsRefused) {
  for (const char* path : {"..", "../other/data.zst", "data/../../etc/passwd", "data/.."}) {
    json document = ValidDocument();
    document["tables"][1]["files"][0]["path"] = path;
    std::string message = RejectionOf(document);
    EXPECT_TRUE(Contains(message, "field tables[1].files[0].path:")) << message;
    EXPECT_TRUE(Contains(message, "leaves the snapshot directory")) << message;
  }
}

TEST(ManifestFromJson, EmptyOrDirectoryFilePathIsRefused) {
  for (const char* path : {"", "data/", "."}) {
    json document = ValidDocument();
    document["tables"][1]["files"][0]["path"] = path;
    EXPECT_TRUE(Contains(RejectionOf(document), "field tables[1].files[0].path:")) << path;
  }
  json document = ValidDocument();
  document["tables"][1]["files"][0]["path"] = std::string("data/a\0b", 8);
  EXPECT_TRUE(Contains(RejectionOf(document), "may not contain NUL"));
}

TEST(ManifestFromJson, TheSameFileListedTwiceIsRefused) {
  json document = ValidDocument();
  document["tables"][1]["files"][0]["path"] = "data/./0001.copy.zst";
  EXPECT_EQ(RejectionOf(document),
            "snap/manifest.json: field tables[1].files[0].path: \"data/./0001.copy.zst\" is the "
            "same file as tables[0].files[0].path");
}

// ---------------------------------------------------------------- members

TEST(SnapshotManifest, FindAndTotals) {
  SnapshotManifest manifest;
  SnapshotTable a;
  a.name = Name("public", "a");
  a.rows = 10;
  a.files = {MakeFile("a1", a.name, 4, "4:0000000000000001", {100, 40, "", ""}),
             MakeFile("a2", a.name, 6, "6:0000000000000002", {150, 60, "", ""})};
  SnapshotTable b;
  b.name = Name("public", "b");
  b.rows = 5;
  b.files = {MakeFile("b1", b.name, 5, "5:0000000000000003", {1000, 7, "", ""})};
  manifest.tables = {a, b};

  ASSERT_NE(manifest.Find(Name("public", "b")), nullptr);
  EXPECT_EQ(manifest.Find(Name("public", "b"))->rows, 5u);
  EXPECT_EQ(manifest.Find(Name("other", "b")), nullptr);
  EXPECT_EQ(manifest.TotalRows(), 15u);
  EXPECT_EQ(manifest.RawBytes(), 1250u);
  EXPECT_EQ(manifest.CompressedBytes(), 107u);
  EXPECT_EQ(SnapshotManifest().TotalRows(), 0u);
}

// ------------------------------------------------------------------- files

class ManifestFilesTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "freshet-manifest-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    return names;
  }

  fs::path dir_;
};

// The message of the Error `call` throws, checking its kind.
template <typename Call>
std::string ErrorOf(Call call, ErrorKind kind) {
  try {
    call();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), kind) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return {};
}

TEST_F(ManifestFilesTest, WrittenManifestReadsBackEqual) {
  WriteManifest(dir_, RichManifest());
  ExpectSame(ReadManifest(dir_), RichManifest());
}

TEST_F(ManifestFilesTest, WriteLeavesOnlyManifestJson) {
  std::ofstream(dir_ / "manifest.json.tmp") << "left by a crash";
  WriteManifest(dir_, RichManifest());
  WriteManifest(dir_, SnapshotManifest());  // replaces the first
  EXPECT_EQ(Entries(), std::vector<std::string>{"manifest.json"});
  EXPECT_TRUE(ReadManifest(dir_).tables.empty());
}

TEST_F(ManifestFilesTest, WriteIntoMissingDirectoryNamesThePath) {
  fs::path missing = dir_ / "missing";
  std::string message = ErrorOf([&] { WriteManifest(missing, {}); }, ErrorKind::kRuntime);
  EXPECT_TRUE(Contains(message, (missing / "manifest.json").string())) << message;
  EXPECT_TRUE(Contains(message, "No such file or directory")) << message;
}

TEST_F(ManifestFilesTest, ReadingAMissingDirectorySaysSo) {
  fs::path missing = dir_ / "snap-2026";
  std::string message = ErrorOf([&] { ReadManifest(missing); }, ErrorKind::kUsage);
  EXPECT_EQ(message, fmt::format("snapshot directory {} does not exist", missing.string()));
}

TEST_F(ManifestFilesTest, ReadingADirectoryWithoutManifestSaysItIsNoSnapshot) {
  std::ofstream(dir_ / "0001.copy.zst") << "data";
  std::string message = ErrorOf([&] { ReadManifest(dir_); }, ErrorKind::kUsage);
  EXPECT_TRUE(Contains(message, dir_.string() + " is not a snapshot (no manifest.json)"))
      << message;
  EXPECT_TRUE(Contains(message, ".partial")) << message;
}

TEST_F(ManifestFilesTest, ReadingAFileInsteadOfADirectory) {
  std::ofstream(dir_ / "manifest.json") << "{}";
  std::string message = ErrorOf([&] { ReadManifest(dir_ / "manifest.json"); }, ErrorKind::kUsage);
  EXPECT_TRUE(Contains(message, "is not a snapshot")) << message;
}

TEST_F(ManifestFilesTest, ErrorsInTheFileNameItsPath) {
  std::ofstream(dir_ / "manifest.json") << R"({"format": "freshet-snapshot", "version": 2})";
  std::string message = ErrorOf([&] { ReadManifest(dir_); }, ErrorKind::kUsage);
  EXPECT_EQ(message, (dir_ / "manifest.json").string() +
                         ": snapshot format version 2 is not supported (this freshet reads "
                         "version 1)");
}

}  // namespace
}  // namespace freshet
