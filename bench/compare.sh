#!/usr/bin/env bash
# Times the ways to refresh a dev database from prod on the reference
# workload, in one run, alternating contenders, rebuilding dev identically
# (from a template) before each run, and verifying every result equal to prod:
#   a) pg_dump -Fc + TRUNCATE + pg_restore --data-only --disable-triggers
#   b) pg_dump -Fd -j2 + TRUNCATE + pg_restore -j2 --data-only --disable-triggers
#   c) freshet sync
#   p) freshet sync of another build (--baseline BIN: the commit before a
#      change), to show a change costs nothing
# and the snapshot workflow against the dump file it replaces:
#   s) freshet snapshot capture          vs  the pg_dump -Fc step of (a)
#   r) freshet snapshot restore (1 dev)  vs  the TRUNCATE + pg_restore step of (a)
#   m) freshet snapshot restore into 3 dev databases in one command  vs
#   n) 3 separate freshet snapshot restores into them, one after another
#   q) the --baseline build's snapshot restore (1 dev), against r)
# Prints medians, min-max and the ratios, with freshet's CPU seconds and peak
# RSS (/usr/bin/time -v), and writes them to bench/results/.
#
# Usage: bench/compare.sh [--scale N] [--runs K] [--workload DIR] [--jobs J]
#                         [--no-snapshots | --snapshots-only] [--baseline BIN]
#                         [--fsync-off]
#   --snapshots-only: a), s), r), m) and n) only (the snapshot goals' anchors)
#   --fsync-off: servers with fsync, synchronous_commit and full_page_writes
#     off (a throwaway setup); by default they keep them on, as users' dev
#     and preview servers do
#
# bench/compare.sh --incremental [ARGS]: the incremental contenders instead
# (full sync, sync --incremental, sync --incremental --diff '*' after rounds
# of changes.sql); see bench/incremental.sh for ARGS.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ${1:-} == --incremental ]]; then shift; exec "$repo/bench/incremental.sh" "$@"; fi
scale=1 runs=3 jobs=4 snapshots=1 syncs=1 baseline="" durable=1
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --no-snapshots) snapshots=0; shift ;;
    --snapshots-only) syncs=0; shift ;;
    --baseline) baseline=$(realpath "$2"); shift 2 ;;
    --fsync-off) durable=0; shift ;;
    *) echo "usage: $0 [--scale N] [--runs K] [--workload DIR] [--jobs J] [--no-snapshots | --snapshots-only] [--baseline BIN] [--fsync-off]" >&2; exit 2 ;;
  esac
done
workload=$(cd "$workload" && pwd)
command_line="bench/compare.sh --scale $scale --runs $runs --jobs $jobs"
((snapshots)) || command_line+=" --no-snapshots"
((syncs)) || command_line+=" --snapshots-only"
[[ -z $baseline ]] || command_line+=" --baseline $baseline"
((durable)) || command_line+=" --fsync-off"
[[ -z $baseline || -x $baseline ]] || { echo "--baseline $baseline is not an executable" >&2; exit 2; }
((snapshots || syncs)) || { echo "--no-snapshots and --snapshots-only leave nothing to run" >&2; exit 2; }

"$repo/deploy/install-deps.sh"
build=${FRESHET_BUILD_DIR:-$repo/build}
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target freshet >/dev/null
freshet=$build/freshet

CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-bench-XXXXXX")
source "$repo/bench/lib/bench_servers.sh"
# What the CI job truncates by hand today: every table the dump restores.
truncate_dev() {
  psql_q "$dev" -c "TRUNCATE $("$PG_BIN/psql" "$dev" -XAtc "SELECT string_agg(format('%I.%I',
    n.nspname, c.relname), ', ') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ((n.nspname = 'public' AND
    c.relname <> 'feature_flags') OR (n.nspname = 'auth' AND c.relname = 'users'))")"
}
dump_tables=(-t 'public.*' -t auth.users)
scratch=$CLUSTERS_DIR/scratch
now() { date +%s.%N; }
run_a() {
  local t0 t1
  t0=$(now)
  "$PG_BIN/pg_dump" -Fc "${dump_tables[@]}" -f "$scratch.dump" "$prod"
  t1=$(now)
  truncate_dev
  "$PG_BIN/pg_restore" --data-only --disable-triggers -d "$dev" "$scratch.dump"
  times[a_dump]+="$(printf %.2f "$(echo "$t1 - $t0" | bc -l)") "
  times[a_restore]+="$(printf %.2f "$(echo "$(now) - $t1" | bc -l)") "
  dump_size=$(stat -c %s "$scratch.dump")
  rm -f "$scratch.dump"
}
run_b() {
  "$PG_BIN/pg_dump" -Fd -j2 "${dump_tables[@]}" -f "$scratch.dir" "$prod"
  truncate_dev
  "$PG_BIN/pg_restore" -j2 --data-only --disable-triggers -d "$dev" "$scratch.dir"
  rm -rf "$scratch.dir"
}
sync_with() {  # binary
  /usr/bin/time -v -o "$scratch.time" "$1" -q sync --from "$prod" --to "$dev" \
    --include auth.users --jobs "$jobs" 2>"$scratch.err" || { cat "$scratch.err" >&2; return 1; }
  cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$scratch.time")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$scratch.time")
}
run_c() { sync_with "$freshet"; }
run_p() { sync_with "$baseline"; }

snapshot_dir=$CLUSTERS_DIR/snapshot
run_s() {
  rm -rf "$snapshot_dir"
  /usr/bin/time -v -o "$scratch.time" "$freshet" -q snapshot capture --from "$prod" \
    --out "$snapshot_dir" --include auth.users --jobs "$jobs" 2>"$scratch.err" ||
    { cat "$scratch.err" >&2; return 1; }
  snapshot_size=$(du -sb "$snapshot_dir" | cut -f1)
  capture_rss+=("$(awk -F': ' '/Maximum resident/ {print $2}' "$scratch.time")")
}
run_r() {
  "$freshet" -q snapshot restore "$snapshot_dir" --to "$dev" --jobs "$jobs" 2>"$scratch.err" ||
    { cat "$scratch.err" >&2; return 1; }
}
run_q() {
  "$baseline" -q snapshot restore "$snapshot_dir" --to "$dev" --jobs "$jobs" 2>"$scratch.err" ||
    { cat "$scratch.err" >&2; return 1; }
}
run_m() {
  "$freshet" -q snapshot restore "$snapshot_dir" --to "$dev" --to "${dev%/dev}/dev2" \
    --to "${dev%/dev}/dev3" --jobs "$jobs" 2>"$scratch.err" || { cat "$scratch.err" >&2; return 1; }
}
run_n() {
  local name
  for name in dev dev2 dev3; do
    "$freshet" -q snapshot restore "$snapshot_dir" --to "${dev%/dev}/$name" --jobs "$jobs" \
      2>"$scratch.err" || { cat "$scratch.err" >&2; return 1; }
  done
}
verify_dev() {  # database name
  "$freshet" -q verify --from "$prod" --to "${dev%/dev}/$1" --include auth.users >/dev/null \
    2>"$scratch.verify" || { echo "$1 differs from prod" >&2; cat "$scratch.verify" >&2; return 1; }
}

declare -A times
freshet_cpu=() freshet_rss=() capture_rss=() baseline_cpu=() baseline_rss=()
for ((k = 1; k <= runs; k++)); do
  # Alternate the order so no contender always runs on a warmer cache. The
  # capture comes first in every round: the restores read it.
  if ((k % 2)); then order=(a b c); else order=(c b a); fi
  if [[ -n $baseline ]]; then
    if ((k % 2)); then order=(a b c p); else order=(p c b a); fi
  fi
  if ((snapshots)); then
    if ((k % 2)); then order=(s a b c r m n); else order=(s n m r c b a); fi
    ((syncs)) || if ((k % 2)); then order=(s a r m n); else order=(s n m r a); fi
    if [[ -n $baseline ]]; then
      if ((k % 2)); then order=(s a b c p r q m n); else order=(s n m q r p c b a); fi
      ((syncs)) || if ((k % 2)); then order=(s a r q m n); else order=(s n m q r a); fi
    fi
  fi
  for contender in "${order[@]}"; do
    if [[ $contender == [mn] ]]; then reset_dev dev dev2 dev3; elif [[ $contender != s ]]; then reset_dev; fi
    start=$(now)
    "run_$contender"
    seconds=$(echo "$(now) - $start" | bc -l)
    if [[ $contender == [mn] ]]; then
      for name in dev dev2 dev3; do verify_dev "$name" || exit 1; done
    elif [[ $contender != s ]]; then
      verify_dev dev || { echo "run $k ($contender)" >&2; exit 1; }
    fi
    times[$contender]+="$(printf %.2f "$seconds") "
    if [[ $contender == c ]]; then freshet_cpu+=("$cpu"); freshet_rss+=("$rss"); fi
    if [[ $contender == p ]]; then baseline_cpu+=("$cpu"); baseline_rss+=("$rss"); fi
    printf 'run %d %s: %.1f s%s\n' "$k" "$contender" "$seconds" \
      "$([[ $contender == s ]] || echo ' (verified equal)')" >&2
  done
done

source "$repo/bench/lib/stats.sh"
ma=$(echo "${times[a]}" | median)
mb=$(echo "${times[b]:-0}" | median) mc=$(echo "${times[c]:-0}" | median)
fmt1() { printf "%.1f" "$1"; }
cpu_median=$(echo "${freshet_cpu[*]:-0}" | median)
rss_max=$(printf '%s\n' "${freshet_rss[@]:-0}" | sort -n | tail -1)

mkdir -p "$repo/bench/results"
durability=$( ((durable)) && echo durable || echo fsync-off)
result=$repo/bench/results/compare-scale$scale-$durability-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# Refresh comparison, scale $scale"
  echo
  echo "Command: \`$command_line\` ($(date -u +%Y-%m-%dT%H:%MZ), freshet $(git -C "$repo" rev-parse --short HEAD))"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$PG_BIN/postgres" --version)"
  echo "Servers: both local (loopback), ${settings[*]}. Prod database: $prod_size."
  echo
  echo "| contender | median s | min-max s |"
  echo "| --- | ---: | ---: |"
  echo "| a) pg_dump -Fc + TRUNCATE + pg_restore --data-only --disable-triggers | $(fmt1 "$ma") | $(echo "${times[a]}" | minmax) |"
  if ((syncs)); then
    echo "| b) pg_dump -Fd -j2 + TRUNCATE + pg_restore -j2 --data-only --disable-triggers | $(fmt1 "$mb") | $(echo "${times[b]}" | minmax) |"
    echo "| c) freshet sync --jobs $jobs | $(fmt1 "$mc") | $(echo "${times[c]}" | minmax) |"
    echo
    printf 'Ratios (medians): c/a = %.2f, c/b = %.2f\n\n' "$(echo "$mc / $ma" | bc -l)" "$(echo "$mc / $mb" | bc -l)"
    printf 'freshet: CPU (user+sys) median %.1f s = %.0f%% of its wall time; peak RSS %d MB\n' \
      "$cpu_median" "$(echo "100 * $cpu_median / $mc" | bc -l)" "$((rss_max / 1024))"
    if [[ -n $baseline ]]; then
      mp=$(echo "${times[p]}" | median)
      echo
      echo "| p) baseline freshet sync --jobs $jobs ($baseline) | $(fmt1 "$mp") | $(echo "${times[p]}" | minmax) |"
      echo
      printf 'This build against the baseline (medians): c/p = %.2f; baseline CPU median %.1f s, peak RSS %d MB\n' \
        "$(echo "$mc / $mp" | bc -l)" "$(echo "${baseline_cpu[*]}" | median)" \
        "$(($(printf '%s\n' "${baseline_rss[@]}" | sort -n | tail -1) / 1024))"
    fi
  else
    echo
  fi
  echo "pg_dump -Fc file: $((dump_size / 1048576)) MB. Runs: $runs, alternating; every run verified equal to prod."
  echo "Raw seconds: a: ${times[a]}| b: ${times[b]:-}| c: ${times[c]:-}| p: ${times[p]:-}"
  if ((snapshots)); then
    md=$(echo "${times[a_dump]}" | median) mr=$(echo "${times[a_restore]}" | median)
    ms=$(echo "${times[s]}" | median) mrr=$(echo "${times[r]}" | median) mm=$(echo "${times[m]}" | median)
    mn=$(echo "${times[n]}" | median)
    echo
    echo "## Snapshots against the dump file"
    echo
    echo "| step | median s | min-max s |"
    echo "| --- | ---: | ---: |"
    echo "| pg_dump -Fc (the dump half of a) | $(fmt1 "$md") | $(echo "${times[a_dump]}" | minmax) |"
    echo "| s) freshet snapshot capture --jobs $jobs | $(fmt1 "$ms") | $(echo "${times[s]}" | minmax) |"
    echo "| TRUNCATE + pg_restore --data-only --disable-triggers (the restore half of a) | $(fmt1 "$mr") | $(echo "${times[a_restore]}" | minmax) |"
    echo "| r) freshet snapshot restore, 1 target | $(fmt1 "$mrr") | $(echo "${times[r]}" | minmax) |"
    echo "| m) freshet snapshot restore, 3 targets in one command | $(fmt1 "$mm") | $(echo "${times[m]}" | minmax) |"
    echo "| n) 3 separate freshet snapshot restores, one after another | $(fmt1 "$mn") | $(echo "${times[n]}" | minmax) |"
    echo
    printf 'Ratios (medians): capture/pg_dump = %.2f; restore/pg_restore = %.2f; 3 targets in one command / 3 separate restores (m/n) = %.2f (m / 3 x r = %.2f)\n' \
      "$(echo "$ms / $md" | bc -l)" "$(echo "$mrr / $mr" | bc -l)" "$(echo "$mm / $mn" | bc -l)" \
      "$(echo "$mm / (3 * $mrr)" | bc -l)"
    printf 'Snapshot size: %d MB = %.2f x the pg_dump -Fc file; capture peak RSS %d MB\n' \
      "$((snapshot_size / 1048576))" "$(echo "$snapshot_size / $dump_size" | bc -l)" \
      "$(($(printf '%s\n' "${capture_rss[@]}" | sort -n | tail -1) / 1024))"
    if [[ -n $baseline ]]; then
      mq=$(echo "${times[q]}" | median)
      echo
      echo "| q) baseline snapshot restore, 1 target ($baseline) | $(fmt1 "$mq") | $(echo "${times[q]}" | minmax) |"
      echo
      printf 'This build against the baseline (medians): r/q = %.2f\n' "$(echo "$mrr / $mq" | bc -l)"
    fi
    echo "Raw seconds: dump: ${times[a_dump]}| pg_restore: ${times[a_restore]}| s: ${times[s]}| r: ${times[r]}| q: ${times[q]:-}| m: ${times[m]}| n: ${times[n]}"
  fi
} | tee "$result"
echo "written to $result" >&2
