#include "schema/fk_graph.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "copy/error.h"

// Cycle breaking
// --------------
// Foreign keys point from child to parent; the parent must be loaded first, so
// a cycle among tables has no valid order until some constraints are deferred
// (dropped during the load and re-added after). Self-references never matter:
// one COPY checks them at the end of the statement.
//
// Every cycle lies inside one strongly connected component (SCC, found with
// Tarjan's algorithm), so each SCC of more than one table is solved on its own,
// on the edges internal to it, for a minimum feedback arc set (the fewest edges
// whose removal leaves it acyclic):
//  - Up to kExactEdgeLimit internal edges: exact search. For k = 1, 2, ... every
//    set of k edges is tried (Gosper's hack over bit masks) and checked for
//    acyclicity with Kahn's algorithm; the first k with a solution is the
//    minimum. Among the solutions of that size the best is kept: most
//    deferrable edges, then most nullable edges, then the set whose sorted
//    (name, index) list is lexicographically smallest.
//  - Beyond: the Eades-Lin-Smyth greedy ordering (peel sinks and sources,
//    otherwise take the node with the largest out-degree minus in-degree); the
//    edges that point backwards in it form a feedback arc set. That set is then
//    made irreducible by trying to restore its edges, least preferred to defer
//    first, keeping each restoration that leaves the component acyclic; last,
//    each deferred edge is traded for a more preferred kept one when that
//    one-for-one swap also leaves the component acyclic.
// Parallel edges (two constraints between the same pair) are separate edges, so
// cutting a cycle between such a pair defers every one of them.
//
// The remaining graph is a DAG, ordered with Kahn's algorithm taking the ready
// node of largest weight first, then the lowest index.

namespace freshet {
namespace {

constexpr int kExactEdgeLimit = 20;
// Work (edges and nodes visited) allowed for improving a greedy solution.
constexpr int64_t kTradeBudget = 10'000'000;

// An edge inside one SCC, with nodes renumbered 0..n-1 in the component.
struct LocalEdge {
  int from = 0;  // parent: loaded first
  int to = 0;    // child
  int edge = 0;  // index into the caller's edge list
};

// True when deferring `a` is preferred to deferring `b`.
bool PreferToDefer(const std::vector<FkEdge>& edges, int a, int b) {
  const FkEdge& x = edges[a];
  const FkEdge& y = edges[b];
  if (x.deferrable != y.deferrable) return x.deferrable;
  if (x.nullable != y.nullable) return x.nullable;
  if (x.name != y.name) return x.name < y.name;
  return a < b;
}

// Strongly connected components of more than one node, each sorted ascending.
// Iterative Tarjan, so deep graphs cannot overflow the stack.
std::vector<std::vector<int>> CyclicComponents(int n, const std::vector<std::vector<int>>& adj) {
  std::vector<int> index(n, -1);
  std::vector<int> low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<int> stack;
  std::vector<std::pair<int, size_t>> calls;
  std::vector<std::vector<int>> components;
  int next = 0;
  auto visit = [&](int v) {
    index[v] = low[v] = next++;
    stack.push_back(v);
    on_stack[v] = true;
    calls.emplace_back(v, 0);
  };
  for (int root = 0; root < n; ++root) {
    if (index[root] != -1) continue;
    visit(root);
    while (!calls.empty()) {
      int v = calls.back().first;
      size_t& i = calls.back().second;
      if (i < adj[v].size()) {
        int w = adj[v][i++];
        if (index[w] == -1) {
          visit(w);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      calls.pop_back();
      if (!calls.empty()) low[calls.back().first] = std::min(low[calls.back().first], low[v]);
      if (low[v] != index[v]) continue;
      std::vector<int> component;
      int w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      } while (w != v);
      if (component.size() > 1) {
        std::sort(component.begin(), component.end());
        components.push_back(std::move(component));
      }
    }
  }
  return components;
}

// Kahn's check that the edges not flagged in `removed` form a DAG.
bool IsAcyclic(int n, const std::vector<LocalEdge>& edges, const std::vector<bool>& removed) {
  std::vector<int> indegree(n, 0);
  std::vector<std::vector<int>> out(n);
  for (size_t i = 0; i < edges.size(); ++i) {
    if (removed[i]) continue;
    ++indegree[edges[i].to];
    out[edges[i].from].push_back(edges[i].to);
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
    for (int w : out[v]) {
      if (--indegree[w] == 0) ready.push_back(w);
    }
  }
  return seen == n;
}

// Allocation-free acyclicity check for the exact search (n, m <= 20): the
// edges whose bit is clear in `removed` must form a DAG.
bool IsAcyclicMask(int n, const std::vector<LocalEdge>& edges, uint32_t removed) {
  std::array<int, kExactEdgeLimit> indegree{};
  std::array<int, kExactEdgeLimit> ready{};
  const int m = static_cast<int>(edges.size());
  for (int i = 0; i < m; ++i) {
    if (!(removed >> i & 1u)) ++indegree[edges[i].to];
  }
  int top = 0;
  for (int v = 0; v < n; ++v) {
    if (indegree[v] == 0) ready[top++] = v;
  }
  int seen = 0;
  while (top > 0) {
    int v = ready[--top];
    ++seen;
    for (int i = 0; i < m; ++i) {
      if (edges[i].from == v && !(removed >> i & 1u) && --indegree[edges[i].to] == 0) {
        ready[top++] = edges[i].to;
      }
    }
  }
  return seen == n;
}

// Exact minimum feedback arc set. `edges` must be sorted by (name, index) so
// that comparing masks by their lowest differing bit compares sorted name lists.
std::vector<int> ExactFeedbackSet(int n, const std::vector<LocalEdge>& edges,
                                  const std::vector<FkEdge>& all) {
  const int m = static_cast<int>(edges.size());
  uint32_t deferrable = 0;
  uint32_t nullable = 0;
  for (int i = 0; i < m; ++i) {
    if (all[edges[i].edge].deferrable) deferrable |= 1u << i;
    if (all[edges[i].edge].nullable) nullable |= 1u << i;
  }
  auto better = [&](uint32_t a, uint32_t b) {
    int da = std::popcount(a & deferrable), db = std::popcount(b & deferrable);
    if (da != db) return da > db;
    int na = std::popcount(a & nullable), nb = std::popcount(b & nullable);
    if (na != nb) return na > nb;
    uint32_t diff = a ^ b;
    return (a & diff & (~diff + 1)) != 0;
  };
  for (int k = 1; k <= m; ++k) {
    bool found = false;
    uint32_t best = 0;
    for (uint32_t mask = (1u << k) - 1; mask < (1u << m);) {
      if (IsAcyclicMask(n, edges, mask) && (!found || better(mask, best))) {
        best = mask;
        found = true;
      }
      uint32_t low = mask & (~mask + 1);
      uint32_t ripple = mask + low;
      mask = (((ripple ^ mask) >> 2) / low) | ripple;
    }
    if (found) {
      std::vector<int> result;
      for (int i = 0; i < m; ++i) {
        if (best >> i & 1u) result.push_back(edges[i].edge);
      }
      return result;
    }
  }
  throw Error("foreign key graph: no feedback arc set found (internal error)");
}

// Eades-Lin-Smyth: a node order with few backward edges.
std::vector<int> EadesLinSmythPositions(int n, const std::vector<LocalEdge>& edges) {
  std::vector<std::vector<int>> out(n), in(n);
  std::vector<int> outdegree(n, 0), indegree(n, 0);
  for (const LocalEdge& e : edges) {
    out[e.from].push_back(e.to);
    in[e.to].push_back(e.from);
    ++outdegree[e.from];
    ++indegree[e.to];
  }
  std::vector<bool> gone(n, false);
  std::vector<int> head, tail;
  int remaining = n;
  auto remove = [&](int v) {
    gone[v] = true;
    --remaining;
    for (int w : out[v]) {
      if (!gone[w]) --indegree[w];
    }
    for (int u : in[v]) {
      if (!gone[u]) --outdegree[u];
    }
  };
  while (remaining > 0) {
    bool progress = true;
    while (progress) {
      progress = false;
      for (int v = 0; v < n; ++v) {
        if (!gone[v] && outdegree[v] == 0) {
          remove(v);
          tail.push_back(v);
          progress = true;
        } else if (!gone[v] && indegree[v] == 0) {
          remove(v);
          head.push_back(v);
          progress = true;
        }
      }
    }
    if (remaining == 0) break;
    int pick = -1;
    for (int v = 0; v < n; ++v) {
      if (!gone[v] && (pick < 0 || outdegree[v] - indegree[v] > outdegree[pick] - indegree[pick])) {
        pick = v;
      }
    }
    remove(pick);
    head.push_back(pick);
  }
  head.insert(head.end(), tail.rbegin(), tail.rend());
  std::vector<int> position(n);
  for (int i = 0; i < n; ++i) position[head[i]] = i;
  return position;
}

// Greedy feedback arc set, made irreducible, then improved by one-for-one trades.
std::vector<int> GreedyFeedbackSet(int n, const std::vector<LocalEdge>& edges,
                                   const std::vector<FkEdge>& all) {
  const std::vector<int> position = EadesLinSmythPositions(n, edges);
  std::vector<bool> removed(edges.size(), false);
  for (size_t i = 0; i < edges.size(); ++i) {
    removed[i] = position[edges[i].from] > position[edges[i].to];
  }
  // Edges from most to least preferred to defer.
  std::vector<size_t> by_preference(edges.size());
  for (size_t i = 0; i < edges.size(); ++i) by_preference[i] = i;
  std::sort(by_preference.begin(), by_preference.end(),
            [&](size_t a, size_t b) { return PreferToDefer(all, edges[a].edge, edges[b].edge); });
  auto acyclic = [&] { return IsAcyclic(n, edges, removed); };
  // Put deferred edges back, least preferred first, while the component stays acyclic.
  auto restore = [&] {
    for (auto it = by_preference.rbegin(); it != by_preference.rend(); ++it) {
      if (!removed[*it]) continue;
      removed[*it] = false;
      if (!acyclic()) removed[*it] = true;
    }
  };
  restore();
  // Trade each deferred edge, least preferred first, for the most preferred kept
  // edge whose removal instead also leaves the component acyclic. Bounded work,
  // so a pathological component cannot stall the run.
  int64_t budget = kTradeBudget;
  bool traded = false;
  for (auto it = by_preference.rbegin(); it != by_preference.rend() && budget > 0; ++it) {
    const size_t d = *it;
    if (!removed[d]) continue;
    for (size_t k : by_preference) {
      if (k == d || budget <= 0) break;  // only edges preferred over d
      if (removed[k]) continue;
      budget -= n + static_cast<int64_t>(edges.size());
      removed[d] = false;
      removed[k] = true;
      if (acyclic()) {
        traded = true;
        break;
      }
      removed[d] = true;
      removed[k] = false;
    }
  }
  if (traded) restore();
  std::vector<int> result;
  for (size_t i = 0; i < edges.size(); ++i) {
    if (removed[i]) result.push_back(edges[i].edge);
  }
  return result;
}

}  // namespace

LoadOrder OrderForLoad(int node_count, const std::vector<FkEdge>& edges,
                       const std::vector<int64_t>& weights) {
  if (node_count < 0) throw Error("foreign key graph: negative node count");
  if (!weights.empty() && weights.size() != static_cast<size_t>(node_count)) {
    throw Error("foreign key graph: " + std::to_string(weights.size()) + " weights for " +
                std::to_string(node_count) + " tables");
  }
  std::vector<std::vector<int>> adj(node_count);
  for (const FkEdge& e : edges) {
    if (e.child < 0 || e.child >= node_count || e.parent < 0 || e.parent >= node_count) {
      throw Error("foreign key graph: constraint " + e.name + " links table " +
                  std::to_string(e.child) + " to table " + std::to_string(e.parent) +
                  ", outside 0.." + std::to_string(node_count - 1));
    }
    if (e.child != e.parent) adj[e.parent].push_back(e.child);
  }

  const std::vector<std::vector<int>> components = CyclicComponents(node_count, adj);
  std::vector<int> component_of(node_count, -1);
  std::vector<int> local_of(node_count, -1);
  for (size_t c = 0; c < components.size(); ++c) {
    for (size_t i = 0; i < components[c].size(); ++i) {
      component_of[components[c][i]] = static_cast<int>(c);
      local_of[components[c][i]] = static_cast<int>(i);
    }
  }
  std::vector<std::vector<int>> internal(components.size());
  for (size_t i = 0; i < edges.size(); ++i) {
    const int c = component_of[edges[i].child];
    if (c >= 0 && c == component_of[edges[i].parent] && edges[i].child != edges[i].parent) {
      internal[c].push_back(static_cast<int>(i));
    }
  }
  std::vector<bool> deferred(edges.size(), false);
  for (size_t c = 0; c < components.size(); ++c) {
    // Sorted by (name, index), as ExactFeedbackSet requires.
    std::sort(internal[c].begin(), internal[c].end(), [&](int a, int b) {
      return edges[a].name != edges[b].name ? edges[a].name < edges[b].name : a < b;
    });
    std::vector<LocalEdge> local;
    for (int i : internal[c]) {
      local.push_back({local_of[edges[i].parent], local_of[edges[i].child], i});
    }
    const int n = static_cast<int>(components[c].size());
    const std::vector<int> cut = local.size() <= kExactEdgeLimit
                                     ? ExactFeedbackSet(n, local, edges)
                                     : GreedyFeedbackSet(n, local, edges);
    for (int i : cut) deferred[i] = true;
  }

  LoadOrder result;
  result.prerequisites.resize(node_count);
  std::vector<std::vector<int>> children(node_count);
  std::vector<int> indegree(node_count, 0);
  for (size_t i = 0; i < edges.size(); ++i) {
    const FkEdge& e = edges[i];
    if (deferred[i]) {
      result.deferred.push_back(static_cast<int>(i));
      continue;
    }
    if (e.child == e.parent) continue;
    children[e.parent].push_back(e.child);
    ++indegree[e.child];
    result.prerequisites[e.child].push_back(e.parent);
  }
  for (std::vector<int>& parents : result.prerequisites) {
    std::sort(parents.begin(), parents.end());
    parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
  }

  // Ready nodes: largest weight first, then lowest index.
  auto first = [&weights](int a, int b) {
    if (!weights.empty() && weights[a] != weights[b]) return weights[a] > weights[b];
    return a < b;
  };
  std::set<int, decltype(first)> ready(first);
  for (int v = 0; v < node_count; ++v) {
    if (indegree[v] == 0) ready.insert(v);
  }
  while (!ready.empty()) {
    int v = *ready.begin();
    ready.erase(ready.begin());
    result.order.push_back(v);
    for (int w : children[v]) {
      if (--indegree[w] == 0) ready.insert(w);
    }
  }
  if (result.order.size() != static_cast<size_t>(node_count)) {
    throw Error("foreign key graph: a cycle survived cycle breaking (internal error)");
  }
  return result;
}

}  // namespace freshet
