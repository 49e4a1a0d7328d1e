// The snapshot manifest: JSON that carries every field and reads back equal,
// written stably in the documented layout, and the manifest file in its
// directory. What a reader refuses is in manifest_refusals_test.cc.
#include "sync/snapshot/snapshot_manifest.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "copy/error.h"
#include "tests/unit/rich_manifest.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Contains;
using testing::ExpectSame;
using testing::kMaxUnsigned;
using testing::kOrigin;
using testing::MakeFile;
using testing::Name;
using testing::RichCatalog;
using testing::RichManifest;
using testing::ValidDocument;

// The manifest must carry every field of these structs, and ExpectSame must
// compare every one. Adding or removing a field stops this from compiling:
// then update snapshot_manifest.cc (writer, reader, layout comment), the
// ExpectSame above and RichCatalog, and adjust the count here.
TEST(ManifestJson, KnowsEveryFieldOfTheStructsItSerializes) {
  [[maybe_unused]] auto [c1, c2, c3, c4, c5, c6, c7, c8, c9] = Column{};
  [[maybe_unused]] auto [h1, h2, h3] = CheckConstraint{};
  [[maybe_unused]] auto [y1, y2, y3, y4, y5, y6, y7, y8, y9, y10, y11, y12, y13] = TypeInfo{};
  [[maybe_unused]] auto [r1, r2] = OtherRelation{};
  [[maybe_unused]] auto [o1, o2] = ColumnSequence{};
  [[maybe_unused]] auto [g1, g2] = Trigger{};
  [[maybe_unused]] auto [t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17,
                         t18, t19] = Table{};
  [[maybe_unused]] auto [f1, f2, f3, f4, f5, f6, f7, f8, f9, f10] = ForeignKey{};
  [[maybe_unused]] auto [p1, p2, p3, p4, p5] = PartitionIndex{};
  [[maybe_unused]] auto [i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12, i13, i14, i15] =
      Index{};
  [[maybe_unused]] auto [k1, k2, k3, k4, k5, k6, k7, k8, k9] = Catalog{};
  [[maybe_unused]] auto [q1, q2] = QualifiedName{};
  [[maybe_unused]] auto [d1, d2, d3, d4] = FileDigest{};
  [[maybe_unused]] auto [z1, z2] = ZstdOptions{};
  [[maybe_unused]] auto [s1, s2, s3, s4, s5] = SnapshotFile{};
  [[maybe_unused]] auto [b1, b2, b3, b4, b5, b6] = SnapshotTable{};
  [[maybe_unused]] auto [n1, n2] = SnapshotSequence{};
  [[maybe_unused]] auto [m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14] =
      SnapshotManifest{};
  [[maybe_unused]] auto [mk1, mk2, mk3] = SnapshotMasking{};
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
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "format", "version", "freshet_version", "created_at", "snapshot_time",
                      "source", "source_server_version", "source_xmin", "source_snapshot",
                      "compression", "catalog", "tables", "sequences", "masking", "subset"}));
  EXPECT_EQ(document["format"], "freshet-snapshot");
  EXPECT_EQ(document["version"], 1);
  EXPECT_EQ(document["compression"]["algorithm"], "zstd");
}

TEST(ManifestJson, ManifestsWithoutTheCaptureHorizonStillRead) {
  nlohmann::ordered_json document = nlohmann::ordered_json::parse(ManifestToJson(RichManifest()));
  document.erase("source_xmin");
  document.erase("source_snapshot");
  document.erase("masking");
  document.erase("subset");
  SnapshotManifest read = ManifestFromJson(document.dump(), kOrigin);
  EXPECT_EQ(read.source_xmin, "");
  EXPECT_EQ(read.source_snapshot, "");
  EXPECT_FALSE(read.masking.has_value());
  EXPECT_EQ(read.subset, "");
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

class ManifestFilesTest : public ::testing::Test {
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
