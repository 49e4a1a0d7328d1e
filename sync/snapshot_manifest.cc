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
// Single-character catalog fields (identity, enabled, constraint_type) are
// strings of that character, "" for none (the C++ value 0).

#include "sync/snapshot_manifest.h"

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

ordered_json NameJson(const QualifiedName& name) {
  return {{"schema", name.schema}, {"name", name.name}};
}

ordered_json NamesJson(const std::vector<QualifiedName>& names) {
  ordered_json out = ordered_json::array();
  for (const QualifiedName& name : names) out.push_back(NameJson(name));
  return out;
}

ordered_json OptionalNameJson(const std::optional<QualifiedName>& name) {
  return name ? NameJson(*name) : ordered_json(nullptr);
}

std::string CharJson(char value) { return value == 0 ? std::string() : std::string(1, value); }

ordered_json ColumnJson(const Column& column) {
  return {
      {"name", column.name},
      {"type", column.type},
      {"binary_portable", column.binary_portable},
      {"not_null", column.not_null},
      {"default_expr",
       column.default_expr ? ordered_json(*column.default_expr) : ordered_json(nullptr)},
      {"generated", column.generated},
      {"identity", CharJson(column.identity)},
  };
}

ordered_json TableJson(const Table& table) {
  ordered_json columns = ordered_json::array();
  for (const Column& column : table.columns) columns.push_back(ColumnJson(column));
  ordered_json owned_sequences = ordered_json::array();
  for (const OwnedSequence& owned : table.owned_sequences)
    owned_sequences.push_back({{"column", owned.column}, {"sequence", NameJson(owned.sequence)}});
  ordered_json triggers = ordered_json::array();
  for (const Trigger& trigger : table.user_triggers)
    triggers.push_back({{"name", trigger.name}, {"enabled", CharJson(trigger.enabled)}});
  return {
      {"schema", table.name.schema},
      {"name", table.name.name},
      {"kind", table.kind == TableKind::kPartitioned ? "partitioned" : "table"},
      {"columns", columns},
      {"primary_key", table.primary_key},
      {"partition_root", OptionalNameJson(table.partition_root)},
      {"partition_parent", OptionalNameJson(table.partition_parent)},
      {"partition_bound", table.partition_bound},
      {"inherits_from", NamesJson(table.inherits_from)},
      {"has_inheritance_children", table.has_inheritance_children},
      {"estimated_rows", table.estimated_rows},
      {"bytes", table.bytes},
      {"heap_bytes", table.heap_bytes},
      {"owned_by_current_user", table.owned_by_current_user},
      {"owned_sequences", owned_sequences},
      {"user_triggers", triggers},
  };
}

ordered_json ForeignKeyJson(const ForeignKey& key) {
  return {
      {"name", key.name},
      {"table", NameJson(key.table)},
      {"referenced", NameJson(key.referenced)},
      {"columns", key.columns},
      {"columns_nullable", key.columns_nullable},
      {"deferrable", key.deferrable},
      {"validated", key.validated},
      {"definition", key.definition},
  };
}

ordered_json PartitionIndexJson(const PartitionIndex& index) {
  return {
      {"table", NameJson(index.table)},
      {"name", index.name},
      {"definition", index.definition},
      {"constraint_name", index.constraint_name},
      {"constraint_definition", index.constraint_definition},
  };
}

ordered_json IndexJson(const Index& index) {
  ordered_json partitions = ordered_json::array();
  for (const PartitionIndex& partition : index.partitions)
    partitions.push_back(PartitionIndexJson(partition));
  return {
      {"table", NameJson(index.table)},
      {"name", index.name},
      {"definition", index.definition},
      {"constraint_name", index.constraint_name},
      {"constraint_type", CharJson(index.constraint_type)},
      {"constraint_definition", index.constraint_definition},
      {"replica_identity", index.replica_identity},
      {"clustered", index.clustered},
      {"valid", index.valid},
      {"bytes", index.bytes},
      {"partitions", partitions},
  };
}

ordered_json CatalogToJson(const Catalog& catalog) {
  ordered_json tables = ordered_json::array();
  for (const Table& table : catalog.tables) tables.push_back(TableJson(table));
  ordered_json foreign_keys = ordered_json::array();
  for (const ForeignKey& key : catalog.foreign_keys) foreign_keys.push_back(ForeignKeyJson(key));
  ordered_json indexes = ordered_json::array();
  for (const Index& index : catalog.indexes) indexes.push_back(IndexJson(index));
  return {
      // A string: JSON readers other than nlohmann's often hold numbers as
      // doubles, which cannot carry every uint64.
      {"system_identifier", std::to_string(catalog.system_identifier)},
      {"database", catalog.database},
      {"server_version", catalog.server_version},
      {"tables", tables},
      {"foreign_keys", foreign_keys},
      {"indexes", indexes},
  };
}

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

// One value of the parsed document and its path in it ("tables[3].rows").
// Every accessor checks the JSON type and throws Error (kUsage) naming the
// origin and the path. Holds pointers: the document and the origin string
// must outlive it.
class Node {
 public:
  Node(const json& value, std::string path, const std::string& origin)
      : value_(&value), path_(std::move(path)), origin_(&origin) {}

  const std::string& path() const { return path_; }
  bool IsNull() const { return value_->is_null(); }

  [[noreturn]] void Fail(const std::string& problem) const {
    if (path_.empty()) throw Error(ErrorKind::kUsage, fmt::format("{}: {}", *origin_, problem));
    throw Error(ErrorKind::kUsage, fmt::format("{}: field {}: {}", *origin_, path_, problem));
  }

  // The member `key` of this object; throws when it is absent.
  Node Field(const char* key) const {
    if (!value_->is_object()) Fail(Expected("an object"));
    std::string path = path_.empty() ? std::string(key) : path_ + "." + key;
    auto member = value_->find(key);
    if (member == value_->end()) Node(*value_, std::move(path), *origin_).Fail("missing");
    return Node(*member, std::move(path), *origin_);
  }

  std::vector<Node> Elements() const {
    if (!value_->is_array()) Fail(Expected("an array"));
    std::vector<Node> elements;
    elements.reserve(value_->size());
    for (size_t i = 0; i < value_->size(); ++i)
      elements.emplace_back((*value_)[i], fmt::format("{}[{}]", path_, i), *origin_);
    return elements;
  }

  std::string String() const {
    if (!value_->is_string()) Fail(Expected("a string"));
    return value_->get<std::string>();
  }

  bool Bool() const {
    if (!value_->is_boolean()) Fail(Expected("true or false"));
    return value_->get<bool>();
  }

  uint64_t Unsigned() const {
    if (!value_->is_number_unsigned()) Fail(Expected("an unsigned integer"));
    return value_->get<uint64_t>();
  }

  int64_t Integer() const {
    if (!value_->is_number_integer()) Fail(Expected("an integer"));
    if (value_->is_number_unsigned() &&
        value_->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      Fail(Expected("a signed 64-bit integer"));
    return value_->get<int64_t>();
  }

  int Int() const {
    if (!value_->is_number_integer()) Fail(Expected("an integer"));
    int64_t value = Integer();
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
      Fail(Expected("a 32-bit integer"));
    return static_cast<int>(value);
  }

  // A single-character catalog field: "" is 0.
  char Char() const {
    std::string text = String();
    if (text.size() > 1) Fail(Expected("a string of at most one character"));
    return text.empty() ? 0 : text[0];
  }

  std::vector<std::string> Strings() const {
    std::vector<std::string> out;
    for (const Node& element : Elements()) out.push_back(element.String());
    return out;
  }

 private:
  std::string Expected(const std::string& what) const {
    return fmt::format("expected {}, found {}", what, Found());
  }

  std::string Found() const {
    switch (value_->type()) {
      case json::value_t::string:
        return "a string";
      case json::value_t::array:
        return "an array";
      case json::value_t::object:
        return "an object";
      default:  // null, true, false, numbers: their text says it
        return value_->dump();
    }
  }

  const json* value_;
  std::string path_;
  const std::string* origin_;
};

QualifiedName NameFrom(const Node& object) {
  return QualifiedName{object.Field("schema").String(), object.Field("name").String()};
}

std::optional<QualifiedName> OptionalNameFrom(const Node& node) {
  if (node.IsNull()) return std::nullopt;
  return NameFrom(node);
}

std::vector<QualifiedName> NamesFrom(const Node& array) {
  std::vector<QualifiedName> names;
  for (const Node& element : array.Elements()) names.push_back(NameFrom(element));
  return names;
}

Column ColumnFrom(const Node& object) {
  Column column;
  column.name = object.Field("name").String();
  column.type = object.Field("type").String();
  column.binary_portable = object.Field("binary_portable").Bool();
  column.not_null = object.Field("not_null").Bool();
  Node default_expr = object.Field("default_expr");
  if (!default_expr.IsNull()) column.default_expr = default_expr.String();
  column.generated = object.Field("generated").Bool();
  column.identity = object.Field("identity").Char();
  return column;
}

TableKind TableKindFrom(const Node& node) {
  std::string kind = node.String();
  if (kind == "table") return TableKind::kTable;
  if (kind == "partitioned") return TableKind::kPartitioned;
  node.Fail(fmt::format("expected \"table\" or \"partitioned\", found \"{}\"", kind));
}

Table TableFrom(const Node& object) {
  Table table;
  table.name = NameFrom(object);
  table.kind = TableKindFrom(object.Field("kind"));
  for (const Node& column : object.Field("columns").Elements())
    table.columns.push_back(ColumnFrom(column));
  table.primary_key = object.Field("primary_key").Strings();
  table.partition_root = OptionalNameFrom(object.Field("partition_root"));
  table.partition_parent = OptionalNameFrom(object.Field("partition_parent"));
  table.partition_bound = object.Field("partition_bound").String();
  table.inherits_from = NamesFrom(object.Field("inherits_from"));
  table.has_inheritance_children = object.Field("has_inheritance_children").Bool();
  table.estimated_rows = object.Field("estimated_rows").Integer();
  table.bytes = object.Field("bytes").Integer();
  table.heap_bytes = object.Field("heap_bytes").Integer();
  table.owned_by_current_user = object.Field("owned_by_current_user").Bool();
  for (const Node& owned : object.Field("owned_sequences").Elements())
    table.owned_sequences.push_back(
        OwnedSequence{owned.Field("column").String(), NameFrom(owned.Field("sequence"))});
  for (const Node& trigger : object.Field("user_triggers").Elements())
    table.user_triggers.push_back(
        Trigger{trigger.Field("name").String(), trigger.Field("enabled").Char()});
  return table;
}

ForeignKey ForeignKeyFrom(const Node& object) {
  ForeignKey key;
  key.name = object.Field("name").String();
  key.table = NameFrom(object.Field("table"));
  key.referenced = NameFrom(object.Field("referenced"));
  key.columns = object.Field("columns").Strings();
  key.columns_nullable = object.Field("columns_nullable").Bool();
  key.deferrable = object.Field("deferrable").Bool();
  key.validated = object.Field("validated").Bool();
  key.definition = object.Field("definition").String();
  return key;
}

PartitionIndex PartitionIndexFrom(const Node& object) {
  PartitionIndex index;
  index.table = NameFrom(object.Field("table"));
  index.name = object.Field("name").String();
  index.definition = object.Field("definition").String();
  index.constraint_name = object.Field("constraint_name").String();
  index.constraint_definition = object.Field("constraint_definition").String();
  return index;
}

Index IndexFrom(const Node& object) {
  Index index;
  index.table = NameFrom(object.Field("table"));
  index.name = object.Field("name").String();
  index.definition = object.Field("definition").String();
  index.constraint_name = object.Field("constraint_name").String();
  index.constraint_type = object.Field("constraint_type").Char();
  index.constraint_definition = object.Field("constraint_definition").String();
  index.replica_identity = object.Field("replica_identity").Bool();
  index.clustered = object.Field("clustered").Bool();
  index.valid = object.Field("valid").Bool();
  index.bytes = object.Field("bytes").Integer();
  for (const Node& partition : object.Field("partitions").Elements())
    index.partitions.push_back(PartitionIndexFrom(partition));
  return index;
}

uint64_t SystemIdentifierFrom(const Node& node) {
  std::string text = node.String();
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end)
    node.Fail(fmt::format("expected an unsigned 64-bit integer in decimal, found \"{}\"", text));
  return value;
}

Catalog CatalogFrom(const Node& object) {
  Catalog catalog;
  catalog.system_identifier = SystemIdentifierFrom(object.Field("system_identifier"));
  catalog.database = object.Field("database").String();
  catalog.server_version = object.Field("server_version").Int();
  for (const Node& table : object.Field("tables").Elements())
    catalog.tables.push_back(TableFrom(table));
  for (const Node& key : object.Field("foreign_keys").Elements())
    catalog.foreign_keys.push_back(ForeignKeyFrom(key));
  for (const Node& index : object.Field("indexes").Elements())
    catalog.indexes.push_back(IndexFrom(index));
  return catalog;
}

ZstdOptions CompressionFrom(const Node& object) {
  Node algorithm = object.Field("algorithm");
  std::string name = algorithm.String();
  if (name != kCompressionAlgorithm)
    algorithm.Fail(fmt::format("compression \"{}\" is not supported (this freshet reads \"{}\")",
                               name, kCompressionAlgorithm));
  ZstdOptions options;
  options.level = object.Field("level").Int();
  options.threads = object.Field("threads").Int();
  return options;
}

StreamFormat StreamFormatFrom(const Node& node) {
  std::string format = node.String();
  if (format == "binary") return StreamFormat::kBinary;
  if (format == "text") return StreamFormat::kText;
  node.Fail(fmt::format("expected \"binary\" or \"text\", found \"{}\"", format));
}

RowDigest DigestFrom(const Node& node) {
  std::string text = node.String();
  try {
    return RowDigest::Parse(text);
  } catch (const Error& error) {
    node.Fail(error.what());
  }
}

std::string ChecksumFrom(const Node& node) {
  std::string text = node.String();
  bool hex = text.size() == 16 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!text.empty() && !hex)
    node.Fail(fmt::format("expected 16 lowercase hex digits or \"\", found \"{}\"", text));
  return text;
}

// A data file's path: relative to the snapshot directory and inside it.
std::string FilePathFrom(const Node& node) {
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

SnapshotFile FileFrom(const Node& object) {
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

SnapshotTable SnapshotTableFrom(const Node& object) {
  SnapshotTable table;
  table.name = NameFrom(object);
  table.columns = object.Field("columns").Strings();
  table.format = StreamFormatFrom(object.Field("format"));
  table.rows = object.Field("rows").Unsigned();
  table.digest = DigestFrom(object.Field("digest"));
  for (const Node& file : object.Field("files").Elements()) table.files.push_back(FileFrom(file));
  return table;
}

SnapshotSequence SequenceFrom(const Node& object) {
  SnapshotSequence sequence;
  sequence.name = NameFrom(object);
  Node last_value = object.Field("last_value");
  if (!last_value.IsNull()) sequence.last_value = last_value.Integer();
  return sequence;
}

// Two entries naming one file would let a restore load it twice.
void CheckFilesDistinct(const std::vector<SnapshotTable>& tables, const Node& root) {
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
      {"compression",
       {{"algorithm", kCompressionAlgorithm},
        {"level", manifest.compression.level},
        {"threads", manifest.compression.threads}}},
      {"catalog", CatalogToJson(manifest.catalog)},
      {"tables", tables},
      {"sequences", sequences},
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
  Node root(document, "", origin);
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
  manifest.compression = CompressionFrom(root.Field("compression"));
  manifest.catalog = CatalogFrom(root.Field("catalog"));
  for (const Node& table : root.Field("tables").Elements())
    manifest.tables.push_back(SnapshotTableFrom(table));
  for (const Node& sequence : root.Field("sequences").Elements())
    manifest.sequences.push_back(SequenceFrom(sequence));
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
