#include "tests/unit/rich_manifest.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace freshet::testing {

QualifiedName Name(const std::string& schema, const std::string& name) {
  return QualifiedName{schema, name};
}

Column MakeColumn(const std::string& name, const std::string& type) {
  Column column;
  column.name = name;
  column.type = type;
  return column;
}

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
  accounts.column_sequences = {{"id", Name("public", "accounts_id_seq")},
                               {"legacy_id", Name("public", "accounts_legacy_id_seq")}};
  accounts.user_triggers = {{"audit", 'O'}, {"replica_only", 'R'}, {"disabled", 'D'}};
  accounts.row_security = true;
  accounts.force_row_security = true;
  accounts.checks = {{"positive", "(balance > (0)::numeric)", true},
                     {"later", "(legacy_id <> 7)", false}};
  id.type_id = "bigint";
  email.binary_obstacle = "type aclitem has no binary form";
  accounts.columns[0].type_id = "bigint";
  accounts.columns[1].binary_obstacle = "type aclitem has no binary form";
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
  events_2026_01.partition_constraint = "((at IS NOT NULL) AND (at >= '2026-01-01'))";
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
  composite.referenced_columns = {"id", "at"};
  composite.match_full = true;
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
  primary.unique = true;
  primary.keys = {"id"};
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
  plain.keys = {"lower(x)", "\"menge\tstück\""};
  plain.predicate = "(x > 0)";
  plain.nulls_not_distinct = true;
  catalog.indexes.push_back(plain);

  TypeInfo mood;
  mood.name = "public.mood";
  mood.kind = 'e';
  mood.built_in = false;
  mood.enum_labels = {"sad", "ok", "happy \"quoted\""};
  catalog.types[mood.name] = mood;
  TypeInfo pair;
  pair.name = "\"Sales\".pair";
  pair.kind = 'c';
  pair.built_in = false;
  pair.attributes = {{"a", "integer"}, {"b", "character varying(10)"}};
  catalog.types[pair.name] = pair;
  TypeInfo positive;
  positive.name = "public.positive";
  positive.kind = 'd';
  positive.domain_base = "numeric(10,2)";
  positive.domain_base_id = "numeric";
  positive.domain_not_null = true;
  positive.domain_checks = {{"positive_check", "(VALUE > (0)::numeric)", true}};
  catalog.types[positive.name] = positive;
  TypeInfo acl;
  acl.name = "aclitem[]";
  acl.element = "aclitem";
  acl.binary_io = false;
  acl.names_objects = true;
  acl.range_subtype = "x";
  catalog.types[acl.name] = acl;
  catalog.other_relations = {{Name("public", "active accounts"), 'v'},
                             {Name("remote", "orders"), 'f'}};
  catalog.bypasses_row_security = true;
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
  manifest.source_xmin = "18446744073709551000";
  manifest.source_snapshot = "749:753:749,751";
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
  manifest.masking =
      SnapshotMasking{"0123456789abcdef",
                      "fedcba9876543210",
                      {"public.accounts.email: email", "Sales.\"Bestellpositionen äöü\".x: null"}};
  manifest.subset = "5% of public.accounts: 12 rows in 3 tables; 1 tables copied whole";
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
  EXPECT_EQ(a.type_id, b.type_id) << a.name;
  EXPECT_EQ(a.binary_obstacle, b.binary_obstacle) << a.name;
  EXPECT_EQ(a.binary_portable, b.binary_portable) << a.name;
  EXPECT_EQ(a.not_null, b.not_null) << a.name;
  EXPECT_EQ(a.default_expr, b.default_expr) << a.name;
  EXPECT_EQ(a.generated, b.generated) << a.name;
  EXPECT_EQ(a.identity, b.identity) << a.name;
}

void ExpectSame(const CheckConstraint& a, const CheckConstraint& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.expression, b.expression) << a.name;
  EXPECT_EQ(a.validated, b.validated) << a.name;
}

void ExpectSame(const ColumnSequence& a, const ColumnSequence& b) {
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
  ExpectSameList(a.column_sequences, b.column_sequences);
  ExpectSameList(a.user_triggers, b.user_triggers);
  EXPECT_EQ(a.row_security, b.row_security);
  EXPECT_EQ(a.force_row_security, b.force_row_security);
  EXPECT_EQ(a.partition_constraint, b.partition_constraint);
  ExpectSameList(a.checks, b.checks);
}

void ExpectSame(const TypeInfo& a, const TypeInfo& b) {
  SCOPED_TRACE(a.name);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.element, b.element);
  EXPECT_EQ(a.domain_base, b.domain_base);
  EXPECT_EQ(a.domain_base_id, b.domain_base_id);
  EXPECT_EQ(a.range_subtype, b.range_subtype);
  EXPECT_EQ(a.built_in, b.built_in);
  EXPECT_EQ(a.binary_io, b.binary_io);
  EXPECT_EQ(a.names_objects, b.names_objects);
  EXPECT_EQ(a.enum_labels, b.enum_labels);
  EXPECT_EQ(a.attributes, b.attributes);
  EXPECT_EQ(a.domain_not_null, b.domain_not_null);
  ExpectSameList(a.domain_checks, b.domain_checks);
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
  EXPECT_EQ(a.referenced_columns, b.referenced_columns);
  EXPECT_EQ(a.match_full, b.match_full);
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
  EXPECT_EQ(a.unique, b.unique);
  EXPECT_EQ(a.keys, b.keys);
  EXPECT_EQ(a.predicate, b.predicate);
  EXPECT_EQ(a.nulls_not_distinct, b.nulls_not_distinct);
}

void ExpectSame(const Catalog& a, const Catalog& b) {
  ExpectSameList(a.tables, b.tables);
  ExpectSameList(a.foreign_keys, b.foreign_keys);
  ExpectSameList(a.indexes, b.indexes);
  ASSERT_EQ(a.types.size(), b.types.size());
  for (const auto& [name, type] : a.types) {
    ASSERT_TRUE(b.types.count(name)) << name;
    ExpectSame(type, b.types.at(name));
  }
  ASSERT_EQ(a.other_relations.size(), b.other_relations.size());
  for (size_t i = 0; i < a.other_relations.size(); ++i) {
    EXPECT_EQ(a.other_relations[i].name, b.other_relations[i].name);
    EXPECT_EQ(a.other_relations[i].kind, b.other_relations[i].kind);
  }
  EXPECT_EQ(a.bypasses_row_security, b.bypasses_row_security);
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
  EXPECT_EQ(a.source_xmin, b.source_xmin);
  EXPECT_EQ(a.source_snapshot, b.source_snapshot);
  EXPECT_EQ(a.compression.level, b.compression.level);
  EXPECT_EQ(a.compression.threads, b.compression.threads);
  ExpectSame(a.catalog, b.catalog);
  ExpectSameList(a.tables, b.tables);
  ExpectSameList(a.sequences, b.sequences);
  ASSERT_EQ(a.masking.has_value(), b.masking.has_value());
  if (a.masking) {
    EXPECT_EQ(a.masking->rules, b.masking->rules);
    EXPECT_EQ(a.masking->key, b.masking->key);
    EXPECT_EQ(a.masking->columns, b.masking->columns);
  }
  EXPECT_EQ(a.subset, b.subset);
}

nlohmann::json ValidDocument() { return nlohmann::json::parse(ManifestToJson(RichManifest())); }

}  // namespace freshet::testing
