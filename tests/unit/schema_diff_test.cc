// Diff (apply/schema_diff.h) on hand-built schema models: one kind of change
// per test, plus ordering, labels and rendering.
#include "apply/schema_diff.h"

#include <gtest/gtest.h>

#include "apply/grant_diff.h"

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

// Grants as a Supabase project has them: the API roles on the schema and
// the tables, a sequence, EXECUTE on the trigger function for PUBLIC, one
// column grant, and default privileges in public.
void AddGrants(SchemaModel& model) {
  model.schema_grants["public"] = {{"PUBLIC", {{"USAGE", false}}},
                                   {"anon", {{"USAGE", false}}},
                                   {"authenticated", {{"USAGE", false}}}};
  model.relation_grants["public.contacts"] = {
      {"authenticated", {{"SELECT", false}, {"INSERT", false}, {"UPDATE", false}}},
      {"service_role", {{"ALL", false}}}};
  model.relation_grants["public.deals"] = {{"authenticated", {{"SELECT", false}}}};
  model.sequences["public.invoice_number"] = SequenceModel{};
  model.relation_grants["public.invoice_number"] = {{"authenticated", {{"USAGE", false}}}};
  model.column_grants["public.contacts"]["email"] = {{"anon", {{"SELECT", false}}}};
  model.function_grants["public.touch()"] = {{"PUBLIC", {{"EXECUTE", false}}}};
  model.default_privileges[{"", "public", "tables"}] = {{"authenticated", {{"SELECT", false}}}};
}

class GrantDiffTest : public SchemaDiffTest {
 protected:
  void SetUp() override {
    AddGrants(shadow_);
    AddGrants(actual_);
  }
};

TEST_F(GrantDiffTest, SameGrantsHaveNoDrift) { EXPECT_TRUE(Run().empty()); }

TEST_F(GrantDiffTest, SameGrantsGivenInAnotherOrderHaveNoDrift) {
  Grants& contacts = actual_.relation_grants["public.contacts"];
  contacts.clear();
  contacts["service_role"]["ALL"] = false;
  contacts["authenticated"]["UPDATE"] = false;
  contacts["authenticated"]["SELECT"] = false;
  contacts["authenticated"]["INSERT"] = false;
  EXPECT_TRUE(Run().empty());
}

TEST_F(GrantDiffTest, RevokedPrivilegeNamesGranteeAndBothSetsInPostgresOrder) {
  actual_.relation_grants["public.contacts"]["authenticated"].erase("SELECT");
  std::vector<DriftItem> expected = {{"grant", "public.contacts", "differs",
                                      "authenticated: INSERT, SELECT, UPDATE vs INSERT, UPDATE"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, GranteeOnOneSideOnlyIsNone) {
  actual_.relation_grants["public.deals"]["anon"] = {{"SELECT", false}, {"DELETE", false}};
  shadow_.relation_grants.erase("public.contacts");
  std::vector<DriftItem> expected = {
      {"grant", "public.contacts", "differs",
       "authenticated: none vs INSERT, SELECT, UPDATE; service_role: none vs ALL"},
      {"grant", "public.deals", "differs", "anon: none vs SELECT, DELETE"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, GrantOptionDiffers) {
  actual_.relation_grants["public.contacts"]["service_role"]["ALL"] = true;
  actual_.relation_grants["public.deals"]["authenticated"]["UPDATE"] = true;
  std::vector<DriftItem> expected = {
      {"grant", "public.contacts", "differs", "service_role: ALL vs ALL WITH GRANT OPTION"},
      {"grant", "public.deals", "differs",
       "authenticated: SELECT vs SELECT + UPDATE WITH GRANT OPTION"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, ColumnGrantIsItsOwnItem) {
  actual_.column_grants["public.contacts"]["plan"] = {{"authenticated", {{"UPDATE", false}}}};
  actual_.column_grants["public.contacts"].erase("email");
  std::vector<DriftItem> expected = {
      {"grant", "public.contacts.email", "differs", "anon: SELECT vs none"},
      {"grant", "public.contacts.plan", "differs", "authenticated: none vs UPDATE"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, SequenceSchemaAndFunctionGrants) {
  actual_.relation_grants["public.invoice_number"]["authenticated"] = {
      {"UPDATE", false}, {"SELECT", false}, {"USAGE", false}};
  actual_.schema_grants["public"]["anon"]["CREATE"] = false;
  actual_.function_grants.erase("public.touch()");
  std::vector<DriftItem> expected = {
      {"grant", "public", "differs", "anon: USAGE vs USAGE, CREATE"},
      {"grant", "public.invoice_number", "differs",
       "authenticated: USAGE vs USAGE, SELECT, UPDATE"},
      {"grant", "public.touch()", "differs", "PUBLIC: EXECUTE vs none"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, GrantsOfAnObjectOnOneSideAreCoveredByItsItem) {
  actual_.tables.erase("public.contacts");
  actual_.relation_grants.erase("public.contacts");
  actual_.column_grants.erase("public.contacts");
  actual_.functions.erase("public.touch()");
  actual_.sequences.erase("public.invoice_number");
  shadow_.schemas.insert("private");
  shadow_.schema_grants["private"] = {{"service_role", {{"USAGE", false}}}};
  shadow_.default_privileges[{"", "private", "tables"}] = {{"service_role", {{"ALL", false}}}};
  std::vector<std::string> found;
  for (const auto& item : Run()) found.push_back(item.kind + " " + item.object);
  std::vector<std::string> expected = {"schema private", "sequence public.invoice_number",
                                       "table public.contacts", "function public.touch()"};
  EXPECT_EQ(found, expected);
}

TEST_F(GrantDiffTest, ColumnGrantOnAColumnOnOneSideIsCoveredByTheColumn) {
  actual_.tables["public.contacts"].columns.erase("email");
  std::vector<DriftItem> expected = {{"column", "public.contacts.email", "only in shadow", "text"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, ColumnGrantOnAViewIsCompared) {
  for (SchemaModel* model : {&shadow_, &actual_}) {
    model->tables["public.contact_names"].kind = "view";
    model->column_grants["public.contact_names"]["name"] = {{"anon", {{"SELECT", false}}}};
  }
  actual_.column_grants["public.contact_names"]["name"]["anon"]["SELECT"] = true;
  std::vector<DriftItem> expected = {{"grant", "public.contact_names.name", "differs",
                                      "anon: SELECT vs SELECT WITH GRANT OPTION"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, DefaultPrivilegesInASchema) {
  actual_.default_privileges[{"", "public", "tables"}]["anon"]["SELECT"] = false;
  actual_.default_privileges[{"", "public", "sequences"}] = {{"authenticated", {{"USAGE", false}}}};
  std::vector<DriftItem> expected = {
      {"default-privilege", "sequences in schema public", "differs",
       "authenticated: none vs USAGE"},
      {"default-privilege", "tables in schema public", "differs", "anon: none vs SELECT"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, DefaultPrivilegesForAnotherRoleNameIt) {
  actual_.default_privileges[{"supabase_admin", "public", "tables"}] = {{"anon", {{"ALL", false}}}};
  std::vector<DriftItem> expected = {{"default-privilege",
                                      "tables in schema public for role supabase_admin", "differs",
                                      "anon: none vs ALL"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, DefaultsForAllSchemasCompareWithTheBuiltInOnes) {
  // REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC leaves an entry granting nothing;
  // without an entry, PUBLIC may execute new functions.
  actual_.default_privileges[{"", "", "functions"}] = {};
  // An entry equal to the built-in defaults is no drift.
  shadow_.default_privileges[{"", "", "types"}] = {{"PUBLIC", {{"USAGE", false}}}};
  std::vector<DriftItem> expected = {
      {"default-privilege", "functions in all schemas", "differs", "PUBLIC: EXECUTE vs none"}};
  EXPECT_EQ(Run(), expected);
}

TEST_F(GrantDiffTest, GrantItemsComeAfterEveryOtherKind) {
  actual_.default_privileges[{"", "public", "tables"}].clear();
  actual_.relation_grants["public.deals"].clear();
  actual_.functions["public.by_hand()"] = {"function", "integer", "..."};
  std::vector<std::string> order;
  for (const auto& item : Run()) order.push_back(item.kind + " " + item.object);
  std::vector<std::string> expected = {"function public.by_hand()", "grant public.deals",
                                       "default-privilege tables in schema public"};
  EXPECT_EQ(order, expected);
}

TEST(DescribePrivilegesTest, PostgresOrderAndGrantOptionLast) {
  EXPECT_EQ(DescribePrivileges({}), "none");
  EXPECT_EQ(DescribePrivileges({{"TRIGGER", false},
                                {"TRUNCATE", false},
                                {"REFERENCES", false},
                                {"DELETE", false},
                                {"UPDATE", false},
                                {"SELECT", false},
                                {"INSERT", false}}),
            "INSERT, SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER");
  EXPECT_EQ(DescribePrivileges({{"CREATE", true}, {"USAGE", true}}),
            "USAGE, CREATE WITH GRANT OPTION");
  EXPECT_EQ(DescribePrivileges({{"UPDATE", true}, {"SELECT", false}, {"INSERT", true}}),
            "SELECT + INSERT, UPDATE WITH GRANT OPTION");
}

// What the model reader does to a table's grants, so that a PostgreSQL 15
// shadow and a 17 database (GRANT ALL including MAINTAIN, or a table from
// before an upgrade without it) compare.
TEST(FoldAllTablePrivilegesTest, AllWithOrWithoutMaintainButNotFewer) {
  Privileges classic = {{"INSERT", false}, {"SELECT", false},   {"UPDATE", false},
                        {"DELETE", false}, {"TRUNCATE", false}, {"REFERENCES", false},
                        {"TRIGGER", false}};
  Privileges with_maintain = classic;
  with_maintain["MAINTAIN"] = false;
  Privileges grantable = classic;
  for (auto& [privilege, option] : grantable) option = true;
  Privileges mixed = classic;
  mixed["SELECT"] = true;
  Privileges fewer = classic;
  fewer.erase("TRUNCATE");
  Grants grants = {{"pg15", classic},
                   {"pg17", with_maintain},
                   {"grantable", grantable},
                   {"mixed", mixed},
                   {"fewer", fewer}};
  FoldAllTablePrivileges(grants);
  Grants expected = {{"pg15", {{"ALL", false}}},
                     {"pg17", {{"ALL", false}}},
                     {"grantable", {{"ALL", true}}},
                     {"mixed", mixed},
                     {"fewer", fewer}};
  EXPECT_EQ(grants, expected);
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
