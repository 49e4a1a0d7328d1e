#!/usr/bin/env bash
# The acceptance run of `freshet sync` on the reference workload: builds prod
# and dev (one migration ahead) at SCALE on two throwaway local clusters, makes
# a non-superuser role own dev's tables, then checks that
#   - `freshet plan --include auth.users` names the deferred cycle constraint,
#     contacts.linkedin_url and feature_flags;
#   - `freshet sync --include auth.users` as that role succeeds;
#   - `freshet verify` passes, and so does an independent comparison: sorted
#     md5 digests of every shared table computed by psql on both sides;
#   - every dev constraint and index is valid.
# Usage: bench/acceptance_sync.sh [--scale N] [--workload DIR] [--jobs J]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1 jobs=4
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --workload) workload=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "usage: $0 [--scale N] [--workload DIR] [--jobs J]" >&2; exit 2 ;;
  esac
done
workload=$(cd "$workload" && pwd)

"$repo/deploy/install-deps.sh"
build=${FRESHET_BUILD_DIR:-$repo/build}
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target freshet >/dev/null
freshet=$build/freshet

CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-accept-XXXXXX")
source "$repo/bench/lib/servers.sh"
start_servers 0 57432  # throwaway: fsync off
source "$repo/bench/lib/workload.sh"
load_workload "${prod%/prod}" "${dev%/dev}" "$scale" "$workload" dev
dev_owner=postgresql://app_owner@127.0.0.1:$dev_port/dev
q() { "$PG_BIN/psql" "$1" -X -q -A -t -v ON_ERROR_STOP=1 -c "$2"; }

# A role that owns dev's tables and is not superuser (as on Supabase).
q "$dev" "CREATE ROLE app_owner LOGIN NOSUPERUSER; GRANT CREATE ON DATABASE dev TO app_owner;
  GRANT USAGE, CREATE ON SCHEMA public, auth TO app_owner;
  DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT format('%I.%I', n.nspname, c.relname) AS t
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname IN ('public', 'auth') AND c.relkind IN ('r', 'p')
  LOOP EXECUTE 'ALTER TABLE ' || r.t || ' OWNER TO app_owner'; END LOOP; END \$\$;" >/dev/null
echo "app_owner superuser: $(q "$dev" "SELECT rolsuper FROM pg_roles WHERE rolname = 'app_owner'")"

plan=$("$freshet" plan --from "$prod" --to "$dev_owner" --include auth.users)
echo "$plan"
for needle in "_fkey on public." linkedin_url public.feature_flags; do
  grep -q -- "$needle" <<<"$plan" || { echo "FAIL: plan does not mention $needle" >&2; exit 1; }
done

start=$(date +%s.%N)
"$freshet" sync --from "$prod" --to "$dev_owner" --include auth.users --jobs "$jobs"
printf 'freshet sync wall time: %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc -l)"
"$freshet" verify --from "$prod" --to "$dev" --include auth.users
echo "freshet verify: equal"

# Independent check: sorted md5 digest of every shared table, over the shared
# columns (dev's non-generated columns that prod has).
tables=$(q "$dev" "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n
  ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname IN ('public', 'auth') ORDER BY 1")
differ=0
for table in $tables; do
  [[ $(q "$prod" "SELECT to_regclass('$table') IS NOT NULL") == t ]] || continue
  cols=$(q "$dev" "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
    FROM pg_attribute a WHERE a.attrelid = '$table'::regclass AND a.attnum > 0
    AND NOT a.attisdropped AND a.attgenerated = ''
    AND a.attname IN ($(q "$prod" "SELECT string_agg(quote_literal(attname), ',')
      FROM pg_attribute WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped"))")
  digest="SELECT count(*) || ' ' || md5(string_agg(r, E'\n' ORDER BY r)) FROM
    (SELECT ROW($cols)::text AS r FROM $table) s"
  a=$(q "$prod" "$digest") b=$(q "$dev" "$digest")
  if [[ $a == "$b" ]]; then echo "psql digest equal: $table (${a%% *} rows)"; else
    echo "psql digest DIFFERS: $table" >&2; differ=1; fi
done
invalid=$(q "$dev" "SELECT count(*) FROM pg_constraint WHERE NOT convalidated")
invalid_idx=$(q "$dev" "SELECT count(*) FROM pg_index WHERE NOT indisvalid")
echo "dev constraints not valid: $invalid; invalid indexes: $invalid_idx"
((differ == 0 && invalid == 0 && invalid_idx == 0)) || { echo "FAIL" >&2; exit 1; }
echo "ACCEPTANCE OK"
