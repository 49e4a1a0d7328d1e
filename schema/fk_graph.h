// Load order of tables linked by foreign keys. Pure: works on names and edges,
// never talks to a server, so it is unit-tested on crafted graphs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace freshet {

// One foreign key between two nodes (indexes into the node list).
struct FkEdge {
  int child = 0;     // referencing table
  int parent = 0;    // referenced table
  std::string name;  // constraint name, used for deterministic tie-breaking
  bool deferrable = false;
  bool nullable = false;  // all referencing columns nullable
};

struct LoadOrder {
  // Every node exactly once; each node after all its parents except through
  // a deferred edge or a self-reference.
  std::vector<int> order;
  // Indexes into the edge list: the constraints to defer (drop during the load,
  // re-add after) so that the remaining graph is acyclic. Self-references are
  // never deferred: a single COPY checks them at the end of the statement.
  std::vector<int> deferred;
  // For each node, the nodes that must be loaded before it (its parents over
  // edges that are not deferred and not self-references), without duplicates.
  std::vector<std::vector<int>> prerequisites;
};

// Orders `node_count` nodes. Cycles are broken by deferring the smallest set of
// edges (exact for strongly connected components of up to 20 edges, a greedy
// heuristic beyond); among sets of equal size, deferrable edges, then edges
// with nullable columns, are preferred; remaining ties go to the edge whose name
// sorts first. `weights` (bytes per node, optional) orders independent nodes
// largest first; otherwise ties keep node index order.
LoadOrder OrderForLoad(int node_count, const std::vector<FkEdge>& edges,
                       const std::vector<int64_t>& weights = {});

}  // namespace freshet
