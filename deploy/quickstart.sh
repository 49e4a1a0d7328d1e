#!/usr/bin/env bash
# freshet in two minutes on a fresh Debian bookworm machine: installs what is
# needed, builds freshet, starts two throwaway local PostgreSQL 15 clusters,
# makes a demo "prod" with data and a "dev" one migration ahead (with stale
# data), then shows `freshet plan` and runs `freshet sync --verify`.
# Everything lives in a temporary directory removed at exit (KEEP=1 keeps the
# clusters running and prints how to reach them).
#
# Usage: deploy/quickstart.sh [ROWS]   (demo customers, default 2000)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=${1:-2000}

"$repo/deploy/install-deps.sh"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$repo/build" -j"$(nproc)" --target freshet
freshet=$repo/build/freshet

CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-quickstart-XXXXXX")
work=$CLUSTERS_DIR
source "$repo/deploy/lib/clusters.sh"
if [[ ${KEEP:-0} != 1 ]]; then trap stop_clusters EXIT; fi

prod_port=$(free_port 55432)
start_cluster prod "$prod_port" -c fsync=off
dev_port=$(free_port $((prod_port + 1)))
start_cluster dev "$dev_port" -c fsync=off
prod=postgresql://postgres@127.0.0.1:$prod_port/app
dev=postgresql://postgres@127.0.0.1:$dev_port/app

psql_q() { "$PG_BIN/psql" "$1" -X -q -v ON_ERROR_STOP=1 "${@:2}" >/dev/null; }
psql_q "postgresql://postgres@127.0.0.1:$prod_port/postgres" -c "CREATE DATABASE app"
psql_q "postgresql://postgres@127.0.0.1:$dev_port/postgres" -c "CREATE DATABASE app"
psql_q "$prod" -f "$repo/deploy/demo/schema_v1.sql"
psql_q "$prod" -v rows="$rows" -f "$repo/deploy/demo/data.sql"
psql_q "$dev" -f "$repo/deploy/demo/schema_v1.sql"
psql_q "$dev" -f "$repo/deploy/demo/schema_v2.sql"
psql_q "$dev" -v rows=10 -f "$repo/deploy/demo/data.sql"

echo
echo "== prod: $prod (migration 1, $rows customers)"
echo "== dev:  $dev (migrations 1 and 2, stale data)"
echo
echo "== freshet plan"
"$freshet" plan --from "$prod" --to "$dev"
echo
echo "== freshet sync --verify"
"$freshet" sync --from "$prod" --to "$dev" --verify --summary "$work/summary.md"
echo
echo "== dev after the sync"
"$PG_BIN/psql" "$dev" -X -c "SELECT (SELECT count(*) FROM customers) AS customers,
  (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM audit_log) AS audit_rows,
  (SELECT string_agg(DISTINCT tier, ',') FROM customers) AS tier,
  (SELECT count(*) FROM feature_flags) AS feature_flags"
if [[ ${KEEP:-0} == 1 ]]; then
  echo "clusters kept: prod $prod, dev $dev (stop: $PG_BIN/pg_ctl -D $work/prod stop; same for $work/dev)"
fi
