#!/usr/bin/env bash
# Does `COPY ... FREEZE` pay? Times loading one large table of the reference
# workload on the dev server the way a bulk sync loads it (no indexes during
# the load), plain and with FREEZE, alternating, each time in a transaction
# that truncated the table first (what FREEZE requires), then what the load
# leaves for later: the first read (hint bits), the VACUUM autovacuum would
# run after a large insert, and the CHECKPOINT that writes it all out.
# Medians to bench/results/copy-freeze-*.md.
#
# Usage: bench/copy_freeze.sh [--scale N] [--runs K] [--workload DIR]
#                             [--table NAME] [--fsync-off]
#   --table: default the largest leaf table of the source
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1 runs=5 durable=1 table=""
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --table) table=$2; shift 2 ;;
    --fsync-off) durable=0; shift ;;
    *) echo "usage: $0 [--scale N] [--runs K] [--workload DIR] [--table NAME] [--fsync-off]" >&2; exit 2 ;;
  esac
done
workload=$(cd "$workload" && pwd)

"$repo/deploy/install-deps.sh"
CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-bench-XXXXXX")
source "$repo/bench/lib/bench_servers.sh"
now() { date +%s.%N; }
q() { "$PG_BIN/psql" "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"; }

if [[ -z $table ]]; then
  table=$(q "$prod" "SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    ORDER BY pg_relation_size(c.oid) DESC LIMIT 1")
fi
rows_file=$CLUSTERS_DIR/rows.bin
q "$prod" "COPY $table TO '$rows_file' (FORMAT binary)"
reset_dev dev
# The table as a bulk sync loads it: its columns, no indexes or constraints.
q "$dev" "CREATE TABLE bench_load (LIKE $table INCLUDING DEFAULTS)"
rows=$(q "$prod" "SELECT count(*) FROM $table")
heap=$(q "$prod" "SELECT pg_size_pretty(pg_relation_size('$table'))")

declare -A times
run() {  # plain|freeze
  local option="" t0 t1 t2 t3 t4
  [[ $1 == freeze ]] && option=", FREEZE"
  q "$dev" "CHECKPOINT"
  t0=$(now)
  "$PG_BIN/psql" "$dev" -Xq -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
TRUNCATE bench_load;
COPY bench_load FROM '$rows_file' (FORMAT binary$option);
COMMIT;
SQL
  t1=$(now)
  q "$dev" "SELECT count(*) FROM bench_load" >/dev/null
  t2=$(now)
  q "$dev" "VACUUM bench_load"
  t3=$(now)
  q "$dev" "CHECKPOINT"
  t4=$(now)
  times[$1_load]+="$(echo "$t1 - $t0" | bc -l) "
  times[$1_read]+="$(echo "$t2 - $t1" | bc -l) "
  times[$1_vacuum]+="$(echo "$t3 - $t2" | bc -l) "
  times[$1_checkpoint]+="$(echo "$t4 - $t3" | bc -l) "
  times[$1_total]+="$(echo "$t4 - $t0" | bc -l) "
  printf 'run %s: load %.1f s, total %.1f s\n' "$1" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$t4 - $t0" | bc -l)" >&2
}
for ((k = 1; k <= runs; k++)); do
  if ((k % 2)); then run plain; run freeze; else run freeze; run plain; fi
done

source "$repo/bench/lib/stats.sh"
mkdir -p "$repo/bench/results"
durability=$( ((durable)) && echo durable || echo fsync-off)
result=$repo/bench/results/copy-freeze-scale$scale-$durability-$(date -u +%Y%m%dT%H%M%SZ).md
command_line="bench/copy_freeze.sh --scale $scale --runs $runs --table $table"
((durable)) || command_line+=" --fsync-off"
{
  echo "# COPY FREEZE against plain COPY, scale $scale"
  echo
  echo "Command: \`$command_line\` ($(date -u +%Y-%m-%dT%H:%MZ), freshet $(git -C "$repo" rev-parse --short HEAD))"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$PG_BIN/postgres" --version)"
  echo "Servers: ${settings[*]}. Table $table: $rows rows, heap $heap; binary COPY from a server-side file, one stream, no indexes."
  echo
  echo "| step (median s) | plain | FREEZE | FREEZE/plain |"
  echo "| --- | ---: | ---: | ---: |"
  for step in load read vacuum checkpoint total; do
    p=$(echo "${times[plain_$step]}" | median) f=$(echo "${times[freeze_$step]}" | median)
    printf '| %s | %.2f | %.2f | %s |\n' "$step" "$p" "$f" \
      "$(if (($(echo "$p > 0.05" | bc -l))); then printf %.2f "$(echo "$f / $p" | bc -l)"; else echo -; fi)"
  done
  echo
  echo "Steps: load = BEGIN; TRUNCATE; COPY; COMMIT. read = the first SELECT count(*) (sets hint bits)."
  echo "vacuum = VACUUM (what autovacuum runs after a large insert). checkpoint = writing it all out."
  echo "Runs: $runs, alternating. Raw seconds:"
  for key in plain_load freeze_load plain_total freeze_total; do echo "- $key: ${times[$key]}"; done
} | tee "$result"
echo "written: $result" >&2
