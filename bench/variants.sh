#!/usr/bin/env bash
# Times variants of `freshet sync` against each other on the reference
# workload: other builds (an A/B of one setting) or other options (job
# counts), alternating their order run by run, rebuilding dev identically
# (from a template) before each, and verifying every result equal to prod.
# Prints medians, min-max and each variant's ratio to the first, and writes
# them to bench/results/variants-*.md.
#
# Usage: bench/variants.sh [--scale N] [--runs K] [--workload DIR] [--fsync-off]
#                          [--title TEXT] NAME=BINARY[:OPTIONS] ...
#   NAME=BINARY[:OPTIONS]: a freshet binary and options added to
#     `sync --from PROD --to DEV --include auth.users` (default --jobs 4),
#     e.g. j2=build/freshet:"--jobs 2"  no-freeze=/tmp/freshet-a
#   --fsync-off: servers with fsync, synchronous_commit and full_page_writes
#     off; by default they keep them on, as users' dev servers do
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1 runs=3 durable=1 title="freshet sync variants"
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
names=() binaries=() options=()
usage="usage: $0 [--scale N] [--runs K] [--workload DIR] [--fsync-off] [--title TEXT] NAME=BINARY[:OPTIONS] ..."
while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --fsync-off) durable=0; shift ;;
    --title) title=$2; shift 2 ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *=*)
      spec=${1#*=} binary=${spec%%:*}
      [[ -x $binary ]] || { echo "$1: $binary is not an executable" >&2; exit 2; }
      names+=("${1%%=*}") binaries+=("$(realpath "$binary")")
      if [[ $spec == *:* ]]; then options+=("${spec#*:}"); else options+=(""); fi
      [[ ${options[-1]} == *--jobs* ]] || options[-1]+=" --jobs 4"
      shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
((${#names[@]} >= 2)) || { echo "$usage (two variants or more)" >&2; exit 2; }
workload=$(cd "$workload" && pwd)

"$repo/deploy/install-deps.sh"
CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-bench-XXXXXX")
source "$repo/bench/lib/bench_servers.sh"
scratch=$CLUSTERS_DIR/scratch
now() { date +%s.%N; }

sync_variant() {  # index
  local -a extra
  read -r -a extra <<<"${options[$1]}"
  "${binaries[$1]}" -q sync --from "$prod" --to "$dev" --include auth.users "${extra[@]}" \
    2>"$scratch.err" || { cat "$scratch.err" >&2; return 1; }
}
verify_dev() {  # index (for the message)
  "${binaries[0]}" -q verify --from "$prod" --to "$dev" --include auth.users >/dev/null \
    2>"$scratch.verify" || { echo "${names[$1]}: dev differs from prod" >&2; cat "$scratch.verify" >&2; return 1; }
}

declare -A times
for ((k = 1; k <= runs; k++)); do
  order=$(seq 0 $((${#names[@]} - 1)))
  ((k % 2)) || order=$(echo "$order" | tac)
  for i in $order; do
    reset_dev dev
    start=$(now)
    sync_variant "$i"
    seconds=$(echo "$(now) - $start" | bc -l)
    verify_dev "$i"
    times[$i]+="$(printf %.2f "$seconds") "
    printf 'run %d %s: %.1f s (verified equal)\n' "$k" "${names[$i]}" "$seconds" >&2
  done
done

source "$repo/bench/lib/stats.sh"
# Per run, each variant's time over the first's in the same run.
paired() {  # index
  paste -d/ <(echo "${times[$1]}" | tr ' ' '\n' | grep -v '^$') \
    <(echo "${times[0]}" | tr ' ' '\n' | grep -v '^$') | while read -r pair; do
    printf '%.2f ' "$(echo "$pair" | bc -l)"
  done
}

mkdir -p "$repo/bench/results"
durability=$( ((durable)) && echo durable || echo fsync-off)
result=$repo/bench/results/variants-scale$scale-$durability-$(date -u +%Y%m%dT%H%M%SZ).md
command_line="bench/variants.sh --scale $scale --runs $runs"
((durable)) || command_line+=" --fsync-off"
command_line+=" --title '$title'"
for i in "${!names[@]}"; do command_line+=" ${names[$i]}=${binaries[$i]}:'${options[$i]# }'"; done
first=$(echo "${times[0]}" | median)
{
  echo "# $title, scale $scale"
  echo
  echo "Command: \`$command_line\` ($(date -u +%Y-%m-%dT%H:%MZ), freshet $(git -C "$repo" rev-parse --short HEAD))"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$PG_BIN/postgres" --version)"
  echo "Servers: both local (loopback), ${settings[*]}. Prod database: $prod_size."
  echo
  echo "| variant | options | median s | min-max s | ratio to ${names[0]} (medians) | per run |"
  echo "| --- | --- | ---: | ---: | ---: | --- |"
  for i in "${!names[@]}"; do
    m=$(echo "${times[$i]}" | median)
    # shellcheck disable=SC2016  # backquotes for Markdown
    printf '| %s | `%s` | %.1f | %s | %.2f | %s|\n' "${names[$i]}" "${options[$i]# }" "$m" \
      "$(echo "${times[$i]}" | minmax)" "$(echo "$m / $first" | bc -l)" "$(paired "$i")"
  done
  echo
  echo "Runs: $runs, order alternating; every run verified equal to prod (not timed)."
  for i in "${!names[@]}"; do echo "Raw seconds ${names[$i]} (${binaries[$i]}): ${times[$i]}"; done
} | tee "$result"
echo "written: $result" >&2
