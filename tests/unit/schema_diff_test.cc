// Diff (apply/schema_diff.h) on hand-built schema models: one kind of change
// per test, plus ordering, labels and rendering.
#include "apply/schema_diff.h"

#include <gtest/gtest.h>

namespace freshet {
namespace {

// A small schema like the reference workload's: two tables, an enum, a
// function with a trigger, an index, constraints and a policy.
SchemaModel BaseModel(std::string label) {
  SchemaModel model;
  model.label = std::move(label);
  model.schemas = {"public"};
  model.extensions = {{"pgcrypto", "public"}, {"plpgsql", "pg_catalog"}};
  model.enums["public.deal_stage"] = {"lead", "won", "lost"};

  TableModel contacts;
  contacts.columns["id"] = {"bigint", true, std::nullopt, std::nullopt, "by default", ""};
  contacts.columns["email"] = {"text", false, std::nullopt, std::nullopt, "", ""};
  contacts.columns["plan"] = {"text", true, "'free'::text", std::nullopt, "", ""};
  contacts.constraints["contacts_pkey"] = "PRIMARY KEY (id)";
  contacts.indexes["contacts_email_idx"] =
      "CREATE INDEX contacts_email_idx ON public.contacts USING btree (email)";
  model.tables["public.contacts"] = contacts;

  TableModel deals;
  deals.row_security = true;
  deals.columns["id"] = {"bigint", true, std::nullopt, std::nullopt, "by default", ""};
  deals.columns["contact_id"] = {"bigint", false, std::nullopt, std::nullopt, "", ""};
  deals.columns["stage"] = {"public.deal_stage", true, "'lead'::public.deal_stage",
                            std::nullopt,        "",   ""};
  deals.constraints["deals_pkey"] = "PRIMARY KEY (id)";
  deals.constraints["deals_contact_id_fkey"] =
      "FOREIGN KEY (contact_id) REFERENCES public.contacts(id)";
  PolicyModel owner;
  owner.command = "SELECT";
  owner.roles = "authenticated";
  owner.using_expr = "(contact_id > 0)";
  deals.policies["deals_owner"] = owner;
  deals.triggers["deals_touch"] = {
      "CREATE TRIGGER deals_touch BEFORE UPDATE ON public.deals FOR EACH ROW EXECUTE FUNCTION "
      "public.touch()",
      "O"};
  model.tables["public.deals"] = deals;

  model.functions["public.touch()"] = {
      "function", "trigger",
      "CREATE OR REPLACE FUNCTION public.touch()\n RETURNS trigger\n LANGUAGE plpgsql\nAS "
      "$function$\nBEGIN NEW.updated_at := now(); RETURN NEW; END $function$\n"};
  return model;
}

class SchemaDiffTest : public ::testing::Test {
 protected:
  std::vector<DriftItem> Run() { return Diff(shadow_, actual_); }

  SchemaModel shadow_ = BaseModel("shadow");
  SchemaModel actual_ = BaseModel("app");
};

TEST_F(SchemaDiffTest, IdenticalModelsHaveNoDrift) {
  EXPECT_TRUE(Run().empty());
  EXPECT_EQ(DriftText({}), "no schema drift\n");
  EXPECT_EQ(DriftJson({}).dump(), "[]");
}

TEST_F(SchemaDiffTest, ColumnAddedByHand) {
  actual_.tables["public.contacts"].columns["hand_added"] = {"text",       false, std::nullopt,
                                                             std::nullopt, "",    ""};
  std::vector<DriftItem> expected = {
      {"column", "public.contacts.hand_added", "only in app", "text"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, ColumnOnlyInShadow) {
  shadow_.tables["public.contacts"].columns["linkedin_url"] = {"text",       true, "''::text",
                                                               std::nullopt, "",   ""};
  std::vector<DriftItem> expected = {{"column", "public.contacts.linkedin_url", "only in shadow",
                                      "text NOT NULL DEFAULT ''::text"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, TypeChanged) {
  actual_.tables["public.contacts"].columns["email"].type = "character varying(20)";
  std::vector<DriftItem> expected = {
      {"column", "public.contacts.email", "differs", "type text vs character varying(20)"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, NullabilityChanged) {
  actual_.tables["public.contacts"].columns["email"].not_null = true;
  std::vector<DriftItem> expected = {
      {"column", "public.contacts.email", "differs", "nullable vs NOT NULL"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, DefaultChangedAndDropped) {
  actual_.tables["public.contacts"].columns["plan"].default_expr = "'pro'::text";
  actual_.tables["public.deals"].columns["stage"].default_expr.reset();
  std::vector<DriftItem> expected = {
      {"column", "public.contacts.plan", "differs", "default 'free'::text vs 'pro'::text"},
      {"column", "public.deals.stage", "differs", "default 'lead'::public.deal_stage vs none"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, SeveralColumnAspectsInOneItem) {
  ColumnModel& email = actual_.tables["public.contacts"].columns["email"];
  email.type = "character varying(20)";
  email.not_null = true;
  std::vector<DriftItem> drift = Run();
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].detail, "type text vs character varying(20); nullable vs NOT NULL");
}

TEST_F(SchemaDiffTest, IndexOnlyOnOneSide) {
  actual_.tables["public.contacts"].indexes.erase("contacts_email_idx");
  shadow_.tables["public.deals"].indexes["deals_stage_idx"] =
      "CREATE INDEX deals_stage_idx ON public.deals USING btree (stage)";
  actual_.tables["public.deals"].indexes["deals_by_hand"] =
      "CREATE UNIQUE INDEX deals_by_hand ON public.deals USING btree (contact_id)";
  std::vector<DriftItem> expected = {
      {"index", "public.contacts.contacts_email_idx", "only in shadow",
       "CREATE INDEX contacts_email_idx ON public.contacts USING btree (email)"},
      {"index", "public.deals.deals_by_hand", "only in app",
       "CREATE UNIQUE INDEX deals_by_hand ON public.deals USING btree (contact_id)"},
      {"index", "public.deals.deals_stage_idx", "only in shadow",
       "CREATE INDEX deals_stage_idx ON public.deals USING btree (stage)"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, RenamedIndexIsOneItem) {
  auto& indexes = actual_.tables["public.contacts"].indexes;
  indexes.erase("contacts_email_idx");
  indexes["email_lookup"] = "CREATE INDEX email_lookup ON public.contacts USING btree (email)";
  std::vector<DriftItem> expected = {
      {"index", "public.contacts.contacts_email_idx", "differs",
       "named contacts_email_idx vs email_lookup (CREATE INDEX ON public.contacts USING btree "
       "(email))"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, SameIndexNameWithOtherDefinition) {
  actual_.tables["public.contacts"].indexes["contacts_email_idx"] =
      "CREATE INDEX contacts_email_idx ON public.contacts USING btree (lower(email))";
  std::vector<DriftItem> drift = Run();
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].kind, "index");
  EXPECT_EQ(drift[0].change, "differs");
  EXPECT_NE(drift[0].detail.find("(email) vs CREATE INDEX"), std::string::npos) << drift[0].detail;
}

TEST_F(SchemaDiffTest, ConstraintDefinitionDiffers) {
  actual_.tables["public.deals"].constraints["deals_contact_id_fkey"] =
      "FOREIGN KEY (contact_id) REFERENCES public.contacts(id) ON DELETE CASCADE";
  std::vector<DriftItem> expected = {
      {"constraint", "public.deals.deals_contact_id_fkey", "differs",
       "FOREIGN KEY (contact_id) REFERENCES public.contacts(id) vs FOREIGN KEY (contact_id) "
       "REFERENCES public.contacts(id) ON DELETE CASCADE"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, PolicyDiffers) {
  PolicyModel& policy = actual_.tables["public.deals"].policies["deals_owner"];
  policy.roles = "public";
  policy.using_expr = "true";
  std::vector<DriftItem> expected = {{"policy", "public.deals.deals_owner", "differs",
                                      "roles authenticated vs public; using (contact_id > 0) vs "
                                      "true"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, RowSecurityDisabledByHand) {
  actual_.tables["public.deals"].row_security = false;
  std::vector<DriftItem> expected = {{"rls", "public.deals", "differs", "enabled vs disabled"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, EnumValueAdded) {
  actual_.enums["public.deal_stage"] = {"lead", "won", "lost", "archived"};
  std::vector<DriftItem> expected = {
      {"enum", "public.deal_stage", "differs", "value 'archived' only in app"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, EnumOrderDiffers) {
  actual_.enums["public.deal_stage"] = {"lead", "lost", "won"};
  std::vector<DriftItem> expected = {
      {"enum", "public.deal_stage", "differs", "order lead, won, lost vs lead, lost, won"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, FunctionBodyDiffers) {
  actual_.functions["public.touch()"].definition =
      "CREATE OR REPLACE FUNCTION public.touch()\n RETURNS trigger\n LANGUAGE plpgsql\nAS "
      "$function$\nBEGIN RETURN NEW; END $function$\n";
  std::vector<DriftItem> expected = {
      {"function", "public.touch()", "differs",
       "definition differs at line 5: `BEGIN NEW.updated_at := now(); RETURN NEW; END "
       "$function$` vs `BEGIN RETURN NEW; END $function$`"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, TriggerDisabled) {
  actual_.tables["public.deals"].triggers["deals_touch"].enabled = "D";
  std::vector<DriftItem> expected = {
      {"trigger", "public.deals.deals_touch", "differs", "enabled vs disabled"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, MissingTableIsOneItemNotOnePerChild) {
  actual_.tables.erase("public.deals");
  std::vector<DriftItem> expected = {{"table", "public.deals", "only in shadow", "table"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(SchemaDiffTest, OrderedByKindThenObject) {
  actual_.functions["public.by_hand()"] = {"function", "integer", "..."};
  actual_.tables["public.deals"].columns["zz"] = {"text",       false, std::nullopt,
                                                  std::nullopt, "",    ""};
  actual_.tables["public.contacts"].columns["aa"] = {"text",       false, std::nullopt,
                                                     std::nullopt, "",    ""};
  actual_.schemas.insert("private");
  actual_.tables["public.audit"] = TableModel{};
  std::vector<std::string> order;
  for (const auto& item : Run()) order.push_back(item.kind + " " + item.object);
  std::vector<std::string> expected = {"schema private", "table public.audit",
                                       "column public.contacts.aa", "column public.deals.zz",
                                       "function public.by_hand()"};
  EXPECT_EQ(order, expected);
}

TEST_F(SchemaDiffTest, DefaultLabels) {
  shadow_.label.clear();
  actual_.label.clear();
  shadow_.schemas.insert("a");
  actual_.schemas.insert("b");
  std::vector<DriftItem> drift = Run();
  ASSERT_EQ(drift.size(), 2u);
  EXPECT_EQ(drift[0].change, "only in shadow");
  EXPECT_EQ(drift[1].change, "only in compared database");
}

TEST_F(SchemaDiffTest, RendersTextAndJson) {
  std::vector<DriftItem> drift = {{"column", "public.contacts.x", "only in app", "text"},
                                  {"rls", "public.deals", "differs", "enabled vs disabled"}};
  EXPECT_EQ(DriftText(drift),
            "schema drift: 2 differences\n"
            "  column public.contacts.x: only in app (text)\n"
            "  rls public.deals: differs (enabled vs disabled)\n");
  nlohmann::json json = DriftJson(drift);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["kind"], "column");
  EXPECT_EQ(json[0]["object"], "public.contacts.x");
  EXPECT_EQ(json[0]["change"], "only in app");
  EXPECT_EQ(json[1]["detail"], "enabled vs disabled");
}

TEST(IndexDefinitionWithoutNameTest, StripsPlainAndQuotedNames) {
  EXPECT_EQ(IndexDefinitionWithoutName("CREATE INDEX a_idx ON public.a USING btree (x)"),
            "CREATE INDEX ON public.a USING btree (x)");
  EXPECT_EQ(IndexDefinitionWithoutName(
                "CREATE UNIQUE INDEX \"Odd \"\" ON name\" ON ONLY public.a USING btree (x)"),
            "CREATE UNIQUE INDEX ON ONLY public.a USING btree (x)");
  EXPECT_EQ(IndexDefinitionWithoutName("not an index"), "not an index");
}

}  // namespace
}  // namespace freshet
