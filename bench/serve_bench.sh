#!/usr/bin/env bash
# The benchmarks of `freshet serve` (issue #15), on local durable servers:
#   1. the same prod->dev sync of the reference workload by `freshet sync` and
#      through the service (POST /v1/jobs/{job}/runs), alternating, while
#      pollers hit GET /v1/runs/{id} and SSE clients follow its events; medians,
#      the ratio service/CLI, the pollers' latency and errors (--quiet-service:
#      also service runs without pollers, to tell the service's own cost from
#      the polling's);
#   2. memory over many runs: a small job (two tiny tables) triggered one run
#      after the other, the service's VmRSS/VmHWM every K runs, the store's
#      size, and endpoint latency with that history;
#   3. the same pollers against a service with the default rate_limit.
# The measuring is bench/serve_bench.py, whose pollers and SSE clients are
# the native client bench/serve_load.cc (--loader); this script starts the
# servers, loads the workload and writes the configs.
# Results in bench/results/serve-*.md.
#
# Usage: bench/serve_bench.sh [--scale N] [--runs K] [--pollers P] [--sse S]
#          [--poll-interval SECONDS] [--memory-runs M] [--every K]
#          [--binary BIN] [--loader BIN] [--workload DIR] [--skip-sync] [--skip-memory]
#          [--quiet-service]
#   --binary: the freshet to measure (default build/freshet)
#   Clusters go under $TMPDIR (default /tmp).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1 runs=3 pollers=100 sse=10 interval=1 memory_runs=1000 every=50
do_sync=1 do_memory=1 quiet=0 binary=$repo/build/freshet
loader=$repo/build/bench/freshet_serve_load
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
usage="usage: $0 [--scale N] [--runs K] [--pollers P] [--sse S] [--poll-interval SECONDS] [--memory-runs M] [--every K] [--binary BIN] [--loader BIN] [--workload DIR] [--skip-sync] [--skip-memory] [--quiet-service]"
while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --pollers) pollers=$2; shift 2 ;;
    --sse) sse=$2; shift 2 ;;
    --poll-interval) interval=$2; shift 2 ;;
    --memory-runs) memory_runs=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --binary) binary=$(realpath "$2"); shift 2 ;;
    --loader) loader=$(realpath "$2"); shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --skip-sync) do_sync=0; shift ;;
    --skip-memory) do_memory=0; shift ;;
    --quiet-service) quiet=1; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
[[ -x $binary ]] || { echo "$binary is not an executable (--binary)" >&2; exit 2; }
[[ -x $loader ]] || {
  echo "$loader is not an executable (--loader; build it: cmake --build build --target freshet_serve_load)" >&2
  exit 2
}
workload=$(cd "$workload" && pwd)
command_line="bench/serve_bench.sh --scale $scale --runs $runs --pollers $pollers --sse $sse"
command_line+=" --poll-interval $interval --memory-runs $memory_runs --every $every --binary $binary"
command_line+=" --loader $loader"
((do_sync)) || command_line+=" --skip-sync"
((do_memory)) || command_line+=" --skip-memory"
quiet_flag=()
if ((quiet)); then command_line+=" --quiet-service" quiet_flag=(--quiet-service); fi

"$repo/deploy/install-deps.sh"
CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-serve-bench-XXXXXX")
durable=1  # the servers keep fsync on (bench/lib/servers.sh)
if ((do_sync)); then
  source "$repo/bench/lib/bench_servers.sh"
else  # the same servers without the workload: the small job needs no more
  source "$repo/bench/lib/servers.sh"
  start_servers "$durable" 56432 -c max_connections=50
  source "$repo/bench/lib/workload.sh"  # psql_q
  prod_size="(not loaded)"
fi
export PATH=$PG_BIN:$PATH

# The small job's databases: two tiny tables with a foreign key, the same
# schema on both sides; each run copies them whole.
tiny_schema="CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent, note text);"
psql_q "${prod%/prod}/postgres" -c "CREATE DATABASE tiny"
psql_q "${dev%/dev}/postgres" -c "CREATE DATABASE tiny"
psql_q "${prod%/prod}/tiny" -c "$tiny_schema" \
  -c "INSERT INTO parent SELECT g, 'parent ' || g FROM generate_series(1, 100) g" \
  -c "INSERT INTO child SELECT g, 1 + g % 100, md5(g::text) FROM generate_series(1, 1000) g" \
  -c "VACUUM ANALYZE"
psql_q "${dev%/dev}/tiny" -c "$tiny_schema"

service_port=$(free_port 57432)
write_config() {  # FILE [service lines...]
  local file=$1
  {
    printf '[sources.prod]\nurl = "%s"\n[targets.dev]\nurl = "%s"\n' "$prod" "$dev"
    printf '[sources.tiny_prod]\nurl = "%s"\n[targets.tiny_dev]\nurl = "%s"\n' \
      "${prod%/prod}/tiny" "${dev%/dev}/tiny"
    printf '\n[service]\nmax_running = 2\n'
    printf '%s\n' "${@:2}"
    printf '\n[jobs.refresh-dev]\nkind = "sync"\nfrom = "prod"\nto = "dev"\n'
    printf 'include = ["auth.users"]\njobs = 4\n'
    printf '\n[jobs.tiny]\nkind = "sync"\nfrom = "tiny_prod"\nto = "tiny_dev"\n'
  } >"$file"
}
# 100 pollers from one address at 1/s are over the default 50 requests per
# second per address (burst 200): the measured service allows far more.
write_config "$CLUSTERS_DIR/serve.toml" "rate_limit = 100000"
write_config "$CLUSTERS_DIR/serve-defaults.toml"

bench=(/usr/bin/python3 "$repo/bench/serve_bench.py")
common=(--binary "$binary" --port "$service_port")
# Outside CLUSTERS_DIR (removed at exit): the services' logs, and the
# sections already measured if a later step fails.
logs=$(mktemp -d "${TMPDIR:-/tmp}/freshet-serve-bench-logs-XXXXXX")
sections=$logs/sections.md
: >"$sections"
if ((do_sync)); then
  "${bench[@]}" sync "${common[@]}" --config "$CLUSTERS_DIR/serve.toml" \
    --store "$CLUSTERS_DIR/sync.db" --log "$logs/serve-sync.log" --job refresh-dev \
    --runs "$runs" --loader "$loader" --pollers "$pollers" --sse "$sse" --poll-interval "$interval" \
    --source prod --target dev --sync-args "--include auth.users --jobs 4" \
    --dev-admin "$dev_admin" --prod-admin "${prod%/prod}/postgres" "${quiet_flag[@]}" >>"$sections"
fi
if ((do_memory)); then
  "${bench[@]}" memory "${common[@]}" --config "$CLUSTERS_DIR/serve.toml" \
    --store "$CLUSTERS_DIR/memory.db" --log "$logs/serve-memory.log" --job tiny \
    --runs "$memory_runs" --every "$every" --warmup $((memory_runs / 10)) \
    >>"$sections"
fi
"${bench[@]}" limits "${common[@]}" --config "$CLUSTERS_DIR/serve-defaults.toml" \
  --store "$CLUSTERS_DIR/limits.db" --log "$logs/serve-limits.log" --job tiny \
  --loader "$loader" --pollers "$pollers" --poll-interval "$interval" >>"$sections"

mkdir -p "$repo/bench/results"
result=$repo/bench/results/serve-scale$scale-durable-$(date -u +%Y%m%dT%H%M%SZ).md
{
  title="freshet serve:"
  if ((do_sync)); then title+=" sync through the API under polling;"; fi
  if ((do_memory)); then title+=" memory over $memory_runs runs;"; fi
  echo "# $title the default rate limit"
  echo
  echo "Command: \`$command_line\` ($(date -u +%Y-%m-%dT%H:%MZ), freshet $("$binary" --version | head -1))"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$PG_BIN/postgres" --version); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "Servers: both local (loopback), ${settings[*]}. Prod database: $prod_size. Service, pollers and both servers share the cores, with whatever else the machine runs: compare the alternating runs' ratio, not the seconds."
  echo
  cat "$sections"
} | tee "$result"
echo "written: $result (the services' logs: $logs)" >&2
