// The manifest of a snapshot directory (manifest.json): what was captured,
// from where and when, the catalog of the captured tables (so a restore plans
// exactly as `sync` would against the source), and for every data file its
// rows, sizes and checksums. The format is versioned; readers refuse versions
// they do not know. Plain data plus JSON (de)serialization; no I/O except
// Read/WriteManifest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "copy/copy_rows.h"
#include "copy/snapshot_file.h"
#include "schema/catalog.h"

namespace freshet {

inline constexpr int kSnapshotFormatVersion = 1;
inline constexpr const char* kManifestFileName = "manifest.json";

// One data file: the COPY stream of one source relation (a table or a leaf
// partition), or of one chunk of it.
struct SnapshotFile {
  std::string path;        // relative to the snapshot directory, e.g. "data/0007.copy.zst"
  QualifiedName relation;  // the source relation the rows were read from
  uint64_t rows = 0;
  RowDigest digest;  // of the rows in the file
  FileDigest file;   // sizes and checksums of the file and its raw stream
};

struct SnapshotTable {
  QualifiedName name;                // top-level table (ordinary or partitioned root)
  std::vector<std::string> columns;  // the columns in the files, in order
  StreamFormat format = StreamFormat::kBinary;
  uint64_t rows = 0;
  RowDigest digest;  // of all the table's rows (every file merged)
  std::vector<SnapshotFile> files;
};

struct SnapshotSequence {
  QualifiedName name;
  std::optional<int64_t> last_value;  // none: never used (or not readable)
};

struct SnapshotMasking {
  std::string rules;  // RuleSetFingerprint of the [mask] rules
  std::string key;    // MaskKey::Fingerprint
  std::vector<std::string> columns;
};

struct SnapshotManifest {
  int version = kSnapshotFormatVersion;
  std::string freshet_version;
  std::string created_at;             // UTC, ISO 8601, when the capture finished
  std::string snapshot_time;          // the source's clock in the capture's snapshot, ISO 8601
  std::string source;                 // ConnInfo::Describe() of the source: no password
  std::string source_server_version;  // e.g. "15.18"
  // The capture snapshot's transaction horizon (pg_snapshot_xmin) and the
  // snapshot itself: a restore records them, so an incremental sync from the
  // same source afterwards moves only what changed since the capture. Empty
  // in snapshots taken before freshet recorded them.
  std::string source_xmin;
  std::string source_snapshot;
  ZstdOptions compression;
  // The source catalog restricted to the captured tables (their partitions
  // and the foreign keys and indexes among them), as ReadCatalog returned it.
  Catalog catalog;
  std::vector<SnapshotTable> tables;  // in capture order
  std::vector<SnapshotSequence> sequences;
  // Set when the capture masked its data ([mask] rules): which rule set and
  // which key (fingerprints that tell sets and keys apart and reveal
  // nothing of the key), and the masked columns ("public.profiles.email:
  // email"). Unset: the files hold the source's values.
  std::optional<SnapshotMasking> masking;
  // Set when the capture took a [subset]: what it kept (sync/engine/subset.h).
  // A subset is no base for incremental runs after a restore.
  std::string subset;

  const SnapshotTable* Find(const QualifiedName& name) const;
  uint64_t TotalRows() const;
  uint64_t RawBytes() const;
  uint64_t CompressedBytes() const;
};

// JSON text of the manifest (stable key order, pretty-printed).
std::string ManifestToJson(const SnapshotManifest& manifest);
// Parses manifest JSON. Throws Error (kind kUsage) naming `origin` on
// malformed JSON, a missing or mistyped field, a "format" other than
// "freshet-snapshot", or a version other than kSnapshotFormatVersion (saying
// which version was found and which this freshet reads), and on file paths that
// are absolute or leave the directory.
SnapshotManifest ManifestFromJson(const std::string& json, const std::string& origin);

// Reads DIR/manifest.json; a missing file gets an error saying DIR is not a
// (complete) snapshot.
SnapshotManifest ReadManifest(const std::filesystem::path& dir);
// Writes DIR/manifest.json through a temporary file, fsynced, then renamed.
void WriteManifest(const std::filesystem::path& dir, const SnapshotManifest& manifest);

}  // namespace freshet
