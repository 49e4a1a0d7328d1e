// A manifest with every field set somewhere (RichManifest) and field-by-field
// comparison of manifests (ExpectSame), shared by the manifest tests.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "sync/snapshot/snapshot_manifest.h"

namespace freshet::testing {

inline constexpr uint64_t kMaxUnsigned = std::numeric_limits<uint64_t>::max();
inline constexpr int64_t kMaxSigned = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kMinSigned = std::numeric_limits<int64_t>::min();
inline constexpr const char* kOrigin = "snap/manifest.json";

QualifiedName Name(const std::string& schema, const std::string& name);
Column MakeColumn(const std::string& name, const std::string& type);
SnapshotFile MakeFile(const std::string& path, const QualifiedName& relation, uint64_t rows,
                      const std::string& digest, FileDigest file);

// public.accounts (identity key, generated column, triggers, inherited by
// public.accounts_archive), a two-level partitioned public.events, and a
// mixed-case, non-ASCII "Sales"."Bestellpositionen äöü", with foreign keys
// and every kind of index among them. Every optional field appears both set
// and unset; every integer field takes an extreme value somewhere.
Catalog RichCatalog();
// RichCatalog's tables captured, with files, digests and sequences.
SnapshotManifest RichManifest();
// RichManifest as a JSON document, for tests that change one part of it.
nlohmann::json ValidDocument();

// Every field equal (a gtest failure naming the field for each that is not).
void ExpectSame(const Catalog& a, const Catalog& b);
void ExpectSame(const SnapshotManifest& a, const SnapshotManifest& b);

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace freshet::testing
