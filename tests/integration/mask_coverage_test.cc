// Personal columns found by their content: a sample of the source's text
// columns, read in a read-only snapshot transaction, shows which hold email
// addresses or phone numbers whatever their names. Only counts come back:
// no sampled value appears in a finding. Odd identifiers are quoted, and
// large tables are sampled by blocks, never read whole.
#include "sync/engine/mask_coverage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "schema/catalog.h"
#include "sync/engine/plan.h"
#include "tests/support/pg_cluster.h"

namespace freshet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::SharedClusters;

constexpr const char* kSourceSql = R"sql(
CREATE TABLE public.leads (
  id int PRIMARY KEY,
  contact_info text,    -- addresses, under a name that says nothing
  notes text,           -- free text
  reach varchar(40),    -- phone numbers
  mixed text,           -- 40% addresses: not enough
  few text,             -- 3 addresses among nulls: too few
  day text              -- ISO dates: digits and dashes, but no phone numbers
);
INSERT INTO public.leads
SELECT g,
       CASE WHEN g % 10 = 0 THEN NULL ELSE 'lead' || g || '@example.com' END,
       'called on day ' || g || ', wants a demo before the 12th',
       '+1 (555) 010-' || lpad(g::text, 4, '0'),
       CASE WHEN g % 5 < 2 THEN 'm' || g || '@example.org' ELSE 'n/a' END,
       CASE WHEN g <= 3 THEN 'few' || g || '@example.net' END,
       to_char(date '2024-01-01' + g, 'YYYY-MM-DD')
FROM generate_series(1, 200) g;
CREATE TABLE public."Odd ""Quoted"" Table" (id int PRIMARY KEY, "how to ""reach"" them" text);
INSERT INTO public."Odd ""Quoted"" Table" SELECT g, 'odd' || g || '@example.com'
FROM generate_series(1, 20) g;
CREATE TABLE public.events (id bigint PRIMARY KEY, payload text);
INSERT INTO public.events SELECT g, 'visitor' || g || '@example.com'
FROM generate_series(1, 100000) g;
ANALYZE;
)sql";

class MaskCoverageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::PgCluster& cluster = SharedClusters::Source();
    std::string db = cluster.CreateUniqueDatabase("coverage");
    cluster.Psql(db, kSourceSql);
    connection_ = new Connection(Connection::Open(cluster.Url(db), "source"));
    catalog_ = new Catalog(ReadCatalog(*connection_));
    plan_ = new Plan(BuildPlan(*catalog_, *catalog_, {}));
  }
  static void TearDownTestSuite() {
    delete plan_;
    delete catalog_;
    delete connection_;
  }

  // "table.column" -> finding, sampled in a read-only snapshot as a run's.
  static std::map<std::string, PersonalColumn> Find(const std::vector<std::string>& kept = {},
                                                    bool sample = true) {
    std::vector<PersonalColumn> found;
    InTransaction(*connection_, [&] {
      connection_->Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      found = FindPersonalColumns(*catalog_, *plan_, kept, sample ? connection_ : nullptr);
    });
    std::map<std::string, PersonalColumn> by_name;
    for (auto& column : found) by_name[column.table.name + "." + column.column] = column;
    return by_name;
  }

  static Connection* connection_;
  static Catalog* catalog_;
  static Plan* plan_;
};

Connection* MaskCoverageTest::connection_ = nullptr;
Catalog* MaskCoverageTest::catalog_ = nullptr;
Plan* MaskCoverageTest::plan_ = nullptr;

TEST_F(MaskCoverageTest, AColumnFullOfEmailAddressesIsFoundByItsContent) {
  auto found = Find();
  ASSERT_TRUE(found.contains("leads.contact_info"));
  const PersonalColumn& column = found.at("leads.contact_info");
  EXPECT_EQ(column.table, (QualifiedName{"public", "leads"}));
  EXPECT_EQ(column.type, "text");
  EXPECT_EQ(column.why, "180 of 180 sampled values look like email addresses");
  EXPECT_EQ(column.suggested, "email");
}

TEST_F(MaskCoverageTest, AColumnOfPhoneNumbersIsFoundByItsContent) {
  auto found = Find();
  ASSERT_TRUE(found.contains("leads.reach"));
  EXPECT_EQ(found.at("leads.reach").why, "200 of 200 sampled values look like phone numbers");
  EXPECT_EQ(found.at("leads.reach").suggested, "phone");
  EXPECT_EQ(found.at("leads.reach").type, "character varying(40)");
}

TEST_F(MaskCoverageTest, FreeTextDatesAndMinoritiesAreNotFound) {
  auto found = Find();
  for (const char* column : {"leads.notes", "leads.mixed", "leads.few", "leads.day", "leads.id"})
    EXPECT_FALSE(found.contains(column)) << column << ": " << found[column].why;
}

TEST_F(MaskCoverageTest, OddIdentifiersAreQuoted) {
  auto found = Find();
  std::string key = "Odd \"Quoted\" Table.how to \"reach\" them";
  ASSERT_TRUE(found.contains(key));
  EXPECT_EQ(found.at(key).why, "20 of 20 sampled values look like email addresses");
}

TEST_F(MaskCoverageTest, ALargeTableIsSampledNotReadWhole) {
  auto found = Find();
  ASSERT_TRUE(found.contains("events.payload"));
  std::smatch counts;
  const std::string why = found.at("events.payload").why;
  ASSERT_TRUE(std::regex_match(
      why, counts, std::regex("([0-9]+) of ([0-9]+) sampled values look like email addresses")))
      << why;
  EXPECT_EQ(counts[1], counts[2]);
  EXPECT_GE(std::stoi(counts[2]), 5);
  EXPECT_LE(std::stoi(counts[2]), 1000);
}

TEST_F(MaskCoverageTest, NoSampledValueAppearsInAFinding) {
  for (const auto& [key, column] : Find()) {
    SCOPED_TRACE(key);
    for (const std::string& text : {column.why, column.suggested, column.type}) {
      EXPECT_THAT(text, Not(HasSubstr("@")));
      EXPECT_THAT(text, Not(HasSubstr("example")));
      EXPECT_THAT(text, Not(HasSubstr("555")));
    }
  }
}

TEST_F(MaskCoverageTest, KeptColumnsAreNotSampled) {
  auto found = Find({"public.leads.contact_info", "public.\"Odd \"\"Quoted\"\" Table\".*"});
  EXPECT_FALSE(found.contains("leads.contact_info"));
  EXPECT_FALSE(found.contains("Odd \"Quoted\" Table.how to \"reach\" them"));
  EXPECT_TRUE(found.contains("leads.reach"));
}

TEST_F(MaskCoverageTest, WithoutAConnectionOnlyNamesAndTypesCount) {
  EXPECT_TRUE(Find({}, false).empty());
}

}  // namespace
}  // namespace freshet
