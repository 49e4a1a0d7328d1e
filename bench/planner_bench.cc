// Planning cost on large schemas: load ordering of thousands of tables with
// chains, cycles and self-references, and identifier quoting.
#include <benchmark/benchmark.h>

#include <random>

#include "copy/identifiers.h"
#include "schema/fk_graph.h"

namespace freshet {
namespace {

void BM_OrderForLoad(benchmark::State& state) {
  const int tables = static_cast<int>(state.range(0));
  std::mt19937 random(42);
  std::vector<FkEdge> edges;
  for (int child = 1; child < tables; ++child) {
    for (int k = 0; k < 3; ++k) {
      int parent = static_cast<int>(random() % child);
      edges.push_back({child, parent, "fk_" + std::to_string(edges.size()), false, k == 2});
    }
    if (child % 50 == 0)
      edges.push_back({child - 1, child, "cycle_" + std::to_string(child), true, true});
    if (child % 7 == 0)
      edges.push_back({child, child, "self_" + std::to_string(child), false, true});
  }
  std::vector<int64_t> weights(tables);
  for (auto& weight : weights) weight = static_cast<int64_t>(random() % 1000000);
  for (auto _ : state) benchmark::DoNotOptimize(OrderForLoad(tables, edges, weights));
  state.SetItemsProcessed(state.iterations() * tables);
}
BENCHMARK(BM_OrderForLoad)->Arg(100)->Arg(1000)->Arg(10000);

void BM_QuoteIdent(benchmark::State& state) {
  std::string name = "Order \"Items\".v2 ñame";
  for (auto _ : state) benchmark::DoNotOptimize(QuoteIdent(name));
}
BENCHMARK(BM_QuoteIdent);

}  // namespace
}  // namespace freshet
