#!/usr/bin/env bash
set -euo pipefail
repo=/work/main scale=1 durable=1 workload=/work/shared/workload
CLUSTERS_DIR=$(mktemp -d /tmp/freshet-bench-XXXXXX)
source "$repo/bench/lib/bench_servers.sh"
snap=$CLUSTERS_DIR/snap
$repo/build/freshet -q snapshot capture --from "$prod" --out "$snap" --include auth.users --jobs 4
now() { date +%s.%N; }
for k in 1 2 3; do
  if ((k % 2)); then order="r q"; else order="q r"; fi
  for c in $order; do
    bin=$repo/build/freshet; [[ $c == q ]] && bin=/work/build-base/freshet
    reset_dev dev
    t0=$(now)
    "$bin" -q snapshot restore "$snap" --to "$dev" --jobs 4
    t1=$(now)
    $repo/build/freshet -q verify --from "$prod" --to "$dev" --include auth.users >/dev/null
    printf 'run %d %s: %.2f s (verified equal)\n' "$k" "$c" "$(echo "$t1 - $t0" | bc -l)"
  done
done
