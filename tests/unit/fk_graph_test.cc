#include "schema/fk_graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "copy/error.h"

namespace freshet {
namespace {

// Builds graphs by table name; reads results back as names.
class Graph {
 public:
  int Table(const std::string& name) {
    auto [it, added] = index_.emplace(name, static_cast<int>(tables_.size()));
    if (added) tables_.push_back(name);
    return it->second;
  }
  // `child` references `parent` through constraint `name`.
  void Fk(const std::string& child, const std::string& parent, const std::string& name,
          bool deferrable = false, bool nullable = false) {
    int c = Table(child);
    int p = Table(parent);
    edges_.push_back({c, p, name, deferrable, nullable});
  }
  LoadOrder Order(const std::vector<int64_t>& weights = {}) const {
    return OrderForLoad(static_cast<int>(tables_.size()), edges_, weights);
  }
  std::vector<std::string> Names(const std::vector<int>& nodes) const {
    std::vector<std::string> names;
    for (int v : nodes) names.push_back(tables_[v]);
    return names;
  }
  std::vector<std::string> Deferred(const LoadOrder& order) const {
    std::vector<std::string> names;
    for (int e : order.deferred) names.push_back(edges_[e].name);
    std::sort(names.begin(), names.end());
    return names;
  }
  std::vector<std::string> Prerequisites(const LoadOrder& order, const std::string& table) const {
    return Names(order.prerequisites[index_.at(table)]);
  }

 private:
  std::vector<std::string> tables_;
  std::map<std::string, int> index_;
  std::vector<FkEdge> edges_;
};

using Names = std::vector<std::string>;

// True when, with `removed` (a bit per edge) taken out and self-references
// ignored, the graph has no cycle.
bool Acyclic(int n, const std::vector<FkEdge>& edges, const std::vector<bool>& removed) {
  std::vector<int> indegree(n, 0);
  for (size_t i = 0; i < edges.size(); ++i) {
    if (!removed[i] && edges[i].child != edges[i].parent) ++indegree[edges[i].child];
  }
  std::vector<int> ready;
  for (int v = 0; v < n; ++v) {
    if (indegree[v] == 0) ready.push_back(v);
  }
  int seen = 0;
  while (!ready.empty()) {
    int v = ready.back();
    ready.pop_back();
    ++seen;
    for (size_t i = 0; i < edges.size(); ++i) {
      if (!removed[i] && edges[i].parent == v && edges[i].child != v &&
          --indegree[edges[i].child] == 0) {
        ready.push_back(edges[i].child);
      }
    }
  }
  return seen == n;
}

// Checks the LoadOrder contract; returns the deferred edges as flags.
std::vector<bool> ExpectValid(int n, const std::vector<FkEdge>& edges, const LoadOrder& order) {
  std::vector<int> sorted = order.order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> all(n);
  for (int v = 0; v < n; ++v) all[v] = v;
  EXPECT_EQ(sorted, all) << "order is not a permutation";
  std::vector<int> position(n, -1);
  for (size_t i = 0; i < order.order.size() && i < static_cast<size_t>(n); ++i) {
    position[order.order[i]] = static_cast<int>(i);
  }
  std::vector<bool> deferred(edges.size(), false);
  for (int e : order.deferred) {
    deferred[e] = true;
    EXPECT_NE(edges[e].child, edges[e].parent) << "self-reference deferred";
  }
  for (size_t i = 0; i < edges.size(); ++i) {
    const FkEdge& e = edges[i];
    if (deferred[i] || e.child == e.parent) continue;
    EXPECT_LT(position[e.parent], position[e.child]) << "edge " << e.name << " loads child first";
  }
  return deferred;
}

TEST(FkGraphTest, ChainLoadsEachParentBeforeItsChild) {
  Graph g;
  g.Fk("line_items", "orders", "line_items_order_id_fkey");
  g.Fk("orders", "customers", "orders_customer_id_fkey");
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Names(order.order), (Names{"customers", "orders", "line_items"}));
  EXPECT_TRUE(order.deferred.empty());
  EXPECT_EQ(g.Prerequisites(order, "line_items"), Names{"orders"});
  EXPECT_EQ(g.Prerequisites(order, "customers"), Names{});
}

TEST(FkGraphTest, DiamondLoadsSharedParentFirstAndJoinLast) {
  Graph g;
  g.Fk("d", "b", "d_b");
  g.Fk("d", "c", "d_c");
  g.Fk("b", "a", "b_a");
  g.Fk("c", "a", "c_a");
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Names(order.order), (Names{"a", "b", "c", "d"}));
  EXPECT_TRUE(order.deferred.empty());
  EXPECT_EQ(g.Prerequisites(order, "d"), (Names{"b", "c"}));
}

TEST(FkGraphTest, TwoCycleDefersTheDeferrableEdge) {
  Graph g;
  g.Fk("a", "b", "a_b_fkey", /*deferrable=*/false, /*nullable=*/true);
  g.Fk("b", "a", "z_b_a_fkey", /*deferrable=*/true, /*nullable=*/false);
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Deferred(order), Names{"z_b_a_fkey"});
  EXPECT_EQ(g.Names(order.order), (Names{"b", "a"}));
  EXPECT_EQ(g.Prerequisites(order, "b"), Names{});
  EXPECT_EQ(g.Prerequisites(order, "a"), Names{"b"});
}

TEST(FkGraphTest, TwoCycleWithoutDeferrableEdgeDefersTheNullableOne) {
  Graph g;
  g.Fk("a", "b", "a_b_fkey", false, false);
  g.Fk("b", "a", "z_b_a_fkey", false, true);
  EXPECT_EQ(g.Deferred(g.Order()), Names{"z_b_a_fkey"});
}

TEST(FkGraphTest, TwoCycleOfEqualEdgesDefersTheFirstConstraintName) {
  Graph g;
  g.Fk("a", "b", "m_fkey");
  g.Fk("b", "a", "k_fkey");
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Deferred(order), Names{"k_fkey"});
  EXPECT_EQ(g.Names(order.order), (Names{"b", "a"}));
}

TEST(FkGraphTest, ThreeCycleDefersItsOnlyDeferrableEdge) {
  Graph g;
  g.Fk("a", "b", "a_b", false, true);
  g.Fk("b", "c", "b_c", true, false);
  g.Fk("c", "a", "c_a", false, true);
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Deferred(order), Names{"b_c"});
  EXPECT_EQ(g.Names(order.order), (Names{"b", "a", "c"}));
}

TEST(FkGraphTest, OverlappingCyclesAreBrokenAtTheirSharedEdge) {
  // a -> b -> c -> a and a -> b -> d -> a share b -> a; deferring it alone
  // beats deferring two deferrable edges.
  Graph g;
  g.Fk("b", "a", "shared");
  g.Fk("c", "b", "c_b", true);
  g.Fk("a", "c", "a_c", true);
  g.Fk("d", "b", "d_b", true);
  g.Fk("a", "d", "a_d", true);
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Deferred(order), Names{"shared"});
  EXPECT_EQ(g.Names(order.order), (Names{"b", "c", "d", "a"}));
}

TEST(FkGraphTest, SelfReferenceIsNeitherDeferredNorAPrerequisite) {
  Graph g;
  g.Fk("companies", "companies", "companies_parent_id_fkey", true, true);
  g.Fk("contacts", "companies", "contacts_company_id_fkey");
  LoadOrder order = g.Order();
  EXPECT_TRUE(order.deferred.empty());
  EXPECT_EQ(g.Prerequisites(order, "companies"), Names{});
  EXPECT_EQ(g.Names(order.order), (Names{"companies", "contacts"}));
}

TEST(FkGraphTest, SelfReferenceInsideACycleIsNeverTheDeferredEdge) {
  Graph g;
  g.Fk("a", "a", "a_self", true, true);
  g.Fk("a", "b", "a_b");
  g.Fk("b", "a", "b_a");
  EXPECT_EQ(g.Deferred(g.Order()), Names{"a_b"});
}

TEST(FkGraphTest, ParallelEdgesBetweenTheSamePairAreOnePrerequisite) {
  Graph g;
  g.Fk("deals", "profiles", "deals_owner_id_fkey");
  g.Fk("deals", "profiles", "deals_created_by_fkey");
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Prerequisites(order, "deals"), Names{"profiles"});
  EXPECT_EQ(g.Names(order.order), (Names{"profiles", "deals"}));
}

TEST(FkGraphTest, ParallelEdgesInACycleAreDeferredTogether) {
  // Two constraints each way: any cut takes both of one direction; the
  // direction holding a deferrable constraint wins.
  Graph g;
  g.Fk("a", "b", "a_b_1", true);
  g.Fk("a", "b", "a_b_2");
  g.Fk("b", "a", "b_a_1");
  g.Fk("b", "a", "b_a_2");
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Deferred(order), (Names{"a_b_1", "a_b_2"}));
  EXPECT_EQ(g.Names(order.order), (Names{"a", "b"}));
}

TEST(FkGraphTest, OneEdgeBackBeatsTwoDeferrableParallelEdges) {
  Graph g;
  g.Fk("a", "b", "a_b_1", true, true);
  g.Fk("a", "b", "a_b_2", true, true);
  g.Fk("b", "a", "b_a");
  EXPECT_EQ(g.Deferred(g.Order()), Names{"b_a"});
}

TEST(FkGraphTest, IndependentTablesLoadLargestFirst) {
  Graph g;
  g.Table("small");
  g.Table("large");
  g.Table("medium");
  LoadOrder order = g.Order({10, 5000, 300});
  EXPECT_EQ(g.Names(order.order), (Names{"large", "medium", "small"}));
}

TEST(FkGraphTest, WithoutWeightsIndependentTablesKeepIndexOrder) {
  Graph g;
  g.Table("zeta");
  g.Table("alpha");
  g.Table("mu");
  EXPECT_EQ(g.Names(g.Order().order), (Names{"zeta", "alpha", "mu"}));
}

TEST(FkGraphTest, DisconnectedComponentsInterleaveByWeightButParentsComeFirst) {
  Graph g;
  g.Fk("events", "users", "events_user_id_fkey");  // events is huge, users tiny
  g.Fk("invoices", "accounts", "invoices_account_id_fkey");
  g.Table("settings");
  // Indexes: events, users, invoices, accounts, settings.
  LoadOrder order = g.Order({9000, 10, 700, 500, 50});
  EXPECT_EQ(g.Names(order.order), (Names{"accounts", "invoices", "settings", "users", "events"}));
}

TEST(FkGraphTest, LargeCycleUsesGreedySearchAndStillDefersOneDeferrableEdge) {
  // 30 tables in one ring: 30 internal edges, beyond the exact search.
  Graph g;
  const int n = 30;
  for (int i = 0; i < n; ++i) {
    std::string child = "t" + std::to_string(i);
    std::string parent = "t" + std::to_string((i + 1) % n);
    g.Fk(child, parent, "fk" + std::to_string(i), /*deferrable=*/i == 17);
  }
  LoadOrder order = g.Order();
  EXPECT_EQ(g.Deferred(order), Names{"fk17"});
  EXPECT_EQ(g.Names(order.order).front(), "t17");
  EXPECT_EQ(g.Names(order.order).back(), "t18");
}

TEST(FkGraphTest, EdgeToAMissingNodeIsAnError) {
  EXPECT_THROW(OrderForLoad(2, {{0, 2, "bad_fkey"}}), Error);
}

TEST(FkGraphTest, WeightCountMismatchIsAnError) {
  EXPECT_THROW(OrderForLoad(3, {}, {1, 2}), Error);
}

TEST(FkGraphTest, CrmWorkloadDefersExactlyOneOfTheTaskActionItemPair) {
  Graph g;
  g.Fk("profiles", "organizations", "profiles_organization_id_fkey");
  g.Fk("companies", "organizations", "companies_organization_id_fkey");
  g.Fk("companies", "companies", "companies_parent_id_fkey", false, true);
  g.Fk("contacts", "companies", "contacts_company_id_fkey", false, true);
  g.Fk("contacts", "profiles", "contacts_owner_id_fkey", false, true);
  g.Fk("deals", "companies", "deals_company_id_fkey");
  g.Fk("deals", "contacts", "deals_contact_id_fkey", false, true);
  g.Fk("deals", "profiles", "deals_owner_id_fkey");
  g.Fk("activities", "deals", "activities_deal_id_fkey", false, true);
  g.Fk("activities", "contacts", "activities_contact_id_fkey", false, true);
  g.Fk("meetings", "deals", "meetings_deal_id_fkey", false, true);
  g.Fk("meetings", "organizations", "meetings_organization_id_fkey");
  g.Fk("tasks", "deals", "tasks_deal_id_fkey", false, true);
  g.Fk("tasks", "profiles", "tasks_assignee_id_fkey", false, true);
  g.Fk("tasks", "meeting_action_items", "tasks_source_action_item_id_fkey", false, true);
  g.Fk("meeting_action_items", "meetings", "meeting_action_items_meeting_id_fkey");
  g.Fk("meeting_action_items", "tasks", "meeting_action_items_task_id_fkey", false, true);
  g.Fk("next_action_suggestions", "deals", "next_action_suggestions_deal_id_fkey");
  g.Fk("next_action_suggestions", "meetings", "next_action_suggestions_meeting_id_fkey", false,
       true);
  LoadOrder order = g.Order();
  // Both candidates are nullable and not deferrable: the name decides.
  EXPECT_EQ(g.Deferred(order), Names{"meeting_action_items_task_id_fkey"});
  Names names = g.Names(order.order);
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names.front(), "organizations");
  auto at = [&](const std::string& t) { return std::find(names.begin(), names.end(), t); };
  EXPECT_LT(at("meeting_action_items"), at("tasks"));
  EXPECT_LT(at("meetings"), at("meeting_action_items"));
  EXPECT_EQ(g.Prerequisites(order, "companies"), Names{"organizations"});
  EXPECT_EQ(g.Prerequisites(order, "meeting_action_items"), Names{"meetings"});
}

// Random graph with self-references, parallel edges and shuffled names.
std::vector<FkEdge> RandomEdges(std::mt19937& rng, int n, int m) {
  std::uniform_int_distribution<int> node(0, n - 1);
  std::bernoulli_distribution coin(0.3);
  std::vector<int> name_order(m);
  for (int i = 0; i < m; ++i) name_order[i] = i;
  std::shuffle(name_order.begin(), name_order.end(), rng);
  std::vector<FkEdge> edges;
  for (int i = 0; i < m; ++i) {
    edges.push_back(
        {node(rng), node(rng), "fk" + std::to_string(100 + name_order[i]), coin(rng), coin(rng)});
  }
  return edges;
}

struct Score {
  int size, deferrable, nullable;
  auto operator<=>(const Score&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const Score& s) {
    return os << "{size " << s.size << ", deferrable " << s.deferrable << ", nullable "
              << s.nullable << "}";
  }
};

Score ScoreOf(const std::vector<FkEdge>& edges, const std::vector<bool>& removed) {
  Score s{0, 0, 0};
  for (size_t i = 0; i < edges.size(); ++i) {
    if (!removed[i]) continue;
    ++s.size;
    s.deferrable += edges[i].deferrable;
    s.nullable += edges[i].nullable;
  }
  return s;
}

// Best score over every subset: fewest edges, then most deferrable, then most nullable.
Score BruteForceBest(int n, const std::vector<FkEdge>& edges) {
  Score best{INT32_MAX, 0, 0};
  const uint32_t m = static_cast<uint32_t>(edges.size());
  for (uint32_t mask = 0; mask < (1u << m); ++mask) {
    std::vector<bool> removed(m);
    bool self = false;
    for (uint32_t i = 0; i < m; ++i) {
      removed[i] = mask >> i & 1u;
      self |= removed[i] && edges[i].child == edges[i].parent;
    }
    if (self || std::popcount(mask) > best.size || !Acyclic(n, edges, removed)) continue;
    Score s = ScoreOf(edges, removed);
    if (s.size < best.size || (s.size == best.size &&
                               (s.deferrable > best.deferrable ||
                                (s.deferrable == best.deferrable && s.nullable > best.nullable)))) {
      best = s;
    }
  }
  return best;
}

TEST(FkGraphPropertyTest, SmallRandomGraphsGetAValidMinimumPreferredCut) {
  std::mt19937 rng(20240607);
  for (int round = 0; round < 400; ++round) {
    int n = std::uniform_int_distribution<int>(1, 7)(rng);
    int m = std::uniform_int_distribution<int>(0, 12)(rng);
    std::vector<FkEdge> edges = RandomEdges(rng, n, m);
    LoadOrder order = OrderForLoad(n, edges);
    std::vector<bool> deferred = ExpectValid(n, edges, order);
    EXPECT_EQ(ScoreOf(edges, deferred), BruteForceBest(n, edges)) << "round " << round;
  }
}

TEST(FkGraphPropertyTest, LargerRandomGraphsGetAValidIrreducibleCut) {
  std::mt19937 rng(7);
  for (int round = 0; round < 100; ++round) {
    int n = std::uniform_int_distribution<int>(2, 40)(rng);
    int m = std::uniform_int_distribution<int>(0, 3 * n)(rng);
    std::vector<FkEdge> edges = RandomEdges(rng, n, m);
    LoadOrder order = OrderForLoad(n, edges);
    std::vector<bool> deferred = ExpectValid(n, edges, order);
    for (int e : order.deferred) {
      deferred[e] = false;
      EXPECT_FALSE(Acyclic(n, edges, deferred))
          << "round " << round << ": " << edges[e].name << " need not be deferred";
      deferred[e] = true;
    }
  }
}

TEST(FkGraphPropertyTest, PrerequisitesAreTheDistinctParentsOverKeptEdges) {
  std::mt19937 rng(99);
  for (int round = 0; round < 100; ++round) {
    int n = std::uniform_int_distribution<int>(1, 15)(rng);
    std::vector<FkEdge> edges = RandomEdges(rng, n, 2 * n);
    LoadOrder order = OrderForLoad(n, edges);
    std::vector<bool> deferred = ExpectValid(n, edges, order);
    std::vector<std::vector<int>> expected(n);
    for (size_t i = 0; i < edges.size(); ++i) {
      if (deferred[i] || edges[i].child == edges[i].parent) continue;
      expected[edges[i].child].push_back(edges[i].parent);
    }
    for (int v = 0; v < n; ++v) {
      std::sort(expected[v].begin(), expected[v].end());
      expected[v].erase(std::unique(expected[v].begin(), expected[v].end()), expected[v].end());
      std::vector<int> actual = order.prerequisites[v];
      std::sort(actual.begin(), actual.end());
      EXPECT_EQ(actual, expected[v]) << "round " << round << " node " << v;
      EXPECT_EQ(actual.size(), order.prerequisites[v].size());
    }
  }
}

TEST(FkGraphPropertyTest, ResultDoesNotDependOnEdgeListOrder) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 100; ++round) {
    int n = std::uniform_int_distribution<int>(2, 30)(rng);
    std::vector<FkEdge> edges = RandomEdges(rng, n, 2 * n);
    std::vector<int64_t> weights(n);
    for (int64_t& w : weights) w = std::uniform_int_distribution<int>(0, 4)(rng);
    std::vector<FkEdge> shuffled = edges;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    LoadOrder a = OrderForLoad(n, edges, weights);
    LoadOrder b = OrderForLoad(n, shuffled, weights);
    LoadOrder again = OrderForLoad(n, edges, weights);
    auto names = [](const std::vector<FkEdge>& es, const LoadOrder& o) {
      std::vector<std::string> out;
      for (int e : o.deferred) out.push_back(es[e].name);
      std::sort(out.begin(), out.end());
      return out;
    };
    EXPECT_EQ(a.order, b.order) << "round " << round;
    EXPECT_EQ(names(edges, a), names(shuffled, b)) << "round " << round;
    EXPECT_EQ(a.order, again.order);
    EXPECT_EQ(a.deferred, again.deferred);
    EXPECT_EQ(a.prerequisites, again.prerequisites);
  }
}

}  // namespace
}  // namespace freshet
