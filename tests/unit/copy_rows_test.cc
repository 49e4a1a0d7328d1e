// CopyRowReader, RowProjector, FieldSplitter and RowDigest on bytes: rows come out whole
// however the stream is cut, malformed streams are refused with the byte
// offset, projection keeps exactly the chosen fields, and the digest ignores
// row order.
#include "copy/copy_rows.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/big_endian.h"

namespace freshet {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Field = std::optional<std::string>;

using testing::Int16;
using testing::Int32;

std::string BinaryRow(const std::vector<Field>& fields) {
  std::string row = Int16(static_cast<int>(fields.size()));
  for (const Field& field : fields) {
    row += field ? Int32(static_cast<int32_t>(field->size())) + *field : Int32(-1);
  }
  return row;
}

std::string Concat(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += part;
  return out;
}

std::string BinaryStream(const std::vector<std::string>& rows) {
  return std::string(BinaryCopyHeader()) + Concat(rows) + std::string(BinaryCopyTrailer());
}

// Rows of every shape: NULLs, empty values, a zero-column row, bytes that look
// like a trailer, a newline and a NUL inside values.
std::vector<std::string> AwkwardBinaryRows() {
  return {
      BinaryRow({std::string("1"), std::string("hello"), std::nullopt}),
      BinaryRow({std::string(""), std::nullopt, std::string("")}),
      BinaryRow({}),
      BinaryRow({std::string("\xff\xff", 2), std::string("a\nb", 3), std::string("\0x", 2)}),
      BinaryRow({std::string(300, 'z'), std::string("2"), std::string("3")}),
  };
}

// Feeds `pieces` and returns the rows yielded, then checks Finish.
std::vector<std::string> ReadRows(StreamFormat format,
                                  const std::vector<std::string_view>& pieces) {
  CopyRowReader reader(format, "public.items");
  std::vector<std::string> rows;
  for (std::string_view piece : pieces)
    reader.Feed(piece, [&rows](std::string_view row) { rows.emplace_back(row); });
  reader.Finish();
  EXPECT_EQ(reader.rows(), rows.size());
  return rows;
}

std::string ErrorOf(StreamFormat format, const std::string& stream, bool finish = true) {
  CopyRowReader reader(format, "public.items");
  try {
    reader.Feed(stream, [](std::string_view) {});
    if (finish) reader.Finish();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(CopyRowReaderTest, BinaryHeaderAndTrailerAreTheStandardOnes) {
  EXPECT_EQ(BinaryCopyHeader(), std::string_view("PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19));
  EXPECT_EQ(BinaryCopyTrailer(), std::string_view("\377\377", 2));
}

TEST(CopyRowReaderTest, BinaryStreamFedWholeYieldsEveryRowExactly) {
  std::vector<std::string> rows = AwkwardBinaryRows();
  EXPECT_EQ(ReadRows(StreamFormat::kBinary, {BinaryStream(rows)}), rows);
}

TEST(CopyRowReaderTest, BinaryRowsSurviveEveryPieceBoundary) {
  std::vector<std::string> rows = AwkwardBinaryRows();
  std::string stream = BinaryStream(rows);
  std::string_view view(stream);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    EXPECT_EQ(ReadRows(StreamFormat::kBinary, {view.substr(0, cut), view.substr(cut)}), rows)
        << "cut at " << cut;
  }
}

TEST(CopyRowReaderTest, BinaryRowsSurviveEveryPairOfPieceBoundaries) {
  std::vector<std::string> rows = AwkwardBinaryRows();
  rows.resize(4);  // without the long row: quadratic in the stream size
  std::string stream = BinaryStream(rows);
  std::string_view view(stream);
  for (size_t first = 0; first <= stream.size(); ++first) {
    for (size_t second = first; second <= stream.size(); ++second) {
      ASSERT_EQ(ReadRows(StreamFormat::kBinary,
                         {view.substr(0, first), view.substr(first, second - first),
                          view.substr(second)}),
                rows)
          << "cuts at " << first << " and " << second;
    }
  }
}

TEST(CopyRowReaderTest, BinaryRowsSurviveOneBytePieces) {
  std::vector<std::string> rows = AwkwardBinaryRows();
  std::string stream = BinaryStream(rows);
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < stream.size(); ++i)
    pieces.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_EQ(ReadRows(StreamFormat::kBinary, pieces), rows);
}

TEST(CopyRowReaderTest, WideAndLongRowsSplitAcrossManyPiecesComeOutWhole) {
  std::vector<Field> wide;
  for (int i = 0; i < 1600; ++i) wide.push_back(i % 3 ? Field(std::to_string(i)) : std::nullopt);
  std::vector<std::string> rows = {BinaryRow(wide), BinaryRow({std::string(200000, 'x')}),
                                   BinaryRow({std::string("after")})};
  std::string stream = BinaryStream(rows);
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < stream.size(); i += 7)
    pieces.push_back(std::string_view(stream).substr(i, 7));
  EXPECT_EQ(ReadRows(StreamFormat::kBinary, pieces), rows);
}

TEST(CopyRowReaderTest, NullAndEmptyFieldsStayDistinct) {
  std::vector<std::string> rows = {BinaryRow({std::nullopt}), BinaryRow({std::string()})};
  std::vector<std::string> read = ReadRows(StreamFormat::kBinary, {BinaryStream(rows)});
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0], std::string("\0\1\xff\xff\xff\xff", 6));
  EXPECT_EQ(read[1], std::string("\0\1\0\0\0\0", 6));
}

TEST(CopyRowReaderTest, ZeroColumnRowsAreTwoBytesEach) {
  std::vector<std::string> rows = {BinaryRow({}), BinaryRow({}), BinaryRow({})};
  EXPECT_THAT(ReadRows(StreamFormat::kBinary, {BinaryStream(rows)}),
              ElementsAre(std::string(2, '\0'), std::string(2, '\0'), std::string(2, '\0')));
}

TEST(CopyRowReaderTest, EmptyTableIsHeaderAndTrailerOnly) {
  EXPECT_TRUE(ReadRows(StreamFormat::kBinary, {BinaryStream({})}).empty());
}

TEST(CopyRowReaderTest, HeaderExtensionIsSkipped) {
  std::string header = std::string("PGCOPY\n\377\r\n\0", 11) + Int32(0) + Int32(5) + "extra";
  std::string row = BinaryRow({std::string("v")});
  std::string stream = header + row + std::string(BinaryCopyTrailer());
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    std::string_view view(stream);
    EXPECT_THAT(ReadRows(StreamFormat::kBinary, {view.substr(0, cut), view.substr(cut)}),
                ElementsAre(row))
        << "cut at " << cut;
  }
}

TEST(CopyRowReaderTest, BadSignatureIsRefusedAtTheFirstWrongByte) {
  std::string stream = BinaryStream({});
  stream[5] = 'X';
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, stream),
              AllOf(HasSubstr("public.items"), HasSubstr("at byte 5"), HasSubstr("signature")));
  // Noticed as soon as the wrong byte arrives, before the header is complete.
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, "PGCOPY\r", /*finish=*/false),
              AllOf(HasSubstr("at byte 6"), HasSubstr("signature")));
}

TEST(CopyRowReaderTest, TextStreamInBinaryReaderIsRefused) {
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, "1\tone\n"),
              AllOf(HasSubstr("at byte 0"), HasSubstr("not a binary COPY stream")));
}

TEST(CopyRowReaderTest, UnknownCriticalHeaderFlagIsRefused) {
  std::string stream = BinaryStream({});
  stream[12] = 1;  // bit 16: OIDs
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, stream),
              AllOf(HasSubstr("at byte 11"), HasSubstr("flags 0x00010000")));
}

TEST(CopyRowReaderTest, NegativeHeaderExtensionIsRefused) {
  std::string stream = std::string("PGCOPY\n\377\r\n\0", 11) + Int32(0) + Int32(-3);
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, stream),
              AllOf(HasSubstr("at byte 15"), HasSubstr("negative header extension")));
}

TEST(CopyRowReaderTest, TruncatedTupleIsRefusedAtFinishWithItsOffset) {
  std::string first = BinaryRow({std::string("a")});
  std::string second = BinaryRow({std::string("bbbb"), std::string("c")});
  std::string stream = std::string(BinaryCopyHeader()) + first + second.substr(0, 9);
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, stream),
              AllOf(HasSubstr("public.items"), HasSubstr("inside row 2"),
                    HasSubstr("starts at byte " + std::to_string(19 + first.size())),
                    HasSubstr("at byte " + std::to_string(stream.size()))));
}

TEST(CopyRowReaderTest, MissingTrailerIsRefusedAtFinish) {
  std::string stream = std::string(BinaryCopyHeader()) + BinaryRow({std::string("a")});
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, stream), HasSubstr("without the trailer"));
}

TEST(CopyRowReaderTest, EmptyBinaryStreamIsRefusedAtFinish) {
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, ""),
              AllOf(HasSubstr("at byte 0"), HasSubstr("before the end of the header")));
}

TEST(CopyRowReaderTest, DataAfterTrailerIsRefusedWithItsOffset) {
  std::string stream = BinaryStream({BinaryRow({std::string("a")})});
  size_t end = stream.size();
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, stream + "x", /*finish=*/false),
              AllOf(HasSubstr("at byte " + std::to_string(end)), HasSubstr("after the trailer")));
  // Also when it comes in a later piece.
  CopyRowReader reader(StreamFormat::kBinary, "public.items");
  reader.Feed(stream, [](std::string_view) {});
  EXPECT_THROW(reader.Feed(std::string_view("\0", 1), [](std::string_view) {}), Error);
}

TEST(CopyRowReaderTest, InvalidFieldLengthIsRefusedWithItsOffset) {
  std::string stream = std::string(BinaryCopyHeader()) + Int16(2) + Int32(1) + "a" + Int32(-2);
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, stream, /*finish=*/false),
              AllOf(HasSubstr("at byte 26"), HasSubstr("invalid length -2 of field 2 of row 1")));
}

TEST(CopyRowReaderTest, InvalidFieldCountIsRefusedWithItsOffset) {
  std::string stream = std::string(BinaryCopyHeader()) + BinaryRow({std::string("a")}) + Int16(-7);
  EXPECT_THAT(ErrorOf(StreamFormat::kBinary, stream, /*finish=*/false),
              AllOf(HasSubstr("at byte 26"), HasSubstr("invalid field count -7")));
}

TEST(CopyRowReaderTest, TextRowsEndAtNewlinesWhereverTheStreamIsCut) {
  std::vector<std::string> rows = {"1\thello\t\\N\n", "2\t\\n escaped newline\tx\n", "\n",
                                   "3\t\t\n"};
  std::string stream = Concat(rows);
  std::string_view view(stream);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    EXPECT_EQ(ReadRows(StreamFormat::kText, {view.substr(0, cut), view.substr(cut)}), rows)
        << "cut at " << cut;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) bytes.push_back(view.substr(i, 1));
  EXPECT_EQ(ReadRows(StreamFormat::kText, bytes), rows);
}

TEST(CopyRowReaderTest, EmptyTextStreamHasNoRows) {
  EXPECT_TRUE(ReadRows(StreamFormat::kText, {""}).empty());
  EXPECT_TRUE(ReadRows(StreamFormat::kText, {}).empty());
}

TEST(CopyRowReaderTest, TextStreamEndingInsideARowIsRefused) {
  EXPECT_THAT(ErrorOf(StreamFormat::kText, "1\ta\n2\tb"),
              AllOf(HasSubstr("public.items"), HasSubstr("text COPY stream at byte 7"),
                    HasSubstr("inside row 2")));
}

TEST(RowProjectorTest, BinaryKeepsTheChosenFieldsInOrder) {
  RowProjector projector(StreamFormat::kBinary, {true, false, true, true, false});
  std::string out = "prefix";
  projector.Project(BinaryRow({std::string("a"), std::string("dropped"), std::nullopt,
                               std::string(""), std::nullopt}),
                    out);
  EXPECT_EQ(out, "prefix" + BinaryRow({std::string("a"), std::nullopt, std::string("")}));
  EXPECT_FALSE(projector.keeps_all());
}

TEST(RowProjectorTest, BinaryCanDropTheFirstAndLastFields) {
  RowProjector projector(StreamFormat::kBinary, {false, true, false});
  std::string out;
  projector.Project(BinaryRow({std::string("x"), std::string("kept"), std::string("y")}), out);
  EXPECT_EQ(out, BinaryRow({std::string("kept")}));
}

TEST(RowProjectorTest, BinaryRowWithTheWrongFieldCountIsRefusedAndOutputUntouched) {
  RowProjector projector(StreamFormat::kBinary, {true, false});
  std::string out = "kept";
  try {
    projector.Project(BinaryRow({std::string("a"), std::string("b"), std::string("c")}), out);
    FAIL() << "projected a row with too many fields";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("3 fields, expected 2"));
  }
  EXPECT_EQ(out, "kept");
  std::string truncated = BinaryRow({std::string("a"), std::string("bcd")});
  truncated.pop_back();
  EXPECT_THROW(projector.Project(truncated, out), Error);
  EXPECT_EQ(out, "kept");
}

TEST(RowProjectorTest, TextKeepsTheChosenFieldsAndTheNewline) {
  RowProjector projector(StreamFormat::kText, {true, false, true});
  std::string out;
  projector.Project("1\tdropped\t\\N\n", out);
  projector.Project("\t\t\n", out);
  projector.Project("a\\tb\tx\tc\\\\\n", out);
  EXPECT_EQ(out, "1\t\\N\n\t\na\\tb\tc\\\\\n");
}

TEST(RowProjectorTest, TextRowWithTheWrongFieldCountIsRefusedAndOutputUntouched) {
  RowProjector projector(StreamFormat::kText, {true, false, true});
  std::string out = "kept";
  EXPECT_THROW(projector.Project("1\t2\n", out), Error);
  EXPECT_THROW(projector.Project("1\t2\t3\t4\n", out), Error);
  EXPECT_THROW(projector.Project("1\t2\t3", out), Error);  // no newline
  EXPECT_EQ(out, "kept");
}

TEST(RowProjectorTest, KeepsAllOnlyWhenEveryFlagIsSet) {
  EXPECT_TRUE(RowProjector(StreamFormat::kBinary, {true, true}).keeps_all());
  EXPECT_FALSE(RowProjector(StreamFormat::kText, {true, false}).keeps_all());
}

TEST(RowProjectorTest, ProjectsRowsAsTheReaderYieldsThem) {
  std::vector<std::string> rows = AwkwardBinaryRows();
  rows.erase(rows.begin() + 2);  // all rows of a stream have the same width
  RowProjector projector(StreamFormat::kBinary, {false, true, true});
  CopyRowReader reader(StreamFormat::kBinary, "t");
  std::string out;
  reader.Feed(BinaryStream(rows), [&](std::string_view row) { projector.Project(row, out); });
  std::string expected = Concat({BinaryRow({std::string("hello"), std::nullopt}),
                                 BinaryRow({std::nullopt, std::string("")}),
                                 BinaryRow({std::string("a\nb", 3), std::string("\0x", 2)}),
                                 BinaryRow({std::string("2"), std::string("3")})});
  EXPECT_EQ(out, expected);
}

std::vector<Field> Split(FieldSplitter& splitter, const std::string& row) {
  std::vector<Field> out;
  for (const auto& field : splitter.Split(row))
    out.push_back(field ? Field(std::string(*field)) : std::nullopt);
  return out;
}

TEST(FieldSplitterTest, BinaryFieldsComeOutAsSentNullsAsNone) {
  FieldSplitter splitter(StreamFormat::kBinary, 3);
  EXPECT_THAT(Split(splitter, BinaryRow({std::string("a\tb"), std::nullopt, std::string()})),
              ElementsAre(Field("a\tb"), std::nullopt, Field("")));
  EXPECT_THAT(Split(splitter, BinaryRow({})), ElementsAre());
}

TEST(FieldSplitterTest, TextFieldsAreDeEscaped) {
  FieldSplitter splitter(StreamFormat::kText, 5);
  EXPECT_THAT(Split(splitter, "a\\tb\t\\N\tx\\101y\\x41\\x\t\\\\N\t\n"),
              ElementsAre(Field("a\tb"), std::nullopt, Field("xAyAx"), Field("\\N"), Field("")));
  EXPECT_THAT(Split(splitter, "\\b\\f\\n\\r\\v\\q\\0\n"),
              ElementsAre(Field(std::string("\b\f\n\r\vq\0", 7))));
  FieldSplitter one_column(StreamFormat::kText, 1);
  EXPECT_THAT(Split(one_column, "\n"), ElementsAre(Field("")));
  FieldSplitter no_columns(StreamFormat::kText, 0);
  EXPECT_THAT(Split(no_columns, "\n"), ElementsAre());
}

TEST(FieldSplitterTest, MalformedRowsAreRefused) {
  FieldSplitter binary(StreamFormat::kBinary, 2);
  EXPECT_THROW(binary.Split(Int16(2) + Int32(1) + "a"), Error);
  EXPECT_THROW(binary.Split(Int16(1) + Int32(5) + "ab"), Error);
  EXPECT_THROW(binary.Split(Int16(1) + Int32(-2)), Error);
  EXPECT_THROW(binary.Split(BinaryRow({std::string("a")}) + "x"), Error);
  FieldSplitter text(StreamFormat::kText, 1);
  EXPECT_THROW(text.Split("no newline"), Error);
}

TEST(RowDigestTest, IgnoresRowOrder) {
  RowDigest forward, backward;
  std::vector<std::string> rows = AwkwardBinaryRows();
  for (const std::string& row : rows) forward.Add(row);
  for (auto row = rows.rbegin(); row != rows.rend(); ++row) backward.Add(*row);
  EXPECT_EQ(forward, backward);
  EXPECT_EQ(forward.rows(), rows.size());
}

TEST(RowDigestTest, ChangesWithAnyRowAndWithDuplicates) {
  RowDigest base, changed, duplicated;
  for (const char* row : {"a", "b", "c"}) base.Add(row);
  for (const char* row : {"a", "b", "d"}) changed.Add(row);
  for (const char* row : {"a", "b", "c", "c"}) duplicated.Add(row);
  EXPECT_NE(base, changed);
  EXPECT_NE(base, duplicated);
  EXPECT_EQ(base.rows(), changed.rows());
}

TEST(RowDigestTest, MergeEqualsDigestOfAllRows) {
  RowDigest all, first, second;
  for (const char* row : {"a", "b", "c", "d"}) all.Add(row);
  first.Add("c");
  first.Add("a");
  second.Add("d");
  second.Add("b");
  first.Merge(second);
  EXPECT_EQ(first, all);
}

TEST(RowDigestTest, ToStringIsRowsColonSixteenHexDigits) {
  EXPECT_EQ(RowDigest().ToString(), "0:0000000000000000");
  RowDigest digest;
  digest.Add("row");
  EXPECT_THAT(digest.ToString(), ::testing::MatchesRegex("1:[0-9a-f]{16}"));
}

TEST(RowDigestTest, ParseRoundTrips) {
  RowDigest digest;
  for (int i = 0; i < 1000; ++i) digest.Add(std::to_string(i));
  EXPECT_EQ(RowDigest::Parse(digest.ToString()), digest);
  EXPECT_EQ(RowDigest::Parse("0:0000000000000000"), RowDigest());
  EXPECT_EQ(RowDigest::Parse("18446744073709551615:ffffffffffffffff").rows(),
            18446744073709551615u);
}

TEST(RowDigestTest, ParseRejectsAnythingButTheCanonicalForm) {
  for (const char* text :
       {"", ":", "3", "3:", ":0123456789abcdef", "3:0123456789abcde", "3:0123456789abcdef0",
        "3:0123456789ABCDEF", "03:0123456789abcdef", "+3:0123456789abcdef", "-3:0123456789abcdef",
        "3 :0123456789abcdef", "3: 123456789abcdef", "3:0123456789abcdeg", "x:0123456789abcdef",
        "3:0123456789abcdef\n", "18446744073709551616:0123456789abcdef"}) {
    try {
      RowDigest::Parse(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), HasSubstr("invalid row digest")) << text;
      EXPECT_EQ(error.kind(), ErrorKind::kUsage);
    }
  }
}

}  // namespace
}  // namespace freshet
