#!/usr/bin/env bash
# Incremental sync against the full sync it replaces, on the reference
# workload with the production churn of changes.sql, in one run:
#   F) freshet sync (full) of the churned prod into a fresh copy of dev
#   I) freshet sync --incremental (modes as planned: watermark where a column
#      like updated_at exists, diff for auth.users, whole-row diff for the
#      table without a primary key)
#   D) freshet sync --incremental --diff '*' (every table compared row by row)
# Each run k: prod reset from its template, dev refreshed by a full sync
# (which records the state), copied to dev2; then for round r = 1..ROUNDS:
# changes.sql -v pct=PCT -v round=r on prod (untimed), every prod table read
# once (untimed: sets the hint bits, as a live server's own reads do long
# before a weekly refresh), then F into dev3 (recreated from the stale dev
# template, untimed), I into dev and D into dev2, in an order that rotates
# with k + r. All three read the same data. Every I and D result is checked
# by `freshet verify` and, after the last round, by an independent psql
# digest of every shared table.
# Writes medians over all rounds, ratios against F, bytes (from the JSON
# reports) and the delete detection on public.activities to bench/results/.
#
# Usage: bench/incremental.sh [--scale N] [--runs K] [--rounds R] [--pct P]
#                             [--workload DIR] [--jobs J] [--fsync-off]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1 runs=3 rounds=3 pct=1 jobs=4 durable=1
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --pct) pct=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --fsync-off) durable=0; shift ;;
    *) echo "usage: $0 [--scale N] [--runs K] [--rounds R] [--pct P] [--workload DIR] [--jobs J] [--fsync-off]" >&2; exit 2 ;;
  esac
done
workload=$(cd "$workload" && pwd)
command_line="bench/incremental.sh --scale $scale --runs $runs --rounds $rounds --pct $pct --jobs $jobs"
((durable)) || command_line+=" --fsync-off"

"$repo/deploy/install-deps.sh"
build=${FRESHET_BUILD_DIR:-$repo/build}
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target freshet >/dev/null
freshet=$build/freshet

CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-bench-XXXXXX")
source "$repo/bench/lib/bench_servers.sh"
source "$repo/bench/lib/stats.sh"
prod_admin=${prod%/prod}/postgres
psql_q "$prod_admin" -c "CREATE DATABASE prod_template TEMPLATE prod"
scratch=$CLUSTERS_DIR/scratch
now() { date +%s.%N; }

reset_prod() {
  psql_q "$prod_admin" -c "DROP DATABASE IF EXISTS prod WITH (FORCE)"
  psql_q "$prod_admin" -c "CREATE DATABASE prod TEMPLATE prod_template"
}
# Runs freshet sync into database $1 with the remaining arguments; sets
# seconds, bytes (rows moved) and compared (hashes and keys read).
sync_into() {
  local db=$1 start
  shift
  start=$(now)
  "$freshet" -q sync --from "$prod" --to "${dev%/dev}/$db" --include auth.users --jobs "$jobs" \
    --report "$scratch.json" "$@" 2>"$scratch.err" || { cat "$scratch.err" >&2; return 1; }
  seconds=$(printf %.2f "$(echo "$(now) - $start" | bc -l)")
  bytes=$(jq '[.tables[].bytes] | add' "$scratch.json")
  compared=$(jq '[.tables[].compared_bytes // 0] | add' "$scratch.json")
}
verify_db() {
  "$freshet" -q verify --from "$prod" --to "${dev%/dev}/$1" --include auth.users >/dev/null \
    2>"$scratch.verify" || { echo "$1 differs from prod" >&2; cat "$scratch.verify" >&2; return 1; }
}
# count and sum of a hash of each row's text over the columns both sides
# copy (not generated on dev), per top-level table, computed by psql alone.
columns_of() {  # url table
  "$PG_BIN/psql" "$1" -XAtc "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid =
    '$2'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attname"
}
digest() {  # url
  local table columns
  for table in $("$PG_BIN/psql" "$prod" -XAtc "SELECT format('%I.%I', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')
      AND NOT c.relispartition AND (n.nspname = 'public' OR (n.nspname, c.relname) = ('auth',
      'users')) ORDER BY 1"); do
    columns=$(comm -12 <(columns_of "$prod" "$table") <(columns_of "${dev%/dev}/dev" "$table") |
      paste -sd,)
    "$PG_BIN/psql" "$1" -XAtc "SELECT '$table', count(*), sum(hashtextextended(ROW($columns)::text,
      0)::numeric) FROM $table"
  done
}
check_digests() {
  local db
  digest "$prod" >"$scratch.prod"
  for db in dev dev2; do
    digest "${dev%/dev}/$db" >"$scratch.$db"
    diff -q "$scratch.prod" "$scratch.$db" >/dev/null ||
      { echo "psql digests differ for $db" >&2; diff "$scratch.prod" "$scratch.$db" >&2; return 1; }
  done
}

# Reads every prod table once, so no contender pays for the hint bits of
# the churn.
settle_prod() {
  local table
  for table in $("$PG_BIN/psql" "$prod" -XAtc "SELECT format('%I.%I', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'
      AND n.nspname IN ('public', 'auth')"); do
    psql_q "$prod" -c "SELECT count(*) FROM $table WHERE xmin IS NOT NULL" >/dev/null
  done
}
# public.activities in the last report: seconds, rows deleted.
activities_deletes() {
  jq -r '.tables[] | select(.table == "public.activities") | "\(.seconds) \(.deleted)"' \
    "$scratch.json"
}

declare -A times moved cmp
act_i="" act_d=""
for ((k = 1; k <= runs; k++)); do
  reset_prod
  reset_dev dev
  sync_into dev
  verify_db dev
  printf 'run %d: dev refreshed whole in %s s (verified equal)\n' "$k" "$seconds" >&2
  psql_q "$dev_admin" -c "DROP DATABASE IF EXISTS dev2 WITH (FORCE)"
  psql_q "$dev_admin" -c "CREATE DATABASE dev2 TEMPLATE dev"
  for ((r = 1; r <= rounds; r++)); do
    psql_q "$prod" -v pct="$pct" -v round="$r" -f "$workload/changes.sql"
    settle_prod
    reset_dev dev3
    case $(((k + r) % 3)) in
      0) order=(F I D) ;;
      1) order=(I D F) ;;
      *) order=(D F I) ;;
    esac
    for contender in "${order[@]}"; do
      case $contender in
        F) sync_into dev3; db="" ;;
        I) sync_into dev --incremental; db=dev; act_i+="$(activities_deletes);" ;;
        D) sync_into dev2 --incremental --diff '*'; db=dev2; act_d+="$(activities_deletes);" ;;
      esac
      [[ -z $db ]] || verify_db "$db"
      times[$contender]+="$seconds " moved[$contender]+="$bytes " cmp[$contender]+="$compared "
      printf 'run %d round %d %s: %s s, %s bytes moved, %s compared%s\n' "$k" "$r" "$contender" \
        "$seconds" "$bytes" "$compared" "${db:+ (verified equal)}" >&2
    done
  done
  check_digests
  echo "run $k: psql digests of every shared table equal on dev and dev2" >&2
done

mf=$(echo "${times[F]}" | median) mi=$(echo "${times[I]}" | median) md=$(echo "${times[D]}" | median)
bf=$(echo "${moved[F]}" | median) bi=$(echo "${moved[I]}" | median) bd=$(echo "${moved[D]}" | median)
ci=$(echo "${cmp[I]}" | median) cd=$(echo "${cmp[D]}" | median)
mb() { printf "%.1f" "$(echo "$1 / 1000000" | bc -l)"; }
mkdir -p "$repo/bench/results"
durability=$( ((durable)) && echo durable || echo fsync-off)
result=$repo/bench/results/incremental-scale$scale-$durability-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# Incremental sync against the full sync, scale $scale, churn $pct%"
  echo
  echo "Command: \`$command_line\` ($(date -u +%Y-%m-%dT%H:%MZ), freshet $(git -C "$repo" rev-parse --short HEAD))"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$PG_BIN/postgres" --version)"
  echo "Servers: both local (loopback), ${settings[*]}. Prod database: $prod_size."
  echo
  echo "| contender | runs | median s | min-max s | median MB moved | median MB compared |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  echo "| F) freshet sync (full) | $((runs * rounds)) | $(printf %.1f "$mf") | $(echo "${times[F]}" | minmax) | $(mb "$bf") | 0 |"
  echo "| I) freshet sync --incremental | $((runs * rounds)) | $(printf %.2f "$mi") | $(echo "${times[I]}" | minmax) | $(mb "$bi") | $(mb "$ci") |"
  echo "| D) freshet sync --incremental --diff '*' | $((runs * rounds)) | $(printf %.2f "$md") | $(echo "${times[D]}" | minmax) | $(mb "$bd") | $(mb "$cd") |"
  echo
  printf 'Ratios (medians): I/F time = %.3f (goal <= 0.05), I/F bytes moved = %.4f (goal <= 0.03), (moved + compared)/F = %.4f; D/F time = %.3f (goal <= 0.25)\n' \
    "$(echo "$mi / $mf" | bc -l)" "$(echo "$bi / $bf" | bc -l)" "$(echo "($bi + $ci) / $bf" | bc -l)" \
    "$(echo "$md / $mf" | bc -l)"
  echo
  echo "Every I and D result verified equal by freshet verify; after round $rounds of each run, psql digests of every shared table equal on both dev databases."
  echo "Delete detection on public.activities (3 M rows; seconds of its staging and merge share, rows deleted) per round: I: $act_i D: $act_d"
  echo "Raw seconds: F: ${times[F]}| I: ${times[I]}| D: ${times[D]}"
  echo "Raw bytes moved: F: ${moved[F]}| I: ${moved[I]}| D: ${moved[D]}"
  echo "Raw bytes compared: I: ${cmp[I]}| D: ${cmp[D]}"
} | tee "$result"
echo "written to $result" >&2
