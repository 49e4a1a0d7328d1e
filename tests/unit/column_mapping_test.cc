#include "schema/column_mapping.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace freshet {
namespace {

using Names = std::vector<std::string>;

Column Col(const std::string& name, const std::string& type = "integer", bool portable = true) {
  Column c;
  c.name = name;
  c.type = type;
  c.binary_portable = portable;
  return c;
}

Column NotNull(Column c) {
  c.not_null = true;
  return c;
}

Table Tbl(std::vector<Column> columns) {
  Table t;
  t.name = {"public", "t"};
  t.columns = std::move(columns);
  return t;
}

TEST(ColumnMappingTest, IdenticalTablesCopyEveryColumnInBinary) {
  Table t = Tbl({Col("id", "bigint"), Col("email", "text"), Col("created_at", "timestamptz")});
  ColumnMapping m = MapColumns(t, t);
  EXPECT_EQ(m.columns, (Names{"id", "email", "created_at"}));
  EXPECT_EQ(m.format, CopyFormat::kBinary);
  EXPECT_EQ(m.format_reason, "");
  EXPECT_TRUE(m.source_only.empty());
  EXPECT_TRUE(m.target_only.empty());
  EXPECT_TRUE(m.errors.empty());
}

TEST(ColumnMappingTest, ColumnsFollowTheTargetOrder) {
  Table source = Tbl({Col("a"), Col("b"), Col("c")});
  Table target = Tbl({Col("c"), Col("a"), Col("b")});
  EXPECT_EQ(MapColumns(source, target).columns, (Names{"c", "a", "b"}));
}

TEST(ColumnMappingTest, NamesMatchExactly) {
  Table source = Tbl({Col("id"), Col("Email")});
  Table target = Tbl({Col("id"), Col("email")});
  ColumnMapping m = MapColumns(source, target);
  EXPECT_EQ(m.columns, Names{"id"});
  EXPECT_EQ(m.source_only, Names{"Email"});
  EXPECT_EQ(m.target_only, Names{"email"});
}

TEST(ColumnMappingTest, TargetGeneratedColumnIsNotCopied) {
  Column total = Col("total", "numeric");
  total.generated = true;
  Table source = Tbl({Col("id"), total});
  Table target = Tbl({Col("id"), total});
  ColumnMapping m = MapColumns(source, target);
  EXPECT_EQ(m.columns, Names{"id"});
  EXPECT_TRUE(m.source_only.empty());
  EXPECT_TRUE(m.target_only.empty());
  EXPECT_TRUE(m.errors.empty());
}

TEST(ColumnMappingTest, SourceGeneratedColumnIsCopiedIntoAnOrdinaryTargetColumn) {
  Column total = Col("total", "numeric");
  total.generated = true;
  Table source = Tbl({Col("id"), total});
  Table target = Tbl({Col("id"), Col("total", "numeric")});
  EXPECT_EQ(MapColumns(source, target).columns, (Names{"id", "total"}));
}

TEST(ColumnMappingTest, SourceOnlyColumnsAreListedAndDropped) {
  Table source = Tbl({Col("id"), Col("legacy_code", "text"), Col("notes", "text")});
  Table target = Tbl({Col("id")});
  ColumnMapping m = MapColumns(source, target);
  EXPECT_EQ(m.columns, Names{"id"});
  EXPECT_EQ(m.source_only, (Names{"legacy_code", "notes"}));
  EXPECT_TRUE(m.errors.empty());
}

TEST(ColumnMappingTest, NullableTargetOnlyColumnIsListedWithoutError) {
  Table source = Tbl({Col("id")});
  Table target = Tbl({Col("id"), Col("nickname", "text")});
  ColumnMapping m = MapColumns(source, target);
  EXPECT_EQ(m.target_only, Names{"nickname"});
  EXPECT_TRUE(m.errors.empty());
}

TEST(ColumnMappingTest, NotNullTargetOnlyColumnWithADefaultIsFine) {
  Column status = NotNull(Col("status", "text"));
  status.default_expr = "'active'::text";
  ColumnMapping m = MapColumns(Tbl({Col("id")}), Tbl({Col("id"), status}));
  EXPECT_EQ(m.target_only, Names{"status"});
  EXPECT_TRUE(m.errors.empty());
}

TEST(ColumnMappingTest, NotNullTargetOnlyIdentityColumnIsFine) {
  Column seq = NotNull(Col("seq", "bigint"));
  seq.identity = 'a';
  EXPECT_TRUE(MapColumns(Tbl({Col("id")}), Tbl({Col("id"), seq})).errors.empty());
}

TEST(ColumnMappingTest, NotNullTargetOnlyGeneratedColumnIsFine) {
  Column total = NotNull(Col("total", "numeric"));
  total.generated = true;
  ColumnMapping m = MapColumns(Tbl({Col("id")}), Tbl({Col("id"), total}));
  EXPECT_EQ(m.target_only, Names{"total"});
  EXPECT_TRUE(m.errors.empty());
}

TEST(ColumnMappingTest, NotNullTargetOnlyColumnWithoutDefaultIsAPlanError) {
  ColumnMapping m = MapColumns(Tbl({Col("id")}), Tbl({Col("id"), NotNull(Col("region", "text"))}));
  EXPECT_EQ(m.target_only, Names{"region"});
  ASSERT_EQ(m.errors.size(), 1u);
  EXPECT_EQ(m.errors[0],
            "target table public.t: column \"region\" is NOT NULL without a default and does not "
            "exist on the source; add a default on the target or the column on the source");
}

TEST(ColumnMappingTest, DifferentTypeTextForcesTextFormatAndNamesBothTypes) {
  Table source = Tbl({Col("id"), Col("amount", "numeric(14,2)")});
  Table target = Tbl({Col("id"), Col("amount", "numeric")});
  ColumnMapping m = MapColumns(source, target);
  EXPECT_EQ(m.columns, (Names{"id", "amount"}));
  EXPECT_EQ(m.format, CopyFormat::kText);
  EXPECT_EQ(m.format_reason, "amount: numeric(14,2) on source, numeric on target");
}

TEST(ColumnMappingTest, NonPortableTypeForcesTextFormat) {
  Table t = Tbl({Col("id"), Col("location", "geography", /*portable=*/false)});
  ColumnMapping m = MapColumns(t, t);
  EXPECT_EQ(m.format, CopyFormat::kText);
  EXPECT_EQ(m.format_reason, "location: type geography is not binary-portable");
}

TEST(ColumnMappingTest, TypeNotPortableOnOneSideOnlyForcesTextFormat) {
  Table source = Tbl({Col("tags", "tag_list", true)});
  Table target = Tbl({Col("tags", "tag_list", false)});
  EXPECT_EQ(MapColumns(source, target).format, CopyFormat::kText);
}

TEST(ColumnMappingTest, UncopiedColumnsDoNotAffectTheFormat) {
  Column shape = Col("shape", "geometry", false);
  Column generated = Col("area", "geometry", false);
  generated.generated = true;
  Table source = Tbl({Col("id"), shape, generated});
  Table target = Tbl({Col("id"), generated, Col("extra", "geometry", false)});
  ColumnMapping m = MapColumns(source, target);
  EXPECT_EQ(m.columns, Names{"id"});
  EXPECT_EQ(m.format, CopyFormat::kBinary);
}

TEST(ColumnMappingTest, FormatReasonNamesTheFirstThreeOffendersAndCountsTheRest) {
  Table source = Tbl({Col("a", "int"), Col("b", "x", false), Col("c", "numeric(5)"),
                      Col("d", "y", false), Col("e", "z", false)});
  Table target = Tbl({Col("a", "bigint"), Col("b", "x", false), Col("c", "numeric"),
                      Col("d", "y", false), Col("e", "z", false)});
  EXPECT_EQ(MapColumns(source, target).format_reason,
            "a: int on source, bigint on target; b: type x is not binary-portable; "
            "c: numeric(5) on source, numeric on target; and 2 more column(s)");
}

TEST(ColumnMappingTest, NoColumnInCommonIsAPlanError) {
  ColumnMapping m = MapColumns(Tbl({Col("a")}), Tbl({Col("b")}));
  EXPECT_TRUE(m.columns.empty());
  EXPECT_EQ(m.errors, Names{"table public.t: no column in common to copy"});
}

TEST(ColumnMappingTest, TablesWithoutColumnsMapToNothingWithoutError) {
  ColumnMapping m = MapColumns(Tbl({}), Tbl({}));
  EXPECT_TRUE(m.columns.empty());
  EXPECT_TRUE(m.errors.empty());
  EXPECT_EQ(m.format, CopyFormat::kBinary);
}

TEST(ColumnMappingTest, ErrorsNameTheTargetTable) {
  Table source = Tbl({Col("a")});
  Table target = Tbl({Col("b")});
  target.name = {"Sales Data", "Q1"};
  EXPECT_EQ(MapColumns(source, target).errors.back(),
            "table Sales Data.Q1: no column in common to copy");
}

}  // namespace
}  // namespace freshet
