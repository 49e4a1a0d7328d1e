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
pg_bin=${FRESHET_PG_BIN:-/usr/lib/postgresql/15/bin}

"$repo/deploy/install-deps.sh"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$repo/build" -j"$(nproc)" --target freshet
freshet=$repo/build/freshet

work=$(mktemp -d "${TMPDIR:-/tmp}/freshet-quickstart-XXXXXX")
as_owner=()
if [[ $(id -u) -eq 0 ]]; then  # PostgreSQL refuses to run as root
  chown postgres: "$work"
  as_owner=(runuser -u postgres --)
fi

free_port() {
  local port
  for port in $(seq "$1" $(($1 + 200))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "quickstart: no free port near $1" >&2; exit 1
}

clusters=()
cleanup() {
  local dir
  for dir in "${clusters[@]}"; do
    "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
if [[ ${KEEP:-0} != 1 ]]; then trap cleanup EXIT; fi

start_cluster() {  # name port
  local dir=$work/$1
  "${as_owner[@]}" "$pg_bin/initdb" -D "$dir" -U postgres --auth=trust >/dev/null
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir" -l "$work/$1.log" -w \
    -o "-p $2 -k $work -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  clusters+=("$dir")
}

prod_port=$(free_port 55432)
start_cluster prod "$prod_port"
dev_port=$(free_port $((prod_port + 1)))
start_cluster dev "$dev_port"
prod=postgresql://postgres@127.0.0.1:$prod_port/app
dev=postgresql://postgres@127.0.0.1:$dev_port/app

psql_q() { "$pg_bin/psql" "$1" -X -q -v ON_ERROR_STOP=1 "${@:2}" >/dev/null; }
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
"$pg_bin/psql" "$dev" -X -c "SELECT (SELECT count(*) FROM customers) AS customers,
  (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM audit_log) AS audit_rows,
  (SELECT string_agg(DISTINCT tier, ',') FROM customers) AS tier,
  (SELECT count(*) FROM feature_flags) AS feature_flags"
if [[ ${KEEP:-0} == 1 ]]; then
  echo "clusters kept: prod $prod, dev $dev (stop: pg_ctl -D $work/prod stop; pg_ctl -D $work/dev stop)"
fi
