// The planner's decisions from two catalogs, without servers: strategy, which
// foreign keys are set aside and why, the plan errors with their ways out,
// row-level security, self-references across parallel streams, composite
// types, and relations that are not tables.
#include "sync/engine/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sync/engine/loader.h"

namespace freshet {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

Column Col(const std::string& name, const std::string& type = "integer") {
  Column column;
  column.name = name;
  column.type = type;
  column.type_id = type;
  column.binary_portable = true;
  return column;
}

Table MakeTable(const std::string& name, bool owned = true) {
  Table table;
  table.name = {"public", name};
  table.columns = {Col("id"), Col("parent_id")};
  table.owned_by_current_user = owned;
  table.bytes = 1 << 20;
  table.heap_bytes = 1 << 20;
  return table;
}

ForeignKey Fk(const std::string& name, const std::string& from, const std::string& to,
              bool deferrable = false) {
  ForeignKey fk;
  fk.name = name;
  fk.table = {"public", from};
  fk.referenced = {"public", to};
  fk.columns = {"parent_id"};
  fk.referenced_columns = {"id"};
  fk.columns_nullable = true;
  fk.deferrable = deferrable;
  fk.definition = "FOREIGN KEY (parent_id) REFERENCES public." + to + "(id)";
  return fk;
}

TypeInfo BuiltIn(const std::string& name) {
  TypeInfo type;
  type.name = name;
  return type;
}

Catalog With(std::vector<Table> tables, std::vector<ForeignKey> fks = {}) {
  Catalog catalog;
  catalog.tables = std::move(tables);
  catalog.foreign_keys = std::move(fks);
  catalog.server_version = 150000;
  return catalog;
}

std::vector<std::string> DeferredNames(const Plan& plan) {
  std::vector<std::string> names;
  for (const auto& deferred : plan.deferred) names.push_back(deferred.name);
  return names;
}

TEST(PlanTest, OwningEveryTableChoosesBulkAndSetsEveryForeignKeyAside) {
  Catalog catalog = With({MakeTable("a"), MakeTable("b")}, {Fk("b_a", "b", "a")});
  Plan plan = BuildPlan(catalog, catalog, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.strategy, LoadStrategy::kBulk);
  ASSERT_THAT(plan.deferred, SizeIs(1));
  EXPECT_EQ(plan.deferred[0].reason, DeferReason::kBulkLoad);
  for (const auto& table : plan.tables) EXPECT_THAT(table.prerequisites, IsEmpty());
}

TEST(PlanTest, ATableNotOwnedChoosesOrderedParentsFirst) {
  Catalog catalog = With({MakeTable("a"), MakeTable("b", false)}, {Fk("b_a", "b", "a")});
  Plan plan = BuildPlan(catalog, catalog, {});
  ASSERT_TRUE(plan.ok()) << plan.errors.front();
  EXPECT_EQ(plan.strategy, LoadStrategy::kOrdered);
  EXPECT_THAT(plan.strategy_reason, HasSubstr("public.b"));
  EXPECT_THAT(plan.deferred, IsEmpty());
  ASSERT_EQ(plan.tables[0].name.name, "a");
  EXPECT_EQ(plan.tables[1].prerequisites, std::vector<int>{0});
  PlanOptions bulk;
  bulk.strategy = StrategyChoice::kBulk;
  EXPECT_THAT(BuildPlan(catalog, catalog, bulk).errors,
              Contains(HasSubstr("--strategy bulk: the role does not own public.b")));
}

TEST(PlanTest, OrderedCyclesSetAsideTheDeferrableKey) {
  Catalog catalog =
      With({MakeTable("a"), MakeTable("b")}, {Fk("a_b", "a", "b"), Fk("b_a", "b", "a", true)});
  PlanOptions ordered;
  ordered.strategy = StrategyChoice::kOrdered;
  Plan plan = BuildPlan(catalog, catalog, ordered);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(DeferredNames(plan), std::vector<std::string>{"b_a"});
  EXPECT_EQ(plan.deferred[0].reason, DeferReason::kCycle);
}

TEST(PlanTest, KeysCrossingTheSyncBoundaryAreErrorsWithBothWaysOut) {
  Catalog catalog = With({MakeTable("a"), MakeTable("b"), MakeTable("c")},
                         {Fk("b_c", "b", "c"), Fk("c_a", "c", "a")});
  PlanOptions options;
  options.excludes = {"public.c"};
  Plan plan = BuildPlan(catalog, catalog, options);
  EXPECT_THAT(plan.errors, Contains(HasSubstr("--fk-outside=not-valid")));
  EXPECT_THAT(plan.errors, Contains(HasSubstr("freshet never truncates tables it was not asked")));
  options.fk_outside = FkOutsidePolicy::kNotValid;
  plan = BuildPlan(catalog, catalog, options);
  EXPECT_THAT(plan.errors, SizeIs(1));  // the key into a, which the sync truncates, remains
  EXPECT_THAT(DeferredNames(plan), Contains("b_c"));
}

TEST(PlanTest, ForcedRowSecurityIsLiftedOnOwnedTablesAndRefusedOnOthers) {
  Table forced = MakeTable("forced");
  forced.row_security = forced.force_row_security = true;
  Table enabled_owned = MakeTable("enabled");
  enabled_owned.row_security = true;  // the owner bypasses it unless forced
  Table foreign = MakeTable("foreign", false);
  foreign.row_security = true;
  Catalog catalog = With({forced, enabled_owned, foreign});
  Plan plan = BuildPlan(catalog, catalog, {});
  const std::vector<QualifiedName> lifted = {{"public", "forced"}};
  EXPECT_EQ(plan.Find({"public", "forced"})->force_row_security, lifted);
  EXPECT_THAT(plan.Find({"public", "enabled"})->force_row_security, IsEmpty());
  EXPECT_THAT(plan.errors, Contains(HasSubstr("target table public.foreign has row-level "
                                              "security enabled")));
  catalog.bypasses_row_security = true;  // superuser or BYPASSRLS: nothing to do
  Plan bypassing = BuildPlan(catalog, catalog, {});
  EXPECT_TRUE(bypassing.ok());
  EXPECT_THAT(bypassing.Find({"public", "forced"})->force_row_security, IsEmpty());
}

TEST(PlanTest, SelfReferencesAcrossParallelStreamsAreSetAsideOrLoadedAsOneStream) {
  Table tree = MakeTable("tree");
  tree.bytes = tree.heap_bytes = 100 << 20;
  Catalog catalog = With({tree}, {Fk("tree_parent", "tree", "tree")});
  PlanOptions options;
  options.strategy = StrategyChoice::kOrdered;
  options.chunk_bytes = 10 << 20;
  Plan plan = BuildPlan(catalog, catalog, options);
  EXPECT_GT(plan.tables[0].units.size(), 1u);
  EXPECT_EQ(DeferredNames(plan), std::vector<std::string>{"tree_parent"});
  EXPECT_EQ(plan.deferred[0].reason, DeferReason::kSelfReference);
  // Not owned: no DDL allowed, so one stream instead.
  catalog.tables[0].owned_by_current_user = false;
  plan = BuildPlan(catalog, catalog, options);
  ASSERT_TRUE(plan.ok());
  EXPECT_THAT(plan.deferred, IsEmpty());
  ASSERT_THAT(plan.tables[0].units, SizeIs(1));
  EXPECT_FALSE(plan.tables[0].units[0].blocks.has_value());
  EXPECT_THAT(plan.tables[0].route, HasSubstr("one stream"));
}

TEST(PlanTest, ColumnsGeneratedOnTheSourceAreReadWithASelect) {
  Catalog source = With({MakeTable("g")});
  source.tables[0].columns[1].generated = true;
  Catalog target = With({MakeTable("g")});
  Plan plan = BuildPlan(source, target, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan.tables[0].mapping.read_with_select);
  EXPECT_EQ(CopyOutSql(plan.tables[0], plan.tables[0].units[0]),
            "COPY (SELECT \"id\", \"parent_id\" FROM ONLY \"public\".\"g\") TO STDOUT (FORMAT "
            "binary)");
}

TEST(PlanTest, ACompositeWithAttributesInAnotherOrderIsAPlanError) {
  auto catalog_with = [](std::vector<std::pair<std::string, std::string>> attributes) {
    Table table = MakeTable("t");
    table.columns.push_back(Col("p", "public.pair"));
    Catalog catalog = With({table});
    TypeInfo pair;
    pair.name = "public.pair";
    pair.kind = 'c';
    pair.built_in = false;
    pair.attributes = std::move(attributes);
    catalog.types[pair.name] = pair;
    catalog.types["integer"] = BuiltIn("integer");
    return catalog;
  };
  Catalog source = catalog_with({{"a", "integer"}, {"b", "integer"}});
  Catalog target = catalog_with({{"b", "integer"}, {"a", "integer"}});
  Plan plan = BuildPlan(source, target, {});
  EXPECT_THAT(plan.errors, Contains(HasSubstr("composite type public.pair has attributes")));
  // Verification compares it by name either way.
  EXPECT_EQ(plan.tables[0].verify_target.back(), "ROW((\"p\").\"b\", (\"p\").\"a\")");
  EXPECT_EQ(plan.tables[0].verify_source.back(), "ROW((\"p\").\"b\", (\"p\").\"a\")");
  EXPECT_TRUE(BuildPlan(source, source, {}).ok());
}

TEST(PlanTest, AViewOrForeignTableOfATablesNameIsNamedAsSuch) {
  Catalog source = With({MakeTable("report"), MakeTable("keep")});
  Catalog target = With({MakeTable("keep")});
  target.other_relations = {{{"public", "report"}, 'f'}};
  Plan plan = BuildPlan(source, target, {});
  EXPECT_THAT(plan.source_only_tables, IsEmpty());
  EXPECT_THAT(plan.warnings, Contains(HasSubstr("public.report is a table on the source but a "
                                                "foreign table on the target")));
}

TEST(PlanTest, VerificationReadsWidenedColumnsAsTheTargetsType) {
  Catalog source = With({MakeTable("w")});
  source.tables[0].columns.push_back(Col("at", "timestamp without time zone"));
  Catalog target = With({MakeTable("w")});
  target.tables[0].columns.push_back(Col("at", "timestamp with time zone"));
  target.types["timestamp with time zone"] = BuiltIn("timestamp with time zone");
  Plan plan = BuildPlan(source, target, {});
  EXPECT_EQ(plan.tables[0].verify_source.back(),
            "(\"at\")::pg_catalog.text::timestamp with time zone");
  EXPECT_EQ(plan.tables[0].verify_target.back(), "\"at\"");
}

}  // namespace
}  // namespace freshet
