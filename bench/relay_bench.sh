#!/usr/bin/env bash
# The COPY pipeline against the relay loop it replaced, on a real server:
# starts a throwaway PostgreSQL 15 cluster (durability on, as users' servers
# run), makes a table of ROWS workload-shaped rows (about 100 bytes each) in
# one database and an empty copy of it in another, and runs bench/relay_bench.cc
# with the three relays interleaved at random, REPS repetitions each. Prints
# Google Benchmark's table (medians are the ones to quote) and writes it,
# with the command, to bench/results/relay-<UTC time>.md.
#
# Usage: bench/relay_bench.sh [--rows N] [--reps N]   (defaults: 1000000, 7)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=1000000
reps=7
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) rows=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "usage: $0 [--rows N] [--reps N]" >&2; exit 2 ;;
  esac
done

"$repo/deploy/install-deps.sh"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$repo/build" -j"$(nproc)" --target freshet_relay_bench >/dev/null

export CLUSTERS_DIR
CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-relay-bench-XXXXXX")
# shellcheck source=deploy/lib/clusters.sh
source "$repo/deploy/lib/clusters.sh"
trap stop_clusters EXIT
port=$(free_port 56432)
start_cluster relay "$port" -c shared_buffers=1GB -c max_wal_size=8GB
server="postgresql://postgres@127.0.0.1:$port"
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@" >/dev/null; }
psql "$server/postgres" -c "CREATE DATABASE bench_source" -c "CREATE DATABASE bench_target"
table="(id bigint, name text, amount numeric(12,2), created timestamptz, email text,
        active boolean, note text)"
psql "$server/bench_source" -c "CREATE TABLE bench_rows $table" -c "
  INSERT INTO bench_rows
  SELECT g, 'customer ' || g, (g % 100000) / 100.0, '2024-01-01'::timestamptz + g * interval '1 minute',
         'user' || g || '@example.com', g % 3 = 0, CASE WHEN g % 5 = 0 THEN NULL ELSE md5(g::text) END
  FROM generate_series(1, $rows) g" -c "VACUUM ANALYZE bench_rows"
psql "$server/bench_target" -c "CREATE TABLE bench_copy $table"

command=("$repo/build/bench/freshet_relay_bench" --benchmark_repetitions="$reps"
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true)
out=$(FRESHET_BENCH_SOURCE="$server/bench_source" FRESHET_BENCH_TARGET="$server/bench_target" \
  "${command[@]}" 2>&1)
echo "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
result=$repo/bench/results/relay-$stamp.md
{
  echo "# Relay: the COPY pipeline against the loop before it ($stamp)"
  echo
  echo "Command: \`bench/relay_bench.sh --rows $rows --reps $reps\` at commit $(git -C "$repo" rev-parse --short HEAD)"
  echo "(one local PostgreSQL 15 cluster, fsync and synchronous_commit on; $(nproc) cores)."
  echo
  echo '```'
  echo "$out"
  echo '```'
} >"$result"
echo "written: $result"
