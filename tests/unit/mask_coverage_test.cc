// Which copied columns look personal by name and type alone (no server):
// the true positives `freshet mask check` must list with a reason and a
// rule to suggest, the look-alikes it must not (flags, timestamps, counters,
// keys, names of things), and the columns already masked or kept.
#include "sync/engine/mask_coverage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "schema/catalog.h"
#include "sync/engine/plan.h"

namespace freshet {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

Column Col(const std::string& name, const std::string& type) {
  Column column;
  column.name = name;
  column.type = type;
  column.type_id = type;
  column.binary_portable = true;
  return column;
}

Table MakeTable(const std::string& name, std::vector<Column> columns) {
  Table table;
  table.name = {"public", name};
  table.columns = {Col("id", "bigint")};
  for (auto& column : columns) table.columns.push_back(std::move(column));
  table.primary_key = {"id"};
  table.owned_by_current_user = true;
  return table;
}

Catalog With(std::vector<Table> tables) {
  Catalog catalog;
  catalog.tables = std::move(tables);
  catalog.server_version = 160000;
  return catalog;
}

// "table.column" -> finding, for the catalog synced onto itself.
std::map<std::string, PersonalColumn> Find(const Catalog& catalog,
                                           const std::vector<std::string>& kept = {},
                                           const Plan* plan = nullptr) {
  Plan own = plan ? Plan{} : BuildPlan(catalog, catalog, {});
  std::map<std::string, PersonalColumn> found;
  for (auto& column : FindPersonalColumns(catalog, plan ? *plan : own, kept, nullptr))
    found[column.table.name + "." + column.column] = column;
  return found;
}

std::vector<std::string> Keys(const std::map<std::string, PersonalColumn>& found) {
  std::vector<std::string> keys;
  for (const auto& [key, column] : found) keys.push_back(key);
  return keys;
}

struct Expected {
  const char* column;
  const char* type;
  const char* suggested;
  const char* why;
};

TEST(MaskCoverageTest, ColumnsNamedLikePersonalDataAreFoundWithAReasonAndARule) {
  const std::vector<Expected> expected = {
      {"email", "text", "email", "named like an email address"},
      {"emailAddress", "character varying", "email", "named like an email address"},
      {"E_Mail", "text", "email", "named like an email address"},
      {"backup_emails", "text", "email", "named like an email address"},
      {"phone", "text", "phone", "named like a phone number"},
      {"mobile_number", "character varying", "phone", "named like a phone number"},
      {"tel", "text", "phone", "named like a phone number"},
      {"fax", "text", "phone", "named like a phone number"},
      {"msisdn", "text", "phone", "named like a phone number"},
      {"first_name", "text", "first_name", "named like a first name"},
      {"givenName", "text", "first_name", "named like a first name"},
      {"forename", "text", "first_name", "named like a first name"},
      {"last_name", "text", "last_name", "named like a last name"},
      {"surname", "text", "last_name", "named like a last name"},
      {"family_name", "text", "last_name", "named like a last name"},
      {"full_name", "text", "full_name", "named like a person's name"},
      {"name", "text", "full_name", "named like a person's name on a table of people"},
      {"display_name", "text", "full_name", "named like a person's name on a table of people"},
      {"address", "text", "street_address", "named like a street address"},
      {"street", "text", "street_address", "named like a street address"},
      {"addr_line1", "text", "street_address", "named like a street address"},
      {"address_line_2", "text", "street_address", "named like a street address"},
      {"city", "text", "city", "named like a city"},
      {"town", "text", "city", "named like a city"},
      {"zip", "text", "redact", "named like a postal code"},
      {"postal_code", "text", "redact", "named like a postal code"},
      {"postcode", "text", "redact", "named like a postal code"},
      {"ssn", "text", "hash", "named like an identity document number"},
      {"social_security_number", "text", "hash", "named like an identity document number"},
      {"national_id", "text", "hash", "named like an identity document number"},
      {"tax_id", "text", "hash", "named like an identity document number"},
      {"passport_no", "text", "hash", "named like an identity document number"},
      {"dob", "date", "date_shift", "named like a date of birth"},
      {"date_of_birth", "date", "date_shift", "named like a date of birth"},
      {"birthday", "timestamp with time zone", "date_shift", "named like a date of birth"},
      {"ip", "text", "ip", "named like an IP address"},
      {"IPAddress", "text", "ip", "named like an IP address"},
      {"last_ip", "text", "ip", "named like an IP address"},
      {"remote_addr", "text", "ip", "named like an IP address"},
      {"iban", "text", "redact", "named like a bank account or card number"},
      {"card_number", "text", "redact", "named like a bank account or card number"},
      {"credit_card", "text", "redact", "named like a bank account or card number"},
  };
  std::vector<Column> columns;
  for (const auto& e : expected) columns.push_back(Col(e.column, e.type));
  auto found = Find(With({MakeTable("users", columns)}));
  for (const auto& e : expected) {
    SCOPED_TRACE(e.column);
    auto it = found.find(std::string("users.") + e.column);
    ASSERT_NE(it, found.end());
    EXPECT_EQ(it->second.table, (QualifiedName{"public", "users"}));
    EXPECT_EQ(it->second.type, e.type);
    EXPECT_EQ(it->second.suggested, e.suggested);
    EXPECT_EQ(it->second.why, e.why);
  }
  EXPECT_EQ(found.size(), expected.size());
}

TEST(MaskCoverageTest, FlagsTimestampsCountersAndKeysAreNotPersonal) {
  auto found = Find(With({MakeTable(
      "users",
      {Col("email_verified", "boolean"), Col("phone_confirmed_at", "timestamp with time zone"),
       Col("email_confirmed_at", "timestamp without time zone"), Col("login_count", "integer"),
       Col("email_count", "bigint"), Col("num_phones", "integer"), Col("city_id", "integer"),
       Col("address_id", "uuid"), Col("billing_address_id", "bigint"), Col("email_status", "text"),
       Col("phone_type", "text"), Col("email_template", "text"), Col("mac_address", "text"),
       Col("is_mobile", "boolean"), Col("created_at", "timestamp with time zone"),
       Col("notes", "text"), Col("hotel_id", "integer"), Col("gzip_level", "integer")})}));
  EXPECT_THAT(Keys(found), IsEmpty());
}

TEST(MaskCoverageTest, ANameIsAPersonsOnlyOnATableOfPeople) {
  std::vector<Column> named = {Col("name", "text"), Col("display_name", "text")};
  auto found =
      Find(With({MakeTable("tags", named), MakeTable("products", named), MakeTable("plans", named),
                 MakeTable("user_tags", named), MakeTable("customer_contacts", named),
                 MakeTable("people", named), MakeTable("UserProfile", named)}));
  EXPECT_THAT(Keys(found),
              UnorderedElementsAre("customer_contacts.name", "customer_contacts.display_name",
                                   "people.name", "people.display_name", "UserProfile.name",
                                   "UserProfile.display_name"));
}

TEST(MaskCoverageTest, APersonsNameCountsOnAnyTable) {
  auto found =
      Find(With({MakeTable("orders", {Col("customer_name", "text"), Col("product_name", "text"),
                                      Col("company_name", "text")})}));
  EXPECT_THAT(Keys(found), ElementsAre("orders.customer_name"));
  EXPECT_EQ(found.at("orders.customer_name").suggested, "full_name");
}

TEST(MaskCoverageTest, InetAndCidrColumnsAlwaysCount) {
  Catalog catalog = With({MakeTable("routers", {Col("gateway", "inet"), Col("subnet", "cidr"),
                                                Col("uplink", "public.address")})});
  TypeInfo domain;
  domain.name = "public.address";
  domain.kind = 'd';
  domain.domain_base = domain.domain_base_id = "inet";
  domain.built_in = false;
  catalog.types[domain.name] = domain;
  auto found = Find(catalog);
  ASSERT_THAT(Keys(found), ElementsAre("routers.gateway", "routers.subnet", "routers.uplink"));
  EXPECT_EQ(found.at("routers.gateway").why, "type inet");
  EXPECT_EQ(found.at("routers.subnet").why, "type cidr");
  EXPECT_EQ(found.at("routers.uplink").why, "type inet");
  EXPECT_EQ(found.at("routers.uplink").type, "public.address");
  for (const auto& [key, column] : found) EXPECT_EQ(column.suggested, "ip") << key;
}

TEST(MaskCoverageTest, DomainsAreJudgedByTheirBaseType) {
  Catalog catalog = With({MakeTable(
      "users", {Col("email", "public.email_address"), Col("phone_verified", "public.flag")})});
  TypeInfo email;
  email.name = "public.email_address";
  email.kind = 'd';
  email.domain_base = email.domain_base_id = "citext";
  TypeInfo flag;
  flag.name = "public.flag";
  flag.kind = 'd';
  flag.domain_base = flag.domain_base_id = "boolean";
  catalog.types = {{email.name, email}, {flag.name, flag}};
  auto found = Find(catalog);
  ASSERT_THAT(Keys(found), ElementsAre("users.email"));
  EXPECT_EQ(found.at("users.email").suggested, "email");
}

TEST(MaskCoverageTest, TheSuggestedRuleFitsTheColumnsType) {
  Column required = Col("phones", "text[]");
  required.not_null = true;
  auto found = Find(
      With({MakeTable("members", {Col("birth_year", "smallint"), Col("birth_date", "text"),
                                  Col("home_address", "jsonb"), Col("phone_number", "bigint"),
                                  Col("emails", "text[]"), required, Col("zip", "integer")})}));
  EXPECT_EQ(found.at("members.birth_year").suggested, "integer");
  EXPECT_EQ(found.at("members.birth_date").suggested, "redact");
  EXPECT_EQ(found.at("members.home_address").suggested, "json");
  EXPECT_EQ(found.at("members.phone_number").suggested, "integer");
  EXPECT_EQ(found.at("members.emails").suggested, "null");
  EXPECT_EQ(found.at("members.phones").suggested, "constant");
  EXPECT_EQ(found.at("members.zip").suggested, "integer");
}

TEST(MaskCoverageTest, MaskedAndKeptColumnsAreLeftOut) {
  Catalog catalog =
      With({MakeTable("users", {Col("email", "text"), Col("phone", "text"), Col("ssn", "text"),
                                Col("city", "text"), Col("last_ip", "inet")}),
            MakeTable("Odd.Table", {Col("email", "text")}),
            MakeTable("staff", {Col("ssn", "text"), Col("first_name", "text")})});
  Plan plan = BuildPlan(catalog, catalog, {});
  for (auto& table : plan.tables) {
    if (table.name.name != "users") continue;
    ColumnMask mask;
    mask.column = "email";
    mask.rule.rule = "email";
    table.masks.push_back(mask);
  }
  auto found = Find(
      catalog,
      {"public.users.phone", "public.*.ssn", "public.users.\"last_ip\"", "public.Odd.Table.email"},
      &plan);
  EXPECT_THAT(Keys(found), ElementsAre("staff.first_name", "users.city"));
}

TEST(MaskCoverageTest, OnlyCopiedColumnsAreJudged) {
  Catalog source = With({MakeTable("users", {Col("email", "text"), Col("phone", "text")})});
  Catalog target = With({MakeTable("users", {Col("email", "text")})});
  Plan plan = BuildPlan(source, target, {});
  auto found = Find(source, {}, &plan);
  EXPECT_THAT(Keys(found), ElementsAre("users.email"));
}

}  // namespace
}  // namespace freshet
