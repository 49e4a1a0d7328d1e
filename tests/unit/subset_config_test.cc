// [subset] in freshet.toml: the root, its filter and share, limits in file
// order, and errors that name the line and the key; the plan's own checks.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "copy/error.h"
#include "sync/cli/config.h"
#include "sync/engine/plan.h"

namespace freshet {
namespace {

using ::testing::HasSubstr;

std::string ParseError(const std::string& text) {
  try {
    Config::Parse(text, "freshet.toml");
  } catch (const Error& error) {
    return error.what();
  }
  return {};
}

TEST(SubsetConfig, ReadsTheRootFilterShareAndLimits) {
  Config config = Config::Parse(R"(
[subset]
root = "public.organizations"
where = "plan = 'team'"
percent = 2.5
children = false
children_except = ["public.activities.actor_id", "crm.deals.deals_owner_fkey"]
limits = { "public.audit_log" = 1000, "events" = 0 }
)",
                                "freshet.toml");
  const SubsetSettings& subset = config.subset;
  ASSERT_TRUE(subset.root);
  EXPECT_EQ(subset.root->Display(), "public.organizations");
  EXPECT_EQ(subset.where, "plan = 'team'");
  EXPECT_DOUBLE_EQ(*subset.percent, 2.5);
  EXPECT_FALSE(subset.children);
  ASSERT_EQ(subset.children_except.size(), 2u);
  EXPECT_EQ(subset.children_except[0].table.Display(), "public.activities");
  EXPECT_EQ(subset.children_except[0].name, "actor_id");
  EXPECT_EQ(subset.children_except[1].Display(), "crm.deals.deals_owner_fkey");
  ASSERT_EQ(subset.limits.size(), 2u);
  EXPECT_EQ(subset.limits[0].first.Display(), "public.audit_log");
  EXPECT_EQ(subset.limits[0].second, 1000);
  EXPECT_EQ(subset.limits[1].first.Display(), "public.events");  // no schema: public
  EXPECT_EQ(subset.limits[1].second, 0);
}

TEST(SubsetConfig, NamesInDoubleQuotesMayHoldDots) {
  Config config = Config::Parse(R"(
[subset]
root = '"crm.v2"."Orgs"'
children_except = ['"crm.v2"."Deals"."owner.id"']
limits = { '"crm.v2".events' = 10 }
)",
                                "freshet.toml");
  const SubsetSettings& subset = config.subset;
  EXPECT_EQ(*subset.root, (QualifiedName{"crm.v2", "Orgs"}));
  ASSERT_EQ(subset.children_except.size(), 1u);
  EXPECT_EQ(subset.children_except[0].table, (QualifiedName{"crm.v2", "Deals"}));
  EXPECT_EQ(subset.children_except[0].name, "owner.id");
  ASSERT_EQ(subset.limits.size(), 1u);
  EXPECT_EQ(subset.limits[0].first, (QualifiedName{"crm.v2", "events"}));
}

TEST(SubsetConfig, IntegerPercentAndNoSectionMeanWhatTheySay) {
  EXPECT_DOUBLE_EQ(*Config::Parse("[subset]\nroot = \"a.b\"\npercent = 5\n", "f").subset.percent,
                   5.0);
  Config none = Config::Parse("[sync]\njobs = 2\n", "f");
  EXPECT_FALSE(none.subset.any());
  EXPECT_TRUE(none.subset.children);
}

TEST(SubsetConfig, ErrorsNameTheLineAndTheKey) {
  EXPECT_THAT(ParseError("[subset]\nroot = \"public.orgs\"\npercent = 0\n"),
              HasSubstr("freshet.toml:3: 'subset.percent' must be more than 0 and at most 100"));
  EXPECT_THAT(ParseError("[subset]\nroot = \"public.orgs\"\npercent = 101\n"),
              HasSubstr("'subset.percent' must be more than 0 and at most 100"));
  EXPECT_THAT(ParseError("[subset]\nroot = \"a.b.c\"\n"),
              HasSubstr("'subset.root' must name a table as \"schema.table\""));
  EXPECT_THAT(ParseError("[subset]\nroot = \"public.orgs\"\nprecent = 5\n"),
              HasSubstr("unknown key 'subset.precent' (did you mean 'percent'?)"));
  EXPECT_THAT(ParseError("[subset]\nwhere = \"id < 5\"\n"),
              HasSubstr("where and percent need a root"));
  EXPECT_THAT(ParseError("[subset]\nchildren = true\n"),
              HasSubstr("[subset] needs a root = \"schema.table\" or limits"));
  EXPECT_THAT(ParseError("[subset]\nroot = \"public.orgs\"\nlimits = { \"public.x\" = -1 }\n"),
              HasSubstr("'subset.limits.\"public.x\"' must not be negative"));
  EXPECT_THAT(ParseError("[subset]\nroot = \"public.orgs\"\nlimits = { \"public.x\" = \"ten\" }\n"),
              HasSubstr("must be an integer"));
  for (const char* bad : {"actor_id", "activities.actor_id", "public.activities.", ".a.b"})
    EXPECT_THAT(ParseError(fmt::format("[subset]\nroot = \"public.orgs\"\nchildren_except = "
                                       "[\"{}\"]\n",
                                       bad)),
                HasSubstr(fmt::format("'subset.children_except' must name foreign keys as "
                                      "\"schema.table.column\" or \"schema.table.constraint\", "
                                      "not \"{}\"",
                                      bad)))
        << bad;
  EXPECT_THAT(ParseError("[subset]\nroot = \"public.orgs\"\nchildren_except = \"public.a.b\"\n"),
              HasSubstr("'subset.children_except' must be an array of strings"));
}

TEST(SubsetPlan, TheRootAndLimitedTablesMustBeCopied) {
  Plan plan;
  PlannedTable orgs;
  orgs.name = {"public", "orgs"};
  plan.tables.push_back(orgs);
  SubsetSettings settings;
  settings.root = QualifiedName{"public", "organisations"};
  settings.limits.push_back({{"public", "orgs"}, 5});
  settings.limits.push_back({{"public", "gone"}, 5});
  settings.children_except.push_back({{"public", "events"}, "actor"});
  CheckSubset(settings, plan);
  ASSERT_EQ(plan.errors.size(), 3u);
  EXPECT_THAT(plan.errors[0], HasSubstr("[subset] root public.organisations is not a table"));
  EXPECT_THAT(plan.errors[1],
              HasSubstr("[subset] children_except \"public.events.actor\": public.events is not"));
  EXPECT_THAT(plan.errors[2], HasSubstr("[subset] limit on public.gone: not a table"));
}

}  // namespace
}  // namespace freshet
