// Relaying one table's binary COPY between two databases of a real server:
// the relay loop as it was before the COPY pipeline (blocking libpq, as of
// commit f1a1539; the anchor) against RelayCopy on the pipeline, and the
// pipeline with a projection transform (every row parsed and rebuilt).
// Run by bench/relay_bench.sh, which starts the server and makes the table;
// it passes the two databases in FRESHET_BENCH_SOURCE and
// FRESHET_BENCH_TARGET. Each iteration truncates the target table first
// (untimed).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "copy/copy_pipeline.h"
#include "copy/copy_relay.h"
#include "copy/row_transforms.h"
#include "copy/server_copy.h"

namespace freshet {
namespace {

const char* const kCopyOut = "COPY bench_rows TO STDOUT (FORMAT binary)";
const char* const kCopyIn = "COPY bench_copy FROM STDIN (FORMAT binary)";

struct Connections {
  Connection source;
  Connection target;
  int columns = 0;
};

Connections& Open() {
  static Connections* connections = [] {
    const char* source = std::getenv("FRESHET_BENCH_SOURCE");
    const char* target = std::getenv("FRESHET_BENCH_TARGET");
    if (!source || !target)
      throw std::runtime_error("set FRESHET_BENCH_SOURCE and FRESHET_BENCH_TARGET");
    auto* opened =
        new Connections{Connection::Open(source, "source"), Connection::Open(target, "target")};
    opened->columns = static_cast<int>(opened->source
                                           .Exec("SELECT count(*) FROM pg_attribute WHERE "
                                                 "attrelid = 'bench_rows'::regclass AND attnum > 0 "
                                                 "AND NOT attisdropped")
                                           .GetInt(0, 0));
    return opened;
  }();
  return *connections;
}

// The anchor: the relay loop before the pipeline, happy path only (blocking
// PQgetCopyData handed straight to blocking PQputCopyData).
uint64_t RelayBefore(Connection& source, Connection& target) {
  Result in(PQexec(target.handle(), kCopyIn));
  Result out(PQexec(source.handle(), kCopyOut));
  if (in.Status() != PGRES_COPY_IN || out.Status() != PGRES_COPY_OUT)
    throw std::runtime_error("COPY did not start");
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(source.handle(), &buffer, /*async=*/0);
    if (n <= 0) break;
    PQputCopyData(target.handle(), buffer, n);
    PQfreemem(buffer);
  }
  while (PGresult* result = PQgetResult(source.handle())) PQclear(result);
  PQputCopyEnd(target.handle(), nullptr);
  uint64_t rows = 0;
  while (PGresult* raw = PQgetResult(target.handle())) {
    Result result(raw);
    if (result.Status() != PGRES_COMMAND_OK) throw target.MakeError(raw, kCopyIn);
    rows = result.AffectedRows();
  }
  return rows;
}

uint64_t RelayPipeline(Connection& source, Connection& target) {
  return RelayCopy(source, kCopyOut, target, kCopyIn, "bench_rows", nullptr, {}).rows;
}

// Keeps every column but rebuilds every row through a projection (the cost
// of a transform stage, such as masking, on the pipeline).
uint64_t RelayProjected(Connection& source, Connection& target) {
  Connections& connections = Open();
  std::vector<bool> keep(static_cast<size_t>(connections.columns), true);
  ProjectRows projection(StreamFormat::kBinary, keep);
  RowDigest digest;
  ServerCopySource reader(source, kCopyOut);
  ServerCopySink writer(target, kCopyIn);
  CopySink* const sinks[] = {&writer};
  CopyPipelineOptions options;
  options.transforms = {&projection};
  options.digest = &digest;
  CopyPipelineResult result = RunCopyPipeline(reader, sinks, options, {});
  if (result.failure) throw result.failure->error;
  return result.sinks[0].rows;
}

template <uint64_t (*Relay)(Connection&, Connection&)>
void BM_Relay(benchmark::State& state) {
  Connections& connections = Open();
  uint64_t rows = 0;
  for (auto _ : state) {
    state.PauseTiming();
    connections.target.Exec("TRUNCATE bench_copy");
    state.ResumeTiming();
    rows = Relay(connections.source, connections.target);
  }
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_TEMPLATE(BM_Relay, RelayBefore)
    ->Name("Relay/before_pipeline_f1a1539")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Relay, RelayPipeline)
    ->Name("Relay/pipeline")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Relay, RelayProjected)
    ->Name("Relay/pipeline_projection_digest")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace freshet
