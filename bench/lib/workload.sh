# shellcheck shell=bash
# The reference workload on benchmark servers. Source it after
# deploy/lib/clusters.sh (for PG_BIN), then:
#   load_workload PROD_SERVER DEV_SERVER SCALE WORKLOAD_DIR [DEV_NAME]
# PROD_SERVER and DEV_SERVER are URLs of the servers without a database
# (postgresql://postgres@127.0.0.1:PORT). Makes PROD_SERVER/prod with the data
# at SCALE (vacuumed and analyzed), and DEV_SERVER/DEV_NAME: the dev schema
# (one migration ahead) with stale data. DEV_NAME defaults to dev_template,
# for `CREATE DATABASE ... TEMPLATE`; with `dev` it is the database to refresh.

psql_q() { "$PG_BIN/psql" "$1" -X -q -v ON_ERROR_STOP=1 "${@:2}" >/dev/null; }

load_workload() {
  local prod_server=$1 dev_server=$2 scale=$3 workload=$4 dev_name=${5:-dev_template}
  echo "building the workload at scale $scale..." >&2
  psql_q "$prod_server/postgres" -c "CREATE DATABASE prod"
  psql_q "$dev_server/postgres" -c "CREATE DATABASE dev"
  PATH=$PG_BIN:$PATH "$workload/load.sh" "$prod_server/prod" "$dev_server/dev" "$scale"
  psql_q "$prod_server/prod" -c "VACUUM ANALYZE"
  if [[ $dev_name != dev ]]; then
    psql_q "$dev_server/postgres" -c "ALTER DATABASE dev RENAME TO $dev_name"
  fi
}
