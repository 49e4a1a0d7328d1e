// Which rules of the target freshet checks on the source before a load:
// only those the source does not promise, each with a query over the
// source's rows. The queries themselves run against real servers in
// tests/integration/engine_fidelity_test.cc.
#include "sync/engine/target_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace freshet {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

Column Col(const std::string& name, const std::string& type) {
  Column column;
  column.name = name;
  column.type = type;
  column.type_id = type.substr(0, type.find('('));  // format_type(oid, NULL): no modifiers
  column.binary_portable = true;
  return column;
}

TypeInfo Type(const std::string& name, char kind = 'b', bool built_in = true) {
  TypeInfo type;
  type.name = name;
  type.kind = kind;
  type.built_in = built_in;
  return type;
}

Catalog OneTable(std::vector<Column> columns) {
  Catalog catalog;
  Table table;
  table.name = {"public", "t"};
  table.columns = std::move(columns);
  table.owned_by_current_user = true;
  catalog.tables.push_back(table);
  for (const char* name : {"integer", "bigint", "text", "numeric"})
    catalog.types[name] = Type(name);
  return catalog;
}

std::vector<TargetRule> Rules(const Catalog& source, const Catalog& target) {
  Plan plan = BuildPlan(source, target, PlanOptions{});
  return TargetRulesToCheck(source, target, plan);
}

TEST(TargetRulesTest, IdenticalCatalogsNeedNoCheck) {
  Catalog catalog = OneTable({Col("id", "integer"), Col("v", "text")});
  catalog.tables[0].checks = {{"positive", "(id > 0)", true}};
  EXPECT_THAT(Rules(catalog, catalog), IsEmpty());
}

TEST(TargetRulesTest, ACheckOnlyTheTargetHasIsCountedOnTheSource) {
  Catalog source = OneTable({Col("id", "integer")});
  Catalog target = source;
  target.tables[0].checks = {{"positive", "(id > 0)", true}};
  auto rules = Rules(source, target);
  ASSERT_THAT(rules, SizeIs(1));
  EXPECT_EQ(rules[0].count_sql,
            "SELECT count(*) FROM ONLY \"public\".\"t\" AS t WHERE NOT ((id > 0))");
  EXPECT_THAT(rules[0].rule, HasSubstr("CHECK constraint positive"));
  // The same check NOT VALID on the source does not promise it.
  source.tables[0].checks = {{"positive", "(id > 0)", false}};
  EXPECT_THAT(Rules(source, target), SizeIs(1));
  source.tables[0].checks[0].validated = true;
  EXPECT_THAT(Rules(source, target), IsEmpty());
}

TEST(TargetRulesTest, EnumLabelsMissingOnTheTargetAreNamed) {
  Catalog source = OneTable({Col("m", "public.mood")});
  Catalog target = source;
  TypeInfo mood = Type("public.mood", 'e', false);
  mood.enum_labels = {"sad", "ok", "it's"};
  source.types["public.mood"] = mood;
  mood.enum_labels = {"sad", "ok"};
  target.types["public.mood"] = mood;
  auto rules = Rules(source, target);
  ASSERT_THAT(rules, SizeIs(1));
  EXPECT_THAT(rules[0].rule, HasSubstr("lacks the label(s) 'it''s'"));
  EXPECT_THAT(rules[0].count_sql, HasSubstr("<> ALL (ARRAY['sad', 'ok']::pg_catalog.text[])"));
  target.types["public.mood"].enum_labels = {"sad", "ok", "it's", "new"};  // a superset is fine
  EXPECT_THAT(Rules(source, target), IsEmpty());
}

TEST(TargetRulesTest, IntegerNarrowingCountsRowsOutOfRange) {
  auto rules = Rules(OneTable({Col("n", "bigint")}), OneTable({Col("n", "integer")}));
  ASSERT_THAT(rules, SizeIs(1));
  EXPECT_THAT(rules[0].count_sql, HasSubstr("NOT BETWEEN -2147483648 AND 2147483647"));
  EXPECT_FALSE(rules[0].fails_when_broken);
  // Widenings every value survives need no look at the rows.
  EXPECT_THAT(Rules(OneTable({Col("n", "integer")}), OneTable({Col("n", "bigint")})), IsEmpty());
  EXPECT_THAT(Rules(OneTable({Col("n", "integer")}), OneTable({Col("n", "text")})), IsEmpty());
}

TEST(TargetRulesTest, OtherTypeChangesAreProbedByCastingAsTheLoadWould) {
  auto rules = Rules(OneTable({Col("v", "text")}), OneTable({Col("v", "numeric(5,2)")}));
  ASSERT_THAT(rules, SizeIs(1));
  EXPECT_TRUE(rules[0].fails_when_broken);
  EXPECT_THAT(rules[0].count_sql, HasSubstr("(t.\"v\")::pg_catalog.text::numeric(5,2) IS NULL"));
}

TEST(TargetRulesTest, DomainChecksReplaceValueWithTheColumn) {
  Catalog source = OneTable({Col("c", "text")});
  Catalog target = OneTable({Col("c", "public.code")});
  TypeInfo code = Type("public.code", 'd', false);
  code.domain_base = code.domain_base_id = "text";
  code.domain_not_null = true;
  code.domain_checks = {{"code_check", "(length(VALUE) < 3)", true}};
  target.types["public.code"] = code;
  auto rules = Rules(source, target);
  ASSERT_THAT(rules, SizeIs(2));
  EXPECT_THAT(rules[0].count_sql, HasSubstr("t.\"c\" IS NULL"));
  EXPECT_THAT(rules[1].count_sql, HasSubstr("NOT ((length((t.\"c\")) < 3))"));
  source.types["public.code"] = code;  // the same domain on the source promises it
  source.tables[0].columns[0] = Col("c", "public.code");
  EXPECT_THAT(Rules(source, target), IsEmpty());
}

TEST(TargetRulesTest, SubstituteDomainValueLeavesLiteralsAndIdentifiersAlone) {
  EXPECT_EQ(SubstituteDomainValue("((VALUE)::text <> 'VALUE')", "x"), "(((x))::text <> 'VALUE')");
  EXPECT_EQ(SubstituteDomainValue("(\"VALUE\" = VALUE)", "x"), "(\"VALUE\" = (x))");
  EXPECT_EQ(SubstituteDomainValue("(VALUES_X(VALUE) AND a.VALUE)", "x"),
            "(VALUES_X((x)) AND a.VALUE)");
  EXPECT_EQ(SubstituteDomainValue("(E'it\\'s VALUE' = VALUE)", "x"), "(E'it\\'s VALUE' = (x))");
  EXPECT_EQ(SubstituteDomainValue("('a''VALUE' = VALUE)", "x"), "('a''VALUE' = (x))");
}

TEST(TargetRulesTest, ATargetOnlyUniqueIndexCountsDuplicatesUnlessTheSourceImpliesIt) {
  Catalog source = OneTable({Col("id", "integer"), Col("email", "text")});
  Catalog target = source;
  Index unique;
  unique.table = {"public", "t"};
  unique.name = "t_email";
  unique.unique = true;
  unique.keys = {"email", "id"};
  target.indexes = {unique};
  auto rules = Rules(source, target);
  ASSERT_THAT(rules, SizeIs(1));
  EXPECT_THAT(rules[0].count_sql, HasSubstr("GROUP BY email, id HAVING count(*) > 1"));
  EXPECT_THAT(rules[0].count_sql, HasSubstr("(email) IS NOT NULL AND (id) IS NOT NULL"));
  Index primary = unique;
  primary.name = "t_pkey";
  primary.keys = {"id"};
  source.indexes = {primary};  // unique (id) on the source implies unique (email, id)
  EXPECT_THAT(Rules(source, target), IsEmpty());
}

TEST(TargetRulesTest, ATargetOnlyForeignKeyLooksForOrphansOnTheSource) {
  Catalog source = OneTable({Col("id", "integer"), Col("parent_id", "integer")});
  Table parent;
  parent.name = {"public", "p"};
  parent.columns = {Col("id", "integer")};
  parent.owned_by_current_user = true;
  source.tables.push_back(parent);
  Catalog target = source;
  ForeignKey fk;
  fk.name = "t_parent";
  fk.table = {"public", "t"};
  fk.referenced = {"public", "p"};
  fk.columns = {"parent_id"};
  fk.referenced_columns = {"id"};
  fk.definition = "FOREIGN KEY (parent_id) REFERENCES public.p(id)";
  target.foreign_keys = {fk};
  auto rules = Rules(source, target);
  ASSERT_THAT(rules, SizeIs(1));
  EXPECT_THAT(rules[0].count_sql, HasSubstr("NOT EXISTS (SELECT 1 FROM ONLY \"public\".\"p\" AS p "
                                            "WHERE p.\"id\" = t.\"parent_id\")"));
  source.foreign_keys = {fk};
  EXPECT_THAT(Rules(source, target), IsEmpty());
  source.foreign_keys[0].validated = false;  // NOT VALID on the source: orphans may exist
  EXPECT_THAT(Rules(source, target), SizeIs(1));
}

TEST(TargetRulesTest, APartitionedTargetOfAnotherShapeChecksEveryRowHasAPartition) {
  Catalog source = OneTable({Col("id", "integer")});
  Catalog target = source;
  target.tables[0].kind = TableKind::kPartitioned;
  Table low;
  low.name = {"public", "t_low"};
  low.columns = source.tables[0].columns;
  low.partition_root = low.partition_parent = QualifiedName{"public", "t"};
  low.partition_constraint = "((id IS NOT NULL) AND (id < 100))";
  target.tables.push_back(low);
  auto rules = Rules(source, target);
  ASSERT_THAT(rules, SizeIs(1));
  EXPECT_THAT(rules[0].count_sql,
              HasSubstr("NOT (coalesce((((id IS NOT NULL) AND (id < 100))), false))"));
  target.tables[1].partition_constraint = "";  // a lone DEFAULT partition takes every row
  EXPECT_THAT(Rules(source, target), IsEmpty());
}

TEST(TargetRulesTest, ObjectNameColumnsReadDistinctQualifiedNames) {
  Catalog catalog = OneTable({Col("r", "regclass[]")});
  TypeInfo regclass = Type("regclass");
  regclass.names_objects = true;
  catalog.types["regclass"] = regclass;
  TypeInfo array = Type("regclass[]");
  array.element = "regclass";
  catalog.types["regclass[]"] = array;
  Plan plan = BuildPlan(catalog, catalog, PlanOptions{});
  auto columns = ObjectNameColumns(catalog, catalog, plan);
  ASSERT_THAT(columns, SizeIs(1));
  EXPECT_EQ(columns[0].reg_type, "regclass");
  EXPECT_TRUE(columns[0].array);
  EXPECT_THAT(columns[0].source_sql, HasSubstr("pg_catalog.unnest(t.\"r\")"));
}

}  // namespace
}  // namespace freshet
