// What the snapshot manifest reader refuses, each as a usage error naming
// the field by its path: malformed JSON, missing or mistyped fields, values
// out of range, unknown versions and formats, file paths leaving the snapshot.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "copy/error.h"
#include "sync/snapshot/snapshot_manifest.h"
#include "tests/unit/rich_manifest.h"

namespace freshet {
namespace {

using nlohmann::json;
using testing::Contains;
using testing::kOrigin;
using testing::RichManifest;
using testing::ValidDocument;

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

}  // namespace
}  // namespace freshet
