// Snapshot data files against real servers: CaptureCopy writes a table's COPY
// stream to a file with a digest of its rows, RestoreCopy loads that file into
// several databases at once (optionally dropping columns), DigestCopy proves a
// restored table holds the captured rows, and every failure (damaged file,
// failing target or source, stop request) names what failed and leaves the
// targets as they were, with every connection usable.
#include "copy/copy_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stop_token>
#include <string>

#include "copy/connection.h"
#include "copy/error.h"
#include "tests/support/pg_cluster.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::PgCluster;
using testing::SharedClusters;

constexpr const char* kCreateTable = R"sql(
CREATE TABLE public.items (
  id int PRIMARY KEY,
  label text,
  amount numeric,
  doc jsonb,
  payload bytea,
  happened_at timestamptz,
  tags text[],
  ratio double precision,
  flag boolean
);
)sql";

// Awkward values on purpose (tabs, newlines, backslashes, NULLs, unicode),
// then enough ordinary rows to span several 1 MB pieces.
constexpr const char* kRows = R"sql(
INSERT INTO public.items VALUES
  (1, 'plain', 1.5, '{"a": 1}', '\x00ff10', '2024-01-02 03:04:05.123456+00',
   ARRAY['x', 'y'], 0.1, true),
  (2, 'it''s "quoted", with \ backslash', -0.000001, '{"quote": "\"", "list": [1, null]}',
   '\x', 'infinity', ARRAY['a,b', 'c"d', NULL, '', 'NULL'], 'NaN', false),
  (3, E'line one\nline two\r\n\ttabbed \\N', 'NaN', '[]', decode('000102035c0a09', 'hex'),
   '-infinity', '{}', '-Infinity', NULL),
  (4, 'unicode: héllo ✓ 日本語 🎉', 12345678901234567890.123456789, '"s"', '\xdeadbeef',
   '1999-12-31 23:59:59.999999-08', ARRAY['🎉'], 1e308, true),
  (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (6, '', 0, 'null', '\x00', '1970-01-01 00:00:00+00', ARRAY[NULL]::text[], -0.0, false);
INSERT INTO public.items
SELECT i, repeat('row ' || i || ' ', i % 40), i * 1.25,
       jsonb_build_object('i', i, 'tags', jsonb_build_array('t' || i % 7)),
       sha256(i::text::bytea), timestamptz '2024-01-01' + i * interval '1 second',
       ARRAY['tag' || i % 5], i / 7.0, i % 2 = 0
FROM generate_series(100, 40099) i;
)sql";
constexpr uint64_t kRowCount = 6 + 40000;

constexpr const char* kColumns = "id, label, amount, doc, payload, happened_at, tags, ratio, flag";
constexpr const char* kColumnsWithoutDoc =
    "id, label, amount, payload, happened_at, tags, ratio, flag";
const std::vector<bool> kKeepWithoutDoc = {true, true, true, false, true, true, true, true, true};

const char* FormatName(StreamFormat format) {
  return format == StreamFormat::kBinary ? "binary" : "text";
}

std::string CopyOut(StreamFormat format, const std::string& select_list = kColumns) {
  return "COPY (SELECT " + select_list + " FROM ONLY public.items) TO STDOUT (FORMAT " +
         FormatName(format) + ")";
}

std::string CopyIn(StreamFormat format, const std::string& columns = kColumns) {
  return "COPY public.items (" + columns + ") FROM STDIN (FORMAT " + FormatName(format) + ")";
}

// Row count and an order-independent digest of the rows' text form.
std::string Checksum(const PgCluster& cluster, const std::string& db,
                     const std::string& columns = kColumns) {
  return cluster.Psql(db,
                      "SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
                      "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' "
                      "ORDER BY t::text)), '-') FROM (SELECT " +
                          columns + " FROM public.items) t");
}

void ExpectUsable(Connection& connection) {
  EXPECT_EQ(connection.Exec("SELECT 1").Get(0, 0), "1") << connection.Describe();
}

std::string FileContents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteContents(const fs::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

class CopyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_db_ = Source().CreateUniqueDatabase("src");
    first_db_ = Target().CreateUniqueDatabase("first");
    second_db_ = Target().CreateUniqueDatabase("second");
    Source().Psql(source_db_, std::string(kCreateTable) + kRows);
    Target().Psql(first_db_, kCreateTable);
    Target().Psql(second_db_, kCreateTable);
    std::string pattern = (fs::temp_directory_path() / "freshet-copy-file-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    Source().DropDatabase(source_db_);
    Target().DropDatabase(first_db_);
    Target().DropDatabase(second_db_);
    fs::remove_all(dir_);
  }

  static PgCluster& Source() { return SharedClusters::Source(); }
  static PgCluster& Target() { return SharedClusters::Target(); }
  Connection OpenSource() { return Connection::Open(Source().Url(source_db_), "source"); }
  Connection OpenTarget(const std::string& db) {
    return Connection::Open(Target().Url(db), "target");
  }

  // Captures public.items in `format` to `path`.
  CaptureResult Capture(StreamFormat format, const fs::path& path) {
    Connection source = OpenSource();
    SnapshotFileWriter writer = SnapshotFileWriter::Create(path, {.level = 3});
    CaptureResult result = CaptureCopy(source, CopyOut(format), format, writer, "public.items",
                                       nullptr, std::stop_token());
    ExpectUsable(source);
    return result;
  }

  // A row in each target that must survive every failed restore.
  void AddExistingTargetRows() {
    for (const std::string& db : {first_db_, second_db_})
      Target().Psql(db, "INSERT INTO public.items (id, label) VALUES (1000000, 'existing')");
  }

  std::string source_db_;
  std::string first_db_;
  std::string second_db_;
  fs::path dir_;
};

class CopyFileFormatTest : public CopyFileTest,
                           public ::testing::WithParamInterface<StreamFormat> {};

TEST_P(CopyFileFormatTest, CapturedFileRestoresIntoTwoDatabasesAtOnce) {
  StreamFormat format = GetParam();
  fs::path path = dir_ / "items.copy.zst";
  CaptureResult captured = Capture(format, path);
  EXPECT_EQ(captured.rows, kRowCount);
  EXPECT_EQ(captured.digest.rows(), kRowCount);
  EXPECT_EQ(captured.file.compressed_bytes, fs::file_size(path));
  EXPECT_GT(captured.file.raw_bytes, 3 * captured.file.compressed_bytes);

  Connection first = OpenTarget(first_db_);
  Connection second = OpenTarget(second_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(format)}, {&second, CopyIn(format)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  StreamCounters counters;
  RestoreCopy(reader, format, std::nullopt, targets, "public.items", &counters, std::stop_token());

  EXPECT_EQ(reader.digest(), captured.file);
  EXPECT_EQ(counters.bytes.load(), captured.file.raw_bytes);
  std::string expected = Checksum(Source(), source_db_);
  EXPECT_EQ(expected.substr(0, 6), "40006 ");
  for (RestoreTarget& target : targets) EXPECT_EQ(target.rows, kRowCount);
  EXPECT_EQ(Checksum(Target(), first_db_), expected);
  EXPECT_EQ(Checksum(Target(), second_db_), expected);
  ExpectUsable(first);
  ExpectUsable(second);
}

TEST_P(CopyFileFormatTest, CaptureDigestIsTheDigestOfTheRowsInTheFile) {
  StreamFormat format = GetParam();
  fs::path path = dir_ / "items.copy.zst";
  CaptureResult captured = Capture(format, path);
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  CopyRowReader rows(format, path.string());
  RowDigest digest;
  std::string piece;
  while (reader.Read(piece)) rows.Feed(piece, [&](std::string_view row) { digest.Add(row); });
  rows.Finish();
  EXPECT_EQ(digest, captured.digest);
}

TEST_P(CopyFileFormatTest, DigestOfRestoredTableEqualsCaptureDigest) {
  StreamFormat format = GetParam();
  fs::path path = dir_ / "items.copy.zst";
  CaptureResult captured = Capture(format, path);
  Connection first = OpenTarget(first_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(format)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  RestoreCopy(reader, format, std::nullopt, targets, "public.items", nullptr, std::stop_token());

  RowDigest restored =
      DigestCopy(first, CopyOut(format), format, "public.items", std::stop_token());
  EXPECT_EQ(restored, captured.digest);
  Connection source = OpenSource();
  EXPECT_EQ(DigestCopy(source, CopyOut(format), format, "public.items", std::stop_token()),
            captured.digest);
  // A changed row changes the digest.
  first.Exec("UPDATE public.items SET label = 'changed' WHERE id = 4");
  EXPECT_NE(DigestCopy(first, CopyOut(format), format, "public.items", std::stop_token()),
            captured.digest);
}

TEST_P(CopyFileFormatTest, ProjectionDropsAColumn) {
  StreamFormat format = GetParam();
  fs::path path = dir_ / "items.copy.zst";
  Capture(format, path);
  for (const std::string& db : {first_db_, second_db_})
    Target().Psql(db, "ALTER TABLE public.items DROP COLUMN doc");
  Connection first = OpenTarget(first_db_);
  Connection second = OpenTarget(second_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(format, kColumnsWithoutDoc)},
                                        {&second, CopyIn(format, kColumnsWithoutDoc)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  RowDigest projected;
  RestoreCopy(reader, format, kKeepWithoutDoc, targets, "public.items", nullptr, std::stop_token(),
              &projected);

  std::string expected = Checksum(Source(), source_db_, kColumnsWithoutDoc);
  EXPECT_EQ(Checksum(Target(), first_db_, kColumnsWithoutDoc), expected);
  EXPECT_EQ(Checksum(Target(), second_db_, kColumnsWithoutDoc), expected);
  EXPECT_EQ(targets[0].rows, kRowCount);
  EXPECT_EQ(projected.rows(), kRowCount);
  EXPECT_EQ(DigestCopy(first, CopyOut(format, kColumnsWithoutDoc), format, "public.items",
                       std::stop_token()),
            projected);
}

TEST_P(CopyFileFormatTest, DigestOfRowsSentIsGivenWithoutProjectionToo) {
  StreamFormat format = GetParam();
  fs::path path = dir_ / "items.copy.zst";
  CaptureResult captured = Capture(format, path);
  for (const std::optional<std::vector<bool>>& keep :
       {std::optional<std::vector<bool>>(), std::optional(std::vector<bool>(9, true))}) {
    Target().Psql(first_db_, "TRUNCATE public.items");
    Connection first = OpenTarget(first_db_);
    std::vector<RestoreTarget> targets = {{&first, CopyIn(format)}};
    SnapshotFileReader reader = SnapshotFileReader::Open(path);
    RowDigest sent;
    RestoreCopy(reader, format, keep, targets, "public.items", nullptr, std::stop_token(), &sent);
    EXPECT_EQ(sent, captured.digest) << (keep ? "keeping every field" : "no projection");
    EXPECT_EQ(targets[0].rows, kRowCount);
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, CopyFileFormatTest,
                         ::testing::Values(StreamFormat::kBinary, StreamFormat::kText),
                         [](const ::testing::TestParamInfo<StreamFormat>& info) {
                           return std::string(FormatName(info.param));
                         });

TEST_F(CopyFileTest, EmptyTableCapturesAndRestores) {
  Source().Psql(source_db_, "TRUNCATE public.items");
  fs::path path = dir_ / "empty.copy.zst";
  CaptureResult captured = Capture(StreamFormat::kBinary, path);
  EXPECT_EQ(captured.rows, 0u);
  EXPECT_EQ(captured.digest, RowDigest());
  EXPECT_EQ(captured.file.raw_bytes, 21u);  // header and trailer
  Connection first = OpenTarget(first_db_);
  std::vector<RestoreTarget> targets = {
      {&first, CopyIn(StreamFormat::kBinary, kColumnsWithoutDoc)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  RestoreCopy(reader, StreamFormat::kBinary, kKeepWithoutDoc, targets, "public.items", nullptr,
              std::stop_token());
  EXPECT_EQ(targets[0].rows, 0u);
}

TEST_F(CopyFileTest, CorruptFileAbortsEveryTargetAndLeavesThemUnchanged) {
  fs::path path = dir_ / "items.copy.zst";
  Capture(StreamFormat::kBinary, path);
  std::string contents = FileContents(path);
  contents[contents.size() * 4 / 5] ^= 0x40;  // late, so earlier pieces were sent already
  WriteContents(path, contents);
  AddExistingTargetRows();
  std::string before = Checksum(Target(), first_db_);

  Connection first = OpenTarget(first_db_);
  Connection second = OpenTarget(second_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(StreamFormat::kBinary)},
                                        {&second, CopyIn(StreamFormat::kBinary)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  StreamCounters counters;
  try {
    RestoreCopy(reader, StreamFormat::kBinary, std::nullopt, targets, "public.items", &counters,
                std::stop_token());
    FAIL() << "restored a corrupt file";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("restoring public.items"), HasSubstr(path.string()),
                                    HasSubstr("corrupt (zstd: ")));
  }
  EXPECT_GT(counters.bytes.load(), 0u) << "the corruption was found before anything was sent";
  EXPECT_EQ(Checksum(Target(), first_db_), before);
  EXPECT_EQ(Checksum(Target(), second_db_), before);
  ExpectUsable(first);
  ExpectUsable(second);
}

TEST_F(CopyFileTest, TruncatedFileAbortsTheRestoreWithProjectionToo) {
  fs::path path = dir_ / "items.copy.zst";
  Capture(StreamFormat::kText, path);
  std::string contents = FileContents(path);
  WriteContents(path, std::string_view(contents).substr(0, contents.size() - 100));
  AddExistingTargetRows();
  for (const std::string& db : {first_db_, second_db_})
    Target().Psql(db, "ALTER TABLE public.items DROP COLUMN doc");
  std::string before = Checksum(Target(), first_db_, kColumnsWithoutDoc);

  Connection first = OpenTarget(first_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(StreamFormat::kText, kColumnsWithoutDoc)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  try {
    RestoreCopy(reader, StreamFormat::kText, kKeepWithoutDoc, targets, "public.items", nullptr,
                std::stop_token());
    FAIL() << "restored a truncated file";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("restoring public.items"), HasSubstr(path.string()),
                                    HasSubstr("truncated")));
  }
  EXPECT_EQ(Checksum(Target(), first_db_, kColumnsWithoutDoc), before);
  ExpectUsable(first);
}

TEST_F(CopyFileTest, FailingTargetIsNamedAndTransactionsUndoTheOthers) {
  fs::path path = dir_ / "items.copy.zst";
  Capture(StreamFormat::kBinary, path);
  AddExistingTargetRows();
  Target().Psql(second_db_, "INSERT INTO public.items (id, label) VALUES (150, 'collides')");
  std::string first_before = Checksum(Target(), first_db_);
  std::string second_before = Checksum(Target(), second_db_);

  Connection first = OpenTarget(first_db_);
  Connection second = OpenTarget(second_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(StreamFormat::kBinary)},
                                        {&second, CopyIn(StreamFormat::kBinary)}};
  first.Exec("BEGIN");
  second.Exec("BEGIN");
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  try {
    RestoreCopy(reader, StreamFormat::kBinary, std::nullopt, targets, "public.items", nullptr,
                std::stop_token());
    FAIL() << "restored despite a duplicate key";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(),
                AllOf(HasSubstr("restoring public.items into " + second.Describe() + ": "),
                      HasSubstr("duplicate key value violates unique constraint \"items_pkey\"")));
    EXPECT_EQ(error.sqlstate(), "23505");
  }
  first.Exec("ROLLBACK");
  second.Exec("ROLLBACK");
  EXPECT_EQ(Checksum(Target(), first_db_), first_before);
  EXPECT_EQ(Checksum(Target(), second_db_), second_before);
  ExpectUsable(first);
  ExpectUsable(second);
}

TEST_F(CopyFileTest, TargetThatCannotStartAbortsTheOthers) {
  fs::path path = dir_ / "items.copy.zst";
  Capture(StreamFormat::kBinary, path);
  AddExistingTargetRows();
  Target().Psql(second_db_, "DROP TABLE public.items");
  std::string before = Checksum(Target(), first_db_);

  Connection first = OpenTarget(first_db_);
  Connection second = OpenTarget(second_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(StreamFormat::kBinary)},
                                        {&second, CopyIn(StreamFormat::kBinary)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  try {
    RestoreCopy(reader, StreamFormat::kBinary, std::nullopt, targets, "public.items", nullptr,
                std::stop_token());
    FAIL() << "restored into a missing table";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(),
                AllOf(HasSubstr("restoring public.items into " + second.Describe() + ": "),
                      HasSubstr("relation \"public.items\" does not exist")));
    EXPECT_EQ(error.sqlstate(), "42P01");
  }
  EXPECT_EQ(Checksum(Target(), first_db_), before);
  ExpectUsable(first);
  ExpectUsable(second);
}

// Independent targets (preview branches): one failing, mid-stream or at the
// start, is dropped with its reason, and the others load every row.
TEST_F(CopyFileTest, DroppedTargetFailsAloneAndTheOthersLoadEveryRow) {
  fs::path path = dir_ / "items.copy.zst";
  Capture(StreamFormat::kBinary, path);
  Target().Psql(second_db_, "INSERT INTO public.items (id, label) VALUES (150, 'collides')");
  std::string second_before = Checksum(Target(), second_db_);
  std::string third_db = Target().CreateUniqueDatabase("third");
  Target().Psql(third_db, "CREATE TABLE public.other (id int)");  // no public.items

  Connection first = OpenTarget(first_db_);
  Connection second = OpenTarget(second_db_);
  Connection third = OpenTarget(third_db);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(StreamFormat::kBinary)},
                                        {&second, CopyIn(StreamFormat::kBinary)},
                                        {&third, CopyIn(StreamFormat::kBinary)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  RowDigest sent;
  EXPECT_NO_THROW(RestoreCopy(reader, StreamFormat::kBinary, std::nullopt, targets, "public.items",
                              nullptr, std::stop_token(), &sent, OnTargetFailure::kDropTarget));

  EXPECT_FALSE(targets[0].failure);
  EXPECT_EQ(targets[0].rows, kRowCount);
  EXPECT_EQ(sent.rows(), kRowCount);
  EXPECT_EQ(Checksum(Target(), first_db_), Checksum(Source(), source_db_));
  ASSERT_TRUE(targets[1].failure);
  EXPECT_THAT(targets[1].failure->what(),
              AllOf(HasSubstr("restoring public.items into " + second.Describe() + ": "),
                    HasSubstr("duplicate key value violates unique constraint \"items_pkey\"")));
  EXPECT_EQ(Checksum(Target(), second_db_), second_before);
  ASSERT_TRUE(targets[2].failure);
  EXPECT_THAT(targets[2].failure->what(), HasSubstr("relation \"public.items\" does not exist"));
  ExpectUsable(first);
  ExpectUsable(second);
  ExpectUsable(third);
}

TEST_F(CopyFileTest, EveryTargetDroppedIsNotAnErrorOfTheFile) {
  fs::path path = dir_ / "items.copy.zst";
  Capture(StreamFormat::kBinary, path);
  for (const std::string& db : {first_db_, second_db_})
    Target().Psql(db, "INSERT INTO public.items (id, label) VALUES (150, 'collides')");
  Connection first = OpenTarget(first_db_);
  Connection second = OpenTarget(second_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(StreamFormat::kBinary)},
                                        {&second, CopyIn(StreamFormat::kBinary)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  EXPECT_NO_THROW(RestoreCopy(reader, StreamFormat::kBinary, std::nullopt, targets, "public.items",
                              nullptr, std::stop_token(), nullptr, OnTargetFailure::kDropTarget));
  for (const RestoreTarget& target : targets) {
    ASSERT_TRUE(target.failure);
    EXPECT_EQ(target.failure->sqlstate(), "23505");
  }
  EXPECT_EQ(Target().Psql(first_db_, "SELECT count(*) FROM public.items"), "1");
  ExpectUsable(first);
  ExpectUsable(second);
}

TEST_F(CopyFileTest, StopRequestCancelsTheRestoreAndLeavesTargetsUnchanged) {
  fs::path path = dir_ / "items.copy.zst";
  Capture(StreamFormat::kBinary, path);
  AddExistingTargetRows();
  std::string before = Checksum(Target(), first_db_);
  Connection first = OpenTarget(first_db_);
  Connection second = OpenTarget(second_db_);
  std::vector<RestoreTarget> targets = {{&first, CopyIn(StreamFormat::kBinary)},
                                        {&second, CopyIn(StreamFormat::kBinary)}};
  SnapshotFileReader reader = SnapshotFileReader::Open(path);
  std::stop_source stop;
  stop.request_stop();
  try {
    RestoreCopy(reader, StreamFormat::kBinary, std::nullopt, targets, "public.items", nullptr,
                stop.get_token());
    FAIL() << "restored despite a stop request";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("public.items"), HasSubstr("cancelled")));
  }
  EXPECT_EQ(Checksum(Target(), first_db_), before);
  EXPECT_EQ(Checksum(Target(), second_db_), before);
  ExpectUsable(first);
  ExpectUsable(second);
}

TEST_F(CopyFileTest, SourceErrorMidStreamNamesSourceAndLeavesNoFile) {
  fs::path path = dir_ / "items.copy.zst";
  Connection source = OpenSource();
  {
    SnapshotFileWriter writer = SnapshotFileWriter::Create(path, {});
    // Fails at id 30000, after many rows have been written.
    std::string failing_columns = std::string("id + 0 * (1 / (id - 30000)) AS id") +
                                  std::string(kColumns).substr(std::string("id").size());
    try {
      CaptureCopy(source, CopyOut(StreamFormat::kBinary, failing_columns), StreamFormat::kBinary,
                  writer, "public.items", nullptr, std::stop_token());
      FAIL() << "captured despite a division by zero";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), AllOf(HasSubstr("capturing public.items (source)"),
                                      HasSubstr("division by zero")));
      EXPECT_EQ(error.sqlstate(), "22012");
    }
  }
  EXPECT_FALSE(fs::exists(path));
  ExpectUsable(source);
}

TEST_F(CopyFileTest, StopRequestCancelsTheCaptureAndLeavesNoFile) {
  fs::path path = dir_ / "items.copy.zst";
  Connection source = OpenSource();
  {
    SnapshotFileWriter writer = SnapshotFileWriter::Create(path, {});
    std::stop_source stop;
    stop.request_stop();
    try {
      CaptureCopy(source, CopyOut(StreamFormat::kBinary), StreamFormat::kBinary, writer,
                  "public.items", nullptr, stop.get_token());
      FAIL() << "captured despite a stop request";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), AllOf(HasSubstr("capturing public.items"), HasSubstr("cancelled")));
    }
  }
  EXPECT_FALSE(fs::exists(path));
  ExpectUsable(source);
}

TEST_F(CopyFileTest, DigestCopyOfAMissingTableNamesIt) {
  Connection source = OpenSource();
  try {
    DigestCopy(source, "COPY public.no_such_table TO STDOUT (FORMAT binary)", StreamFormat::kBinary,
               "public.no_such_table", std::stop_token());
    FAIL() << "digested a missing table";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("digesting public.no_such_table (source)"),
                                    HasSubstr("does not exist")));
    EXPECT_EQ(error.sqlstate(), "42P01");
  }
  ExpectUsable(source);
}

}  // namespace
}  // namespace freshet
