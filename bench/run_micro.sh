#!/usr/bin/env bash
# Builds and runs freshet's micro-benchmarks; extra arguments go to Google
# Benchmark (e.g. --benchmark_filter=OrderForLoad).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/deploy/install-deps.sh"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$repo/build" -j"$(nproc)" --target freshet_micro_bench
exec "$repo/build/bench/freshet_micro_bench" "$@"
