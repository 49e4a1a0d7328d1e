#!/usr/bin/env bash
# A masked sync against the unmasked sync it stands in for, on the reference
# workload (issue #16's goal: with rules on every personal column, a masked
# sync takes <= 1.25x the unmasked one), in one run:
#   U) freshet sync of prod into dev, no rules
#   M) the same sync with the [mask] rules below on every personal column of
#      the workload: auth.users and profiles emails (unique), profiles
#      names and phones, contacts first/last names and emails, the summary
#      in every activity's payload (3 M jsonb documents at scale 1) and the
#      ip in audit_log.detail
#   S) with --subset-config FILE: M's config with FILE appended (the subset
#      feature: e.g. [subset] root = "public.organizations", percent = 5),
#      against U (goal: a 5% subset <= 0.1x)
# Each run k syncs every variant into dev, recreated from its template
# before each (untimed), in an order that rotates with k. Each result is
# checked (untimed) by `freshet verify` under the variant's config (masked
# columns count by their rows; see README "Personal data"), and each M
# and S result also by psql: no original email, name, phone or summary left.
# `freshet mask check` with M's config is recorded once (coverage).
# Writes the medians, M/U (and S/U), rows and bytes (from the JSON reports)
# and the masked tables' seconds to bench/results/.
#
# Usage: bench/mask.sh [--scale N] [--runs K] [--workload DIR] [--jobs J]
#                      [--fsync-off] [--subset-config FILE]
# The mask key is $FRESHET_MASK_KEY, or a fixed benchmark key. The binary is
# built in $FRESHET_BUILD_DIR (default build/), or FRESHET_BIN names one.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1 runs=3 jobs=4 durable=1 subset_config=""
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
usage="usage: $0 [--scale N] [--runs K] [--workload DIR] [--jobs J] [--fsync-off] [--subset-config FILE]"
while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --fsync-off) durable=0; shift ;;
    --subset-config) subset_config=$(realpath "$2"); shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
workload=$(cd "$workload" && pwd)
[[ -z $subset_config || -r $subset_config ]] ||
  { echo "--subset-config $subset_config is not a readable file" >&2; exit 2; }
command_line="bench/mask.sh --scale $scale --runs $runs --jobs $jobs"
((durable)) || command_line+=" --fsync-off"
[[ -z $subset_config ]] || command_line+=" --subset-config $subset_config"

"$repo/deploy/install-deps.sh"
if [[ -n ${FRESHET_BIN:-} ]]; then  # a binary built elsewhere: build nothing
  freshet=$(realpath "$FRESHET_BIN")
else
  build=${FRESHET_BUILD_DIR:-$repo/build}
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target freshet >/dev/null
  freshet=$build/freshet
fi
export FRESHET_MASK_KEY=${FRESHET_MASK_KEY:-freshet-bench-mask-key-0123456789abcdef}

CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-bench-XXXXXX")
trap 'rm -rf "$CLUSTERS_DIR"' EXIT  # until the servers' trap (stop_clusters) replaces it
scratch=$CLUSTERS_DIR/scratch
mkdir -p "$scratch"
# Every personal column of the workload (migrations/ and data.sql).
# contacts.full_name is generated from the masked names; ids (auth.users.id
# and the profiles, owners, assignees and actors joined to it) are random
# uuids that name no one, so they stay.
cat >"$scratch/mask.toml" <<'EOF'
[mask."auth.users.email"]
rule = "email"
[mask."public.profiles.email"]
rule = "email"
[mask."public.profiles.full_name"]
rule = "full_name"
[mask."public.profiles.phone"]
rule = "phone"
[mask."public.contacts.first_name"]
rule = "first_name"
[mask."public.contacts.last_name"]
rule = "last_name"
[mask."public.contacts.email"]
rule = "email"
[mask."public.activities.payload"]
rule = "json"
paths = { "$.summary" = "redact" }
[mask."public.audit_log.detail"]
rule = "json"
paths = { "$.ip" = "ip" }
EOF
variants=(U M)
if [[ -n $subset_config ]]; then
  variants+=(S)
  { cat "$scratch/mask.toml"; echo; cat "$subset_config"; } >"$scratch/subset.toml"
  # A config this binary cannot read fails now, not after the workload loads
  # (a usage error comes before any connection is tried).
  rc=0
  "$freshet" -q --config "$scratch/subset.toml" plan --from postgresql://127.0.0.1:1/none \
    --to postgresql://127.0.0.1:1/none >/dev/null 2>"$scratch/subset.err" || rc=$?
  if ((rc == 2)); then
    echo "freshet ($freshet) rejects the subset config (M's rules + $subset_config):" >&2
    cat "$scratch/subset.err" >&2
    echo "is the [subset] feature in this build?" >&2
    exit 2
  fi
fi
config_of() {  # variant: its --config arguments
  case $1 in
    U) ;;
    M) echo "--config $scratch/mask.toml" ;;
    S) echo "--config $scratch/subset.toml" ;;
  esac
}

source "$repo/bench/lib/bench_servers.sh"
source "$repo/bench/lib/stats.sh"
now() { date +%s.%N; }

# Runs the variant's sync into a fresh dev; sets seconds, rows and bytes.
sync_variant() {  # variant run
  local variant=$1 k=$2 start config
  read -ra config <<<"$(config_of "$variant")"
  reset_dev dev
  start=$(now)
  "$freshet" -q "${config[@]}" sync --from "$prod" --to "$dev" --include auth.users \
    --jobs "$jobs" --report "$scratch/$variant-$k.json" 2>"$scratch/err" ||
    { echo "run $k $variant: the sync failed" >&2; cat "$scratch/err" >&2; return 1; }
  seconds=$(printf %.2f "$(echo "$(now) - $start" | bc -l)")
  rows=$(jq '.totals.rows' "$scratch/$variant-$k.json")
  bytes=$(jq '.totals.bytes' "$scratch/$variant-$k.json")
}
verify_variant() {  # variant run
  local variant=$1 k=$2 config
  read -ra config <<<"$(config_of "$variant")"
  "$freshet" -q "${config[@]}" verify --from "$prod" --to "$dev" --include auth.users \
    >/dev/null 2>"$scratch/verify" || {
    echo "run $k $variant: freshet verify found dev unlike prod" >&2
    [[ $variant != S ]] || echo "(does verify take the [subset] config yet?)" >&2
    cat "$scratch/verify" >&2
    return 1
  }
}
# Rows on dev still holding an original value, per masked column; every
# original matches its pattern (data.sql), no masked value can.
leaks() {
  "$PG_BIN/psql" "$dev" -XAtc "SELECT
    (SELECT count(*) FROM auth.users WHERE email ~ '^user[0-9]+@example[0-9]+\.com$') +
    (SELECT count(*) FROM public.profiles WHERE email ~ '^user[0-9]+@example[0-9]+\.com$'
       OR full_name LIKE 'User Number %') +
    (SELECT count(*) FROM public.contacts WHERE first_name ~ '^First[0-9]+$'
       OR last_name ~ '^Last[0-9]+$' OR email ~ '@client[0-9]+\.org$') +
    (SELECT count(*) FROM public.activities WHERE payload->>'summary' LIKE 'Activity %')"
}
# Phones keep their layout and first digit: the original is found by key.
phone_leaks() {
  local query="SELECT id || ' ' || phone FROM public.profiles WHERE phone IS NOT NULL"
  comm -12 <("$PG_BIN/psql" "$prod" -XAtc "$query" | LC_ALL=C sort) \
    <("$PG_BIN/psql" "$dev" -XAtc "$query" | LC_ALL=C sort) | wc -l
}

# Coverage of M's rules, once: what mask check still finds personal.
reset_dev dev
check_rc=0
"$freshet" --config "$scratch/mask.toml" mask check --from "$prod" --to "$dev" \
  --include auth.users >"$scratch/check" 2>&1 || check_rc=$?
((check_rc == 0 || check_rc == 3)) || { cat "$scratch/check" >&2; exit 1; }
((check_rc == 0)) || echo "warning: mask check finds personal columns without a rule:" >&2
((check_rc == 0)) || grep 'NO RULE' "$scratch/check" >&2 || true
if [[ -n $subset_config ]]; then
  "$freshet" --config "$scratch/subset.toml" plan --from "$prod" --to "$dev" \
    --include auth.users >"$scratch/subset.plan" 2>&1 || {
    echo "freshet plan refuses the subset config (M's rules + $subset_config):" >&2
    cat "$scratch/subset.plan" >&2
    exit 2
  }
fi

declare -A times moved copied
for ((k = 1; k <= runs; k++)); do
  # Rotate the order so no variant always runs on a warmer cache.
  n=${#variants[@]}
  order=()
  for ((i = 0; i < n; i++)); do order+=("${variants[(i + k - 1) % n]}"); done
  for variant in "${order[@]}"; do
    sync_variant "$variant" "$k"
    verify_variant "$variant" "$k"
    checked="verified by freshet verify"
    if [[ $variant != U ]]; then
      left=$(leaks) phones=$(phone_leaks)
      ((left == 0 && phones == 0)) ||
        { echo "run $k $variant: $left original values and $phones phones left on dev" >&2; exit 1; }
      checked+="; no original value left"
    fi
    times[$variant]+="$seconds " copied[$variant]+="$rows " moved[$variant]+="$bytes "
    printf 'run %d %s: %s s, %s rows, %s bytes (%s)\n' "$k" "$variant" "$seconds" "$rows" \
      "$bytes" "$checked" >&2
  done
done

mu=$(echo "${times[U]}" | median) mm=$(echo "${times[M]}" | median)
mb() { printf "%.1f" "$(echo "$1 / 1000000" | bc -l)"; }
# Median seconds of TABLE over the variant's reports (its share of the run;
# tables are copied in parallel).
table_seconds() {  # variant table
  local k values=""
  for ((k = 1; k <= runs; k++)); do
    values+="$(jq --arg t "$2" '[.tables[] | select(.table == $t) | .seconds] | add // 0' \
      "$scratch/$1-$k.json") "
  done
  printf %.2f "$(echo "$values" | median)"
}
masked_tables=$(jq -r '.masked_columns[] | split(":")[0] | split(".")[0:2] | join(".")' \
  "$scratch/M-1.json" | sort -u)
mkdir -p "$repo/bench/results"
durability=$( ((durable)) && echo durable || echo fsync-off)
result=$repo/bench/results/mask-scale$scale-$durability-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# Masked sync against the unmasked sync, scale $scale"
  echo
  echo "Command: \`$command_line\` ($(date -u +%Y-%m-%dT%H:%MZ), freshet $(git -C "$repo" rev-parse --short HEAD))"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$PG_BIN/postgres" --version)"
  echo "Servers: both local (loopback), ${settings[*]}. Prod database: $prod_size."
  echo
  echo "| variant | runs | median s | min-max s | median rows | median MB read |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  echo "| U) freshet sync --jobs $jobs, no rules | $runs | $(printf %.2f "$mu") | $(echo "${times[U]}" | minmax) | $(echo "${copied[U]}" | median) | $(mb "$(echo "${moved[U]}" | median)") |"
  echo "| M) freshet sync --jobs $jobs, [mask] rules below | $runs | $(printf %.2f "$mm") | $(echo "${times[M]}" | minmax) | $(echo "${copied[M]}" | median) | $(mb "$(echo "${moved[M]}" | median)") |"
  if [[ -n $subset_config ]]; then
    ms=$(echo "${times[S]}" | median)
    echo "| S) M's config + $(basename "$subset_config") | $runs | $(printf %.2f "$ms") | $(echo "${times[S]}" | minmax) | $(echo "${copied[S]}" | median) | $(mb "$(echo "${moved[S]}" | median)") |"
  fi
  echo
  printf 'Ratio (medians): M/U = %.3f (goal <= 1.25)\n' "$(echo "$mm / $mu" | bc -l)"
  if [[ -n $subset_config ]]; then
    printf 'Ratio (medians): S/U = %.3f (goal for a 5%% subset <= 0.1)\n' "$(echo "$ms / $mu" | bc -l)"
  fi
  echo
  echo "Runs: $runs; run k starts with the k-th of ${variants[*]} and goes round; dev recreated from its template before each sync (untimed)."
  echo "Every result verified by \`freshet verify\` under its variant's config (masked columns by their rows); every M (and S) result also checked by psql: no original email, name, phone or activity summary left on dev."
  echo
  echo "Median seconds of the tables with masked columns (each table's share of the run; tables copy in parallel, --jobs $jobs):"
  echo
  echo "| table |$(printf ' %s s |' "${variants[@]}")"
  echo "| --- |$(printf ' ---: |%.0s' "${variants[@]}")"
  for table in $masked_tables; do
    line="| $table |"
    for variant in "${variants[@]}"; do line+=" $(table_seconds "$variant" "$table") |"; done
    echo "$line"
  done
  echo
  echo "M's rules (the key from \$FRESHET_MASK_KEY):"
  echo
  echo '```toml'
  cat "$scratch/mask.toml"
  echo '```'
  if [[ -n $subset_config ]]; then
    echo
    echo "S appends $subset_config:"
    echo
    echo '```toml'
    cat "$subset_config"
    echo '```'
  fi
  echo
  echo "Masked columns (M's report): $(jq -r '.masked_columns | join("; ")' "$scratch/M-1.json")"
  echo
  if ((check_rc == 0)); then
    echo "Coverage: \`freshet mask check\` with M's config finds no personal column without a rule."
  else
    echo "Coverage: \`freshet mask check\` with M's config still lists:"
    echo
    grep 'NO RULE' "$scratch/check" | sed 's/^/    /'
  fi
  echo
  echo "Raw seconds: U: ${times[U]}| M: ${times[M]}| S: ${times[S]:-}"
  echo "Raw rows: U: ${copied[U]}| M: ${copied[M]}| S: ${copied[S]:-}"
  echo "Raw bytes read (the reports' totals.bytes): U: ${moved[U]}| M: ${moved[M]}| S: ${moved[S]:-}"
} | tee "$result"
echo "written to $result" >&2
