#!/usr/bin/env bash
# One snapshot into three targets: one `freshet snapshot restore` command
# against three separate restores, in one run, alternating, every result
# verified equal to prod. Two cases:
#   one server:     three databases of one dev server (the default order, auto,
#                   restores them in turn; --targets together is timed too);
#   three servers:  one database on each of three dev servers, each server held
#                   to --cap cores with a CPU cgroup, standing in for separate
#                   machines (preview branches); auto restores them at once.
# Starts its own clusters (prod and three dev servers), loads the reference
# workload into prod at --scale, and gives every dev database the workload's
# dev schema and stale data (a template), rebuilt before each run.
#
# Usage: bench/snapshot_targets.sh [--scale N] [--runs K] [--jobs J] [--cap CORES] [--workload DIR]
# Needs root for the CPU cgroups (the three-server case is skipped without them).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1 runs=3 jobs=4 cap=0.6
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
usage="usage: $0 [--scale N] [--runs K] [--jobs J] [--cap CORES] [--workload DIR]"
while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --cap) cap=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
workload=$(cd "$workload" && pwd)
command_line="bench/snapshot_targets.sh --scale $scale --runs $runs --jobs $jobs --cap $cap"

"$repo/deploy/install-deps.sh"
build=${FRESHET_BUILD_DIR:-$repo/build}
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target freshet >/dev/null
freshet=$build/freshet

CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-targets-XXXXXX")
source "$repo/deploy/lib/clusters.sh"
cgroups=()
cleanup() {
  local group
  for group in "${cgroups[@]}"; do uncap "$group"; rmdir "$group" 2>/dev/null || true; done
  stop_clusters
}
trap cleanup EXIT
settings=(-c shared_buffers=1GB -c max_wal_size=8GB -c fsync=off -c synchronous_commit=off
          -c full_page_writes=off -c maintenance_work_mem=512MB -c max_connections=80)
port=$(free_port 57432)
start_cluster prod "$port" "${settings[@]}"
prod=postgresql://postgres@127.0.0.1:$port/prod
dev_ports=()
for s in 1 2 3; do
  port=$(free_port $((port + 1)))
  start_cluster "dev$s" "$port" "${settings[@]}"
  dev_ports+=("$port")
done
server() { echo "postgresql://postgres@127.0.0.1:${dev_ports[$(($1 - 1))]}"; }  # 1..3
source "$repo/bench/lib/workload.sh"
load_workload "${prod%/prod}" "$(server 1)" "$scale" "$workload"
for s in 2 3; do  # the same template on the other servers: roles, then the database
  "$PG_BIN/pg_dumpall" -d "$(server 1)/postgres" --roles-only 2>/dev/null |
    "$PG_BIN/psql" "$(server "$s")/postgres" -X -q >/dev/null 2>&1
  psql_q "$(server "$s")/postgres" -c "CREATE DATABASE dev_template"
  "$PG_BIN/pg_dump" -Fc "$(server 1)/dev_template" |
    "$PG_BIN/pg_restore" -d "$(server "$s")/dev_template" --exit-on-error
done

# CPU cgroups (v2 or v1) that hold a dev server to $cap cores.
cgroup_for() {  # server number -> cgroup directory, created; "" without cgroups
  local dir
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    dir=/sys/fs/cgroup/freshet-bench-dev$1
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
      echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || return 0
  else
    dir=/sys/fs/cgroup/cpu/freshet-bench-dev$1
  fi
  mkdir -p "$dir" 2>/dev/null || return 0
  echo "$dir"
}
cap_group() {  # dir
  local quota
  quota=$(echo "$cap * 100000 / 1" | bc)
  if [[ -f $1/cpu.max ]]; then echo "$quota 100000" >"$1/cpu.max"; else
    echo 100000 >"$1/cpu.cfs_period_us"; echo "$quota" >"$1/cpu.cfs_quota_us"; fi
}
uncap() {  # dir
  if [[ -f $1/cpu.max ]]; then echo "max 100000" >"$1/cpu.max" 2>/dev/null || true; else
    echo -1 >"$1/cpu.cfs_quota_us" 2>/dev/null || true; fi
}
three_servers=1
for s in 1 2 3; do
  group=$(cgroup_for "$s")
  if [[ -z $group ]]; then three_servers=0; break; fi
  cgroups+=("$group")
  postmaster=$(head -1 "$CLUSTERS_DIR/dev$s/postmaster.pid")
  for pid in "$postmaster" $(pgrep -P "$postmaster"); do echo "$pid" >"$group/cgroup.procs"; done
done
((three_servers)) || echo "no writable CPU cgroups: skipping the three-server case" >&2
cap_all() { local group; for group in "${cgroups[@]}"; do cap_group "$group"; done; }
uncap_all() { local group; for group in "${cgroups[@]}"; do uncap "$group"; done; }

reset() {  # server:database ...
  local target
  for target in "$@"; do
    psql_q "$(server "${target%%:*}")/postgres" -c "SET client_min_messages = warning" \
      -c "DROP DATABASE IF EXISTS ${target#*:} WITH (FORCE)"
    psql_q "$(server "${target%%:*}")/postgres" -c "CREATE DATABASE ${target#*:} TEMPLATE dev_template"
  done
}
url() { echo "$(server "${1%%:*}")/${1#*:}"; }
verify() {  # server:database ...
  local target
  for target in "$@"; do
    "$freshet" -q verify --from "$prod" --to "$(url "$target")" --include auth.users >/dev/null ||
      { echo "$target differs from prod" >&2; exit 1; }
  done
}
restore() {  # [options...] -- targets...
  local options=() to=()
  while [[ $1 != -- ]]; do options+=("$1"); shift; done
  shift
  for target in "$@"; do to+=(--to "$(url "$target")"); done
  "$freshet" -q snapshot restore "$snapshot" "${to[@]}" --jobs "$jobs" "${options[@]}" \
    2>"$CLUSTERS_DIR/restore.err" || { cat "$CLUSTERS_DIR/restore.err" >&2; return 1; }
}
now() { date +%s.%N; }

snapshot=$CLUSTERS_DIR/snapshot
"$freshet" -q snapshot capture --from "$prod" --out "$snapshot" --include auth.users --jobs "$jobs" \
  >/dev/null

one_server=(1:dev 1:dev2 1:dev3)
three_servers_targets=(1:dev 2:dev 3:dev)
declare -A times
run() {  # contender
  local targets capped=0 start seconds
  case $1 in
    one_separate | one_auto | one_together) targets=("${one_server[@]}") ;;
    three_separate | three_auto) targets=("${three_servers_targets[@]}"); capped=1 ;;
  esac
  reset "${targets[@]}"
  ((capped)) && cap_all
  start=$(now)
  case $1 in
    one_separate | three_separate) for target in "${targets[@]}"; do restore -- "$target"; done ;;
    one_auto | three_auto) restore -- "${targets[@]}" ;;
    one_together) restore --targets together -- "${targets[@]}" ;;
  esac
  seconds=$(echo "$(now) - $start" | bc -l)
  ((capped)) && uncap_all
  verify "${targets[@]}"
  times[$1]+="$(printf %.2f "$seconds") "
  printf 'run %d %s: %.1f s (verified equal)\n' "$k" "$1" "$seconds" >&2
}
contenders=(one_separate one_auto one_together)
((three_servers)) && contenders+=(three_separate three_auto)
for ((k = 1; k <= runs; k++)); do
  order=("${contenders[@]}")
  if ((k % 2 == 0)); then  # alternate: reversed every other round
    order=(); for ((i = ${#contenders[@]} - 1; i >= 0; i--)); do order+=("${contenders[$i]}"); done
  fi
  for contender in "${order[@]}"; do run "$contender"; done
done

source "$repo/bench/lib/stats.sh"
m() { echo "${times[$1]}" | median; }
ratio() { printf '%.2f' "$(echo "$(m "$1") / $(m "$2")" | bc -l)"; }
mkdir -p "$repo/bench/results"
result=$repo/bench/results/snapshot-targets-scale$scale-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# One snapshot into three targets, scale $scale"
  echo
  echo "Command: \`$command_line\` ($(date -u +%Y-%m-%dT%H:%MZ), freshet $(git -C "$repo" rev-parse --short HEAD))"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $("$PG_BIN/postgres" --version); servers local, ${settings[*]}"
  echo "Snapshot: $(du -sh "$snapshot" | cut -f1). Runs: $runs, alternating; every result verified equal to prod with \`freshet verify\`."
  echo
  echo "| case | contender | median s | raw s |"
  echo "| --- | --- | ---: | --- |"
  echo "| one server | 3 separate restores (one per database) | $(m one_separate) | ${times[one_separate]}|"
  echo "| one server | one command (default: in turn) | $(m one_auto) | ${times[one_auto]}|"
  echo "| one server | one command, --targets together | $(m one_together) | ${times[one_together]}|"
  if ((three_servers)); then
    echo "| three servers, $cap cores each | 3 separate restores (one per server) | $(m three_separate) | ${times[three_separate]}|"
    echo "| three servers, $cap cores each | one command (default: at once) | $(m three_auto) | ${times[three_auto]}|"
  fi
  echo
  echo "Ratios of medians, one command / 3 separate restores:"
  echo "- one server: default $(ratio one_auto one_separate), --targets together $(ratio one_together one_separate)"
  ((three_servers)) && echo "- three servers: default $(ratio three_auto three_separate)"
} | tee "$result"
