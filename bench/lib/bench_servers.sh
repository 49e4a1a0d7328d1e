# shellcheck shell=bash disable=SC2154,SC2034  # set by the script that sources it; used there
# The prod and dev servers of the refresh benchmarks, with the reference
# workload loaded. Source it after setting repo, scale, workload, durable
# (1 or 0) and CLUSTERS_DIR (an empty directory); it starts both servers
# (stopped by an EXIT trap), loads the workload and defines:
#   settings (array)  the servers' -c settings, for the result's header
#   prod, dev, dev_admin, prod_size
#   reset_dev [NAME...]   dev (or each NAME) recreated from dev_template
source "$repo/deploy/lib/clusters.sh"
trap stop_clusters EXIT
# Both servers alike for every contender. Durability on by default, as on
# users' dev and preview servers; durable=0 for a throwaway setup.
settings=(-c shared_buffers=1GB -c max_wal_size=8GB -c maintenance_work_mem=512MB
          -c max_connections=50)
if ((durable)); then
  settings+=(-c fsync=on -c synchronous_commit=on -c full_page_writes=on)
else
  settings+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
fi
prod_port=$(free_port 56432)
start_cluster prod "$prod_port" "${settings[@]}"
dev_port=$(free_port $((prod_port + 1)))
start_cluster dev "$dev_port" "${settings[@]}"
prod=postgresql://postgres@127.0.0.1:$prod_port/prod
dev=postgresql://postgres@127.0.0.1:$dev_port/dev
dev_admin=postgresql://postgres@127.0.0.1:$dev_port/postgres
source "$repo/bench/lib/workload.sh"
load_workload "${prod%/prod}" "${dev%/dev}" "$scale" "$workload"
prod_size=$("$PG_BIN/psql" "$prod" -XAtc "SELECT pg_size_pretty(pg_database_size(current_database()))")

reset_dev() {  # [names...], default dev
  local name
  for name in "${@:-dev}"; do
    psql_q "$dev_admin" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)"
    psql_q "$dev_admin" -c "CREATE DATABASE $name TEMPLATE dev_template"
  done
}
