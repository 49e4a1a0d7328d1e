// manifest.json, format "freshet-snapshot" version 1. Keys are written in this
// order; every key is always present (absent optional values are null). A
// reader of version 1 ignores keys it does not know, so later freshet versions
// may add keys without bumping the version; removing or retyping a key, or
// changing what a value means, needs version 2.
//
// {
//   "format": "freshet-snapshot",
//   "version": 1,
//   "freshet_version": "0.1.0",
//   "created_at": "2026-01-02T03:04:05Z",     // UTC, when the capture finished
//   "snapshot_time": "2026-01-02T03:00:00Z",  // the source's clock in the snapshot
//   "source": "app@prod:5432/app",            // never a password
//   "source_server_version": "15.18",
//   "source_xmin": "749",                      // the capture snapshot's xmin (xid8);
//   "source_snapshot": "749:753:749,751",      // both "" or absent in older snapshots
//   "masking": null | {"rules": "<hex>", "key": "<hex>",  // masked captures: fingerprints
//                      "columns": ["public.profiles.email: email"]},  // (at the end)
//   "subset": null | "5% of public.organizations: 1234 rows in 9 tables; ...",
//   "compression": {"algorithm": "zstd", "level": 3, "threads": 0},
//   "catalog": {
//     "system_identifier": "7312345678901234567",  // uint64 as a decimal string
//     "database": "app",
//     "server_version": 150018,
//     "tables": [{
//       "schema": "public", "name": "events",
//       "kind": "table" | "partitioned",
//       "columns": [{"name": "id", "type": "bigint", "binary_portable": true,
//                    "not_null": true, "default_expr": "..." | null, "generated": false,
//                    "identity": "" | "a" | "d"}],
//       "primary_key": ["id"],
//       "partition_root": {"schema", "name"} | null,
//       "partition_parent": {"schema", "name"} | null,
//       "partition_bound": "FOR VALUES ..." | "",
//       "inherits_from": [{"schema", "name"}],
//       "has_inheritance_children": false,
//       "estimated_rows": 1000, "bytes": 65536, "heap_bytes": 57344,  // signed 64-bit
//       "owned_by_current_user": true,
//       "owned_sequences": [{"column": "id", "sequence": {"schema", "name"}}],
//         (every sequence a column's values come from: owned, identity, or
//         named by its DEFAULT; the key keeps its first name)
//       "user_triggers": [{"name": "audit", "enabled": "O"}]
//     }],
//     "foreign_keys": [{"name", "table": {"schema", "name"}, "referenced": {"schema", "name"},
//                       "columns": [...], "columns_nullable", "deferrable", "validated",
//                       "definition"}],
//     "indexes": [{"table": {"schema", "name"}, "name", "definition", "constraint_name",
//                  "constraint_type": "" | "p" | "u" | "x", "constraint_definition",
//                  "replica_identity", "clustered", "valid", "bytes",
//                  "partitions": [{"table": {"schema", "name"}, "name", "definition",
//                                  "constraint_name", "constraint_definition"}]}]
//   },
//   "tables": [{
//     "schema": "public", "name": "events",
//     "columns": ["id", "payload"],            // the columns in the files, in order
//     "format": "binary" | "text",
//     "rows": 1000,                            // unsigned 64-bit
//     "digest": "1000:0123456789abcdef",       // RowDigest::ToString
//     "files": [{
//       "path": "data/0007.copy.zst",          // relative, no "..", no NUL
//       "relation": {"schema": "public", "name": "events_2026_01"},
//       "rows": 1000, "digest": "1000:0123456789abcdef",
//       "raw_bytes": 123456, "compressed_bytes": 23456,   // unsigned 64-bit
//       "raw_xxh3": "0123456789abcdef", "file_xxh3": "fedcba9876543210"  // or ""
//     }]
//   }],
//   "sequences": [{"schema": "public", "name": "events_id_seq", "last_value": 1000 | null}]
// }
//
// The catalog is written and read by sync/catalog_json.cc.

#include "sync/snapshot/snapshot_manifest.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <system_error>

#include "copy/error.h"
#include "sync/snapshot/catalog_json.h"
#include "sync/snapshot/json_node.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kFormatName = "freshet-snapshot";
constexpr const char* kCompressionAlgorithm = "zstd";

std::string SystemMessage(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// nlohmann's what() without its "[json.exception.parse_error.101] " prefix.
std::string JsonReason(const std::exception& error) {
  std::string text = error.what();
  if (text.rfind("[json.exception.", 0) == 0) {
    size_t end = text.find("] ");
    if (end != std::string::npos) return text.substr(end + 2);
  }
  return text;
}

// ---------------------------------------------------------------- writing

const char* FormatName(StreamFormat format) {
  return format == StreamFormat::kText ? "text" : "binary";
}

ordered_json FileJson(const SnapshotFile& file) {
  return {
      {"path", file.path},
      {"relation", NameJson(file.relation)},
      {"rows", file.rows},
      {"digest", file.digest.ToString()},
      {"raw_bytes", file.file.raw_bytes},
      {"compressed_bytes", file.file.compressed_bytes},
      {"raw_xxh3", file.file.raw_xxh3},
      {"file_xxh3", file.file.file_xxh3},
  };
}

ordered_json SnapshotTableJson(const SnapshotTable& table) {
  ordered_json files = ordered_json::array();
  for (const SnapshotFile& file : table.files) files.push_back(FileJson(file));
  return {
      {"schema", table.name.schema},
      {"name", table.name.name},
      {"columns", table.columns},
      {"format", FormatName(table.format)},
      {"rows", table.rows},
      {"digest", table.digest.ToString()},
      {"files", files},
  };
}

ordered_json SequenceJson(const SnapshotSequence& sequence) {
  return {
      {"schema", sequence.name.schema},
      {"name", sequence.name.name},
      {"last_value",
       sequence.last_value ? ordered_json(*sequence.last_value) : ordered_json(nullptr)},
  };
}

// ---------------------------------------------------------------- reading

ZstdOptions CompressionFrom(const JsonNode& object) {
  JsonNode algorithm = object.Field("algorithm");
  std::string name = algorithm.String();
  if (name != kCompressionAlgorithm)
    algorithm.Fail(fmt::format("compression \"{}\" is not supported (this freshet reads \"{}\")",
                               name, kCompressionAlgorithm));
  ZstdOptions options;
  options.level = object.Field("level").Int();
  options.threads = object.Field("threads").Int();
  return options;
}

StreamFormat StreamFormatFrom(const JsonNode& node) {
  std::string format = node.String();
  if (format == "binary") return StreamFormat::kBinary;
  if (format == "text") return StreamFormat::kText;
  node.Fail(fmt::format("expected \"binary\" or \"text\", found \"{}\"", format));
}

RowDigest DigestFrom(const JsonNode& node) {
  std::string text = node.String();
  try {
    return RowDigest::Parse(text);
  } catch (const Error& error) {
    node.Fail(error.what());
  }
}

std::string ChecksumFrom(const JsonNode& node) {
  std::string text = node.String();
  bool hex = text.size() == 16 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!text.empty() && !hex)
    node.Fail(fmt::format("expected 16 lowercase hex digits or \"\", found \"{}\"", text));
  return text;
}

// A data file's path: relative to the snapshot directory and inside it.
std::string FilePathFrom(const JsonNode& node) {
  std::string text = node.String();
  if (text.empty()) node.Fail("expected a file path, found \"\"");
  if (text.find('\0') != std::string::npos) node.Fail("a file path may not contain NUL");
  fs::path path(text);
  if (path.is_absolute() || path.has_root_path())
    node.Fail(
        fmt::format("\"{}\" is absolute; file paths are relative to the snapshot directory", text));
  for (const fs::path& part : path)
    if (part == "..") node.Fail(fmt::format("\"{}\" leaves the snapshot directory (\"..\")", text));
  if (!path.has_filename() || path.filename() == ".")
    node.Fail(fmt::format("\"{}\" does not name a file", text));
  return text;
}

SnapshotFile FileFrom(const JsonNode& object) {
  SnapshotFile file;
  file.path = FilePathFrom(object.Field("path"));
  file.relation = NameFrom(object.Field("relation"));
  file.rows = object.Field("rows").Unsigned();
  file.digest = DigestFrom(object.Field("digest"));
  file.file.raw_bytes = object.Field("raw_bytes").Unsigned();
  file.file.compressed_bytes = object.Field("compressed_bytes").Unsigned();
  file.file.raw_xxh3 = ChecksumFrom(object.Field("raw_xxh3"));
  file.file.file_xxh3 = ChecksumFrom(object.Field("file_xxh3"));
  return file;
}

SnapshotTable SnapshotTableFrom(const JsonNode& object) {
  SnapshotTable table;
  table.name = NameFrom(object);
  table.columns = object.Field("columns").Strings();
  table.format = StreamFormatFrom(object.Field("format"));
  table.rows = object.Field("rows").Unsigned();
  table.digest = DigestFrom(object.Field("digest"));
  for (const JsonNode& file : object.Field("files").Elements())
    table.files.push_back(FileFrom(file));
  return table;
}

SnapshotSequence SequenceFrom(const JsonNode& object) {
  SnapshotSequence sequence;
  sequence.name = NameFrom(object);
  JsonNode last_value = object.Field("last_value");
  if (!last_value.IsNull()) sequence.last_value = last_value.Integer();
  return sequence;
}

// Two entries naming one file would let a restore load it twice.
void CheckFilesDistinct(const std::vector<SnapshotTable>& tables, const JsonNode& root) {
  std::map<fs::path, std::string> seen;  // normalized path -> where it was listed
  for (size_t t = 0; t < tables.size(); ++t) {
    for (size_t f = 0; f < tables[t].files.size(); ++f) {
      std::string where = fmt::format("tables[{}].files[{}].path", t, f);
      fs::path key = fs::path(tables[t].files[f].path).lexically_normal();
      auto [it, inserted] = seen.emplace(key, where);
      if (!inserted)
        root.Fail(fmt::format("field {}: \"{}\" is the same file as {}", where,
                              tables[t].files[f].path, it->second));
    }
  }
}

// ------------------------------------------------------------------ files

// Closes the descriptor on every way out of a scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now; returns 0 or the errno of close(2).
  int Close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

// Returns 0 or the errno of write(2).
int WriteAll(int fd, const std::string& text) {
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    written += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

const SnapshotTable* SnapshotManifest::Find(const QualifiedName& name) const {
  for (const SnapshotTable& table : tables)
    if (table.name == name) return &table;
  return nullptr;
}

uint64_t SnapshotManifest::TotalRows() const {
  uint64_t total = 0;
  for (const SnapshotTable& table : tables) total += table.rows;
  return total;
}

uint64_t SnapshotManifest::RawBytes() const {
  uint64_t total = 0;
  for (const SnapshotTable& table : tables)
    for (const SnapshotFile& file : table.files) total += file.file.raw_bytes;
  return total;
}

uint64_t SnapshotManifest::CompressedBytes() const {
  uint64_t total = 0;
  for (const SnapshotTable& table : tables)
    for (const SnapshotFile& file : table.files) total += file.file.compressed_bytes;
  return total;
}

std::string ManifestToJson(const SnapshotManifest& manifest) {
  if (manifest.version != kSnapshotFormatVersion)
    throw Error(
        fmt::format("cannot write a snapshot manifest of version {} (this freshet writes "
                    "version {})",
                    manifest.version, kSnapshotFormatVersion));
  ordered_json tables = ordered_json::array();
  for (const SnapshotTable& table : manifest.tables) tables.push_back(SnapshotTableJson(table));
  ordered_json sequences = ordered_json::array();
  for (const SnapshotSequence& sequence : manifest.sequences)
    sequences.push_back(SequenceJson(sequence));
  ordered_json out = {
      {"format", kFormatName},
      {"version", kSnapshotFormatVersion},
      {"freshet_version", manifest.freshet_version},
      {"created_at", manifest.created_at},
      {"snapshot_time", manifest.snapshot_time},
      {"source", manifest.source},
      {"source_server_version", manifest.source_server_version},
      {"source_xmin", manifest.source_xmin},
      {"source_snapshot", manifest.source_snapshot},
      {"compression",
       {{"algorithm", kCompressionAlgorithm},
        {"level", manifest.compression.level},
        {"threads", manifest.compression.threads}}},
      {"catalog", CatalogToJson(manifest.catalog)},
      {"tables", tables},
      {"sequences", sequences},
      {"masking", manifest.masking ? ordered_json{{"rules", manifest.masking->rules},
                                                  {"key", manifest.masking->key},
                                                  {"columns", manifest.masking->columns}}
                                   : ordered_json(nullptr)},
      {"subset", manifest.subset.empty() ? ordered_json(nullptr) : ordered_json(manifest.subset)},
  };
  try {
    return out.dump(2) + "\n";
  } catch (const json::exception& error) {  // a string that is not UTF-8
    throw Error(fmt::format("cannot encode the snapshot manifest as JSON: {}", JsonReason(error)));
  }
}

SnapshotManifest ManifestFromJson(const std::string& text, const std::string& origin) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& error) {
    throw Error(ErrorKind::kUsage,
                fmt::format("{}: malformed JSON: {}", origin, JsonReason(error)));
  }
  JsonNode root(document, "", origin);
  if (!document.is_object()) root.Fail("expected a JSON object, the snapshot manifest");

  // Format and version first: a later version may have changed anything else.
  std::string format = root.Field("format").String();
  if (format != kFormatName)
    root.Fail(fmt::format("not a freshet snapshot manifest (format \"{}\", expected \"{}\")",
                          format, kFormatName));
  int version = root.Field("version").Int();
  if (version != kSnapshotFormatVersion)
    root.Fail(
        fmt::format("snapshot format version {} is not supported (this freshet reads "
                    "version {})",
                    version, kSnapshotFormatVersion));

  SnapshotManifest manifest;
  manifest.version = version;
  manifest.freshet_version = root.Field("freshet_version").String();
  manifest.created_at = root.Field("created_at").String();
  manifest.snapshot_time = root.Field("snapshot_time").String();
  manifest.source = root.Field("source").String();
  manifest.source_server_version = root.Field("source_server_version").String();
  if (root.Has("source_xmin")) manifest.source_xmin = root.Field("source_xmin").String();
  if (root.Has("source_snapshot"))
    manifest.source_snapshot = root.Field("source_snapshot").String();
  manifest.compression = CompressionFrom(root.Field("compression"));
  manifest.catalog = CatalogFrom(root.Field("catalog"));
  for (const JsonNode& table : root.Field("tables").Elements())
    manifest.tables.push_back(SnapshotTableFrom(table));
  for (const JsonNode& sequence : root.Field("sequences").Elements())
    manifest.sequences.push_back(SequenceFrom(sequence));
  if (root.Has("masking") && !root.Field("masking").IsNull()) {
    const JsonNode masking = root.Field("masking");
    SnapshotMasking out;
    out.rules = masking.Field("rules").String();
    out.key = masking.Field("key").String();
    for (const JsonNode& column : masking.Field("columns").Elements())
      out.columns.push_back(column.String());
    manifest.masking = std::move(out);
  }
  if (root.Has("subset") && !root.Field("subset").IsNull())
    manifest.subset = root.Field("subset").String();
  CheckFilesDistinct(manifest.tables, root);
  return manifest;
}

SnapshotManifest ReadManifest(const fs::path& dir) {
  struct stat info;
  if (::stat(dir.c_str(), &info) != 0) {
    int error = errno;
    if (error == ENOENT)
      throw Error(ErrorKind::kUsage,
                  fmt::format("snapshot directory {} does not exist", dir.string()));
    throw Error(
        fmt::format("cannot open snapshot directory {}: {}", dir.string(), SystemMessage(error)));
  }
  if (!S_ISDIR(info.st_mode))
    throw Error(ErrorKind::kUsage,
                fmt::format("{} is not a snapshot: a snapshot is a directory", dir.string()));

  fs::path path = dir / kManifestFileName;
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) {
    int error = errno;
    if (error == ENOENT)
      throw Error(ErrorKind::kUsage,
                  fmt::format("{} is not a snapshot (no {}); a capture writes the manifest last, "
                              "so an interrupted one leaves only a *.partial directory",
                              dir.string(), kManifestFileName));
    throw Error(fmt::format("cannot read {}: {}", path.string(), SystemMessage(error)));
  }
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(file.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(fmt::format("cannot read {}: {}", path.string(), SystemMessage(errno)));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return ManifestFromJson(text, path.string());
}

void WriteManifest(const fs::path& dir, const SnapshotManifest& manifest) {
  std::string text = ManifestToJson(manifest);
  fs::path path = dir / kManifestFileName;
  fs::path temp = dir / (std::string(kManifestFileName) + ".tmp");
  auto fail = [&](const std::string& what, int error, bool remove_temp) {
    if (remove_temp) ::unlink(temp.c_str());
    throw Error(fmt::format("cannot write {}: {}: {}", path.string(), what, SystemMessage(error)));
  };

  FileDescriptor file(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!file.valid()) fail("creating " + temp.string(), errno, false);
  if (int error = WriteAll(file.get(), text); error != 0)
    fail("writing " + temp.string(), error, true);
  if (::fsync(file.get()) != 0) fail("flushing " + temp.string(), errno, true);
  if (int error = file.Close(); error != 0) fail("closing " + temp.string(), error, true);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("renaming " + temp.string(), errno, true);

  // The rename is durable only once the directory is.
  FileDescriptor directory(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory.valid()) fail("opening directory " + dir.string(), errno, false);
  if (::fsync(directory.get()) != 0) fail("flushing directory " + dir.string(), errno, false);
}

}  // namespace freshet
