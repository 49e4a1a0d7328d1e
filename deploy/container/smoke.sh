#!/usr/bin/env bash
# Runs a built freshet image against two throwaway local PostgreSQL 15
# clusters (deploy/lib/clusters.sh) the way a pod would run it: as the image's
# user, read-only root filesystem, a tmpfs /tmp, no capabilities, host network
# to reach the clusters on 127.0.0.1. Checks:
#   1. `--version`, and the image's user is 10001
#   2. `plan` from the demo "prod" to "dev" (deploy/demo, as in quickstart.sh)
#   3. `sync --verify`, then dev's customers/tasks equal prod's
#   4. `migrate shadow --shadow-url` (an empty database on prod's cluster)
#      over the demo migrations, compared to dev: no drift
#   5. `migrate shadow` without --shadow-url: succeeds when the image has the
#      PostgreSQL server (WITH_PG_SERVER=1), else must fail with freshet's
#      "cannot find the PostgreSQL server programs" message
# Needs postgresql-15 on the host (deploy/install-deps.sh) and podman.
#
# Usage: deploy/container/smoke.sh IMAGE      (e.g. localhost/freshet:0.1.0)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
image=${1:?usage: $0 IMAGE}

# shellcheck source=deploy/container/podman-opts.sh
source "$repo/deploy/container/podman-opts.sh"
probe_podman "$image"

CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-container-smoke-XXXXXX")
# shellcheck source=deploy/lib/clusters.sh
source "$repo/deploy/lib/clusters.sh"
trap stop_clusters EXIT

prod_port=$(free_port 56432)
start_cluster prod "$prod_port" -c fsync=off
dev_port=$(free_port $((prod_port + 1)))
start_cluster dev "$dev_port" -c fsync=off
server=postgresql://postgres@127.0.0.1
prod=$server:$prod_port/app
dev=$server:$dev_port/app
shadow=$server:$prod_port/shadow

psql_q() { "$PG_BIN/psql" "$1" -X -q -v ON_ERROR_STOP=1 "${@:2}" >/dev/null; }
psql_q "$server:$prod_port/postgres" -c "CREATE DATABASE app" -c "CREATE DATABASE shadow"
psql_q "$server:$dev_port/postgres" -c "CREATE DATABASE app"
psql_q "$prod" -f "$repo/deploy/demo/schema_v1.sql"
psql_q "$prod" -v rows=500 -f "$repo/deploy/demo/data.sql"
psql_q "$prod" -f "$repo/deploy/demo/schema_v2.sql"
psql_q "$dev" -f "$repo/deploy/demo/schema_v1.sql"
psql_q "$dev" -f "$repo/deploy/demo/schema_v2.sql"
psql_q "$dev" -v rows=10 -f "$repo/deploy/demo/data.sql"

migrations=$CLUSTERS_DIR/migrations
mkdir -p "$migrations"
cp "$repo/deploy/demo/schema_v1.sql" "$migrations/0001_schema_v1.sql"
cp "$repo/deploy/demo/schema_v2.sql" "$migrations/0002_schema_v2.sql"
chmod -R a+rX "$migrations"

run() {  # freshet ARGS... in the image, as a restricted pod would run it
  podman run --rm "${podman_run_opts[@]}" --network host --read-only --tmpfs /tmp \
    --cap-drop ALL --security-opt no-new-privileges \
    -v "$migrations:/migrations:ro" "$image" "$@"
}
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

echo "== 1. --version, user"
run --version
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[[ $user == 10001:10001 ]] || fail "image user is '$user', not 10001:10001"

echo "== 2. plan"
run plan --from "$prod" --to "$dev"

echo "== 3. sync --verify"
run sync --from "$prod" --to "$dev" --verify
count() { "$PG_BIN/psql" "$1" -X -At -c "SELECT (SELECT count(*) FROM customers) || '/' || (SELECT count(*) FROM tasks)"; }
[[ $(count "$prod") == "$(count "$dev")" ]] ||
  fail "dev has $(count "$dev") customers/tasks after the sync, prod $(count "$prod")"
echo "dev customers/tasks now $(count "$dev"), as prod"

echo "== 4. migrate shadow --shadow-url"
run migrate shadow --dir /migrations --bootstrap none --shadow-url "$shadow" --compare-to "$dev"

echo "== 5. migrate shadow with a local cluster"
set +e
output=$(run migrate shadow --dir /migrations --bootstrap none --compare-to "$dev" 2>&1)
status=$?
set -e
echo "$output"
if podman run --rm "${podman_run_opts[@]}" --entrypoint test "$image" \
  -x /usr/lib/postgresql/15/bin/initdb; then
  ((status == 0)) || fail "migrate shadow exited $status in an image with the server"
else
  if ((status == 0)) || [[ $output != *"cannot find the PostgreSQL server programs"* ]]; then
    fail "migrate shadow without a server: exit $status, unexpected output"
  fi
  echo "(expected: this image has no PostgreSQL server)"
fi
echo "smoke: all checks passed for $image"
