// What a column's type is made of, followed through a catalog's types:
// binary portability, reg* types, composite differences at any depth.
#include "schema/type_graph.h"

#include <gtest/gtest.h>

namespace freshet {
namespace {

TypeInfo Base(const std::string& name, bool built_in = true) {
  TypeInfo type;
  type.name = name;
  type.built_in = built_in;
  return type;
}

TypeInfo ArrayOf(const std::string& element) {
  TypeInfo type = Base(element + "[]");
  type.element = element;
  return type;
}

TypeInfo Domain(const std::string& name, const std::string& base) {
  TypeInfo type = Base(name, false);
  type.kind = 'd';
  type.domain_base = base;
  type.domain_base_id = base;
  return type;
}

TypeInfo Composite(const std::string& name,
                   std::vector<std::pair<std::string, std::string>> attributes) {
  TypeInfo type = Base(name, false);
  type.kind = 'c';
  type.attributes = std::move(attributes);
  return type;
}

Catalog With(std::vector<TypeInfo> types) {
  Catalog catalog;
  for (auto& type : types) {
    std::string key = type.name;
    catalog.types.emplace(key, std::move(type));
  }
  return catalog;
}

Catalog Common() {
  TypeInfo regclass = Base("regclass");
  regclass.names_objects = true;
  TypeInfo aclitem = Base("aclitem");
  aclitem.binary_io = false;
  TypeInfo mood = Base("public.mood", false);
  mood.kind = 'e';
  TypeInfo range = Base("int4range");
  range.kind = 'r';
  range.range_subtype = "integer";
  return With({Base("integer"), Base("text"), regclass, ArrayOf("regclass"), aclitem,
               ArrayOf("aclitem"), mood, ArrayOf("public.mood"), Domain("public.rel", "regclass"),
               Domain("public.posint", "integer"), ArrayOf("public.posint"),
               Domain("public.outer", "public.posint"), range, Base("public.geometry", false)});
}

TEST(TypeGraphTest, BuiltInTypesEnumsRangesAndDomainsOverThemAreBinaryPortable) {
  Catalog catalog = Common();
  for (const char* type :
       {"integer", "text", "public.mood", "public.posint", "public.outer", "int4range"})
    EXPECT_EQ(BinaryObstacle(catalog, type), "") << type;
}

// Binary arrays name their element type by OID: arrays of enums and domains
// differ between servers (columns.sql's binary_portable says the same).
TEST(TypeGraphTest, ArraysOfTypesThatAreNotBuiltInAreNotBinaryPortable) {
  Catalog catalog = Common();
  EXPECT_EQ(BinaryObstacle(catalog, "public.mood[]"),
            "type public.mood[] is an array of a type that is not built in");
  EXPECT_EQ(BinaryObstacle(catalog, "public.posint[]"),
            "type public.posint[] is an array of a type that is not built in");
}

TEST(TypeGraphTest, RegTypesTypesWithoutBinaryIoAndExtensionTypesAreNot) {
  Catalog catalog = Common();
  EXPECT_EQ(BinaryObstacle(catalog, "regclass"),
            "type regclass names objects by OID, which differ between servers");
  EXPECT_EQ(BinaryObstacle(catalog, "regclass[]"), BinaryObstacle(catalog, "regclass"));
  EXPECT_EQ(BinaryObstacle(catalog, "public.rel"), BinaryObstacle(catalog, "regclass"));
  EXPECT_EQ(BinaryObstacle(catalog, "aclitem[]"), "type aclitem has no binary form");
  EXPECT_EQ(BinaryObstacle(catalog, "public.geometry"),
            "type public.geometry is not built in (its binary form may differ)");
  EXPECT_EQ(BinaryObstacle(catalog, "unknown.type"), "");  // no answer rather than a wrong one
}

TEST(TypeGraphTest, ObjectNameTypesAreFoundThroughDomainsAndArrays) {
  Catalog catalog = Common();
  EXPECT_EQ(ObjectNameType(catalog, "regclass[]"), "regclass");
  EXPECT_EQ(ObjectNameType(catalog, "public.rel"), "regclass");
  EXPECT_EQ(ObjectNameType(catalog, "integer"), "");
  EXPECT_TRUE(IsObjectNameTypeText("regprocedure[]"));
  EXPECT_TRUE(IsObjectNameTypeText("regnamespace"));
  EXPECT_FALSE(IsObjectNameTypeText("regular"));
  EXPECT_FALSE(IsObjectNameTypeText("public.regclass"));
}

TEST(TypeGraphTest, ResolveSeparatesValueDomainsFromElementDomains) {
  Catalog catalog = Common();
  ResolvedType outer = Resolve(catalog, "public.outer");
  EXPECT_EQ(outer.base, "integer");
  EXPECT_FALSE(outer.array);
  ASSERT_EQ(outer.value_domains.size(), 2u);
  EXPECT_EQ(outer.value_domains[0]->name, "public.outer");
  ResolvedType elements = Resolve(catalog, "public.posint[]");
  EXPECT_TRUE(elements.array);
  EXPECT_TRUE(elements.value_domains.empty());
  ASSERT_EQ(elements.element_domains.size(), 1u);
  EXPECT_EQ(elements.base, "integer");
  EXPECT_TRUE(elements.known);
  EXPECT_FALSE(Resolve(catalog, "nowhere").known);
}

TEST(TypeGraphTest, CompositesDifferingInOrderOrAttributesAreNamed) {
  Catalog source = Common();
  Catalog target = Common();
  source.types["public.pair"] = Composite("public.pair", {{"a", "integer"}, {"b", "text"}});
  target.types["public.pair"] = Composite("public.pair", {{"b", "text"}, {"a", "integer"}});
  source.types["public.pair[]"] = ArrayOf("public.pair");
  target.types["public.pair[]"] = ArrayOf("public.pair");
  std::string difference = CompositeDifference(source, "public.pair", target, "public.pair");
  EXPECT_EQ(difference,
            "composite type public.pair has attributes (\"a\" integer, \"b\" text) on the source "
            "but (\"b\" text, \"a\" integer) on the target, and COPY assigns attributes by "
            "position");
  EXPECT_EQ(CompositeDifference(source, "public.pair[]", target, "public.pair[]"), difference);
  EXPECT_EQ(CompositeDifference(source, "public.pair", source, "public.pair"), "");
}

TEST(TypeGraphTest, ACompositeDifferenceInsideAnAttributeIsFound) {
  Catalog source = Common();
  Catalog target = Common();
  source.types["public.inner"] =
      Composite("public.inner", {{"x", "integer"}, {"y", "character varying(5)"}});
  target.types["public.inner"] = Composite("public.inner", {{"x", "integer"}});
  source.types["character varying"] = Base("character varying");
  target.types["character varying"] = Base("character varying");
  for (Catalog* catalog : {&source, &target})
    catalog->types["public.outer_c"] =
        Composite("public.outer_c", {{"id", "integer"}, {"in", "public.inner"}});
  EXPECT_NE(CompositeDifference(source, "public.outer_c", target, "public.outer_c")
                .find("composite type public.inner has attributes (\"x\" integer, \"y\" "
                      "character varying(5)) on the source but (\"x\" integer)"),
            std::string::npos);
}

}  // namespace
}  // namespace freshet
