#!/usr/bin/env bash
# Restoring one snapshot into three targets: one command (targets one after
# another with --one-by-one, and all at once, the default) against one restore, alternating, every
# result verified equal to prod. Uses servers that already hold the reference
# workload (as bench/compare.sh builds them): prod, and a dev server with a
# database `dev_template` built by the workload's migrations.
#
# Usage: bench/snapshot_targets.sh --prod URL --dev-server URL [--runs K] [--jobs J]
#   --dev-server: a URL to the dev server's `postgres` database (owner rights)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=2 jobs=4 prod='' dev_server=''
while (($#)); do
  case $1 in
    --prod) prod=$2; shift 2 ;;
    --dev-server) dev_server=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "usage: $0 --prod URL --dev-server URL [--runs K] [--jobs J]" >&2; exit 2 ;;
  esac
done
[[ -n $prod && -n $dev_server ]] || { echo "--prod and --dev-server are required" >&2; exit 2; }
build=${FRESHET_BUILD_DIR:-$repo/build}
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target freshet >/dev/null
freshet=$build/freshet
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
base=${dev_server%/postgres}
psql_q() { "$PG_BIN/psql" "$1" -X -q -v ON_ERROR_STOP=1 "${@:2}" >/dev/null 2>&1; }
reset() { for name in "$@"; do
  psql_q "$dev_server" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)"
  psql_q "$dev_server" -c "CREATE DATABASE $name TEMPLATE dev_template"; done; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/freshet-targets-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
"$freshet" -q snapshot capture --from "$prod" --out "$scratch/snap" --include auth.users --jobs "$jobs"

one() { "$freshet" -q snapshot restore "$scratch/snap" --to "$base/dev" --jobs "$jobs"; }
three() { "$freshet" -q snapshot restore "$scratch/snap" --to "$base/dev" --to "$base/dev2" \
  --to "$base/dev3" --jobs "$jobs" --one-by-one; }
three_parallel() { "$freshet" -q snapshot restore "$scratch/snap" --to "$base/dev" \
  --to "$base/dev2" --to "$base/dev3" --jobs "$jobs"; }
declare -A times
for ((k = 1; k <= runs; k++)); do
  if ((k % 2)); then order=(one three three_parallel); else order=(three_parallel three one); fi
  for contender in "${order[@]}"; do
    if [[ $contender == one ]]; then reset dev; else reset dev dev2 dev3; fi
    start=$(date +%s.%N)
    "$contender"
    seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
    names=(dev); [[ $contender == one ]] || names=(dev dev2 dev3)
    for name in "${names[@]}"; do
      "$freshet" -q verify --from "$prod" --to "$base/$name" --include auth.users >/dev/null
    done
    times[$contender]+="$(printf %.2f "$seconds") "
    printf 'run %d %s: %.1f s (verified equal)\n' "$k" "$contender" "$seconds" >&2
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
m1=$(echo "${times[one]}" | median) m3=$(echo "${times[three]}" | median)
mp=$(echo "${times[three_parallel]}" | median)
mkdir -p "$repo/bench/results"
result=$repo/bench/results/snapshot-targets-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# One snapshot into three targets"
  echo
  echo "Command: \`bench/snapshot_targets.sh --runs $runs --jobs $jobs\` on servers holding the reference workload ($(date -u +%Y-%m-%dT%H:%MZ), freshet $(git -C "$repo" rev-parse --short HEAD))"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); the three targets are databases of one local server."
  echo
  echo "| contender | median s | raw s |"
  echo "| --- | ---: | --- |"
  echo "| one restore (1 target) | $m1 | ${times[one]}|"
  echo "| 3 targets, one command, --one-by-one | $m3 | ${times[three]}|"
  echo "| 3 targets, one command (all at once, default) | $mp | ${times[three_parallel]}|"
  echo
  printf 'Ratios (medians) against 3 x one restore: --one-by-one %.2f, default (all at once) %.2f\n' \
    "$(echo "$m3 / (3 * $m1)" | bc -l)" "$(echo "$mp / (3 * $m1)" | bc -l)"
} | tee "$result"
