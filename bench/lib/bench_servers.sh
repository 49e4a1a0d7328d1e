# shellcheck shell=bash disable=SC2154,SC2034  # set by the script that sources it; used there
# The prod and dev servers of the refresh benchmarks, with the reference
# workload loaded. Source it after setting repo, scale, workload, durable
# (1 or 0) and CLUSTERS_DIR (an empty directory); it starts both servers
# (bench/lib/servers.sh: stopped by an EXIT trap), loads the workload and
# defines:
#   settings (array)  the servers' -c settings, for the result's header
#   prod, dev, dev_admin, prod_size
#   reset_dev [NAME...]   dev (or each NAME) recreated from dev_template
source "$repo/bench/lib/servers.sh"
# Both servers alike for every contender. Durability on by default, as on
# users' dev and preview servers; durable=0 for a throwaway setup.
start_servers "$durable" 56432 -c max_connections=50
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
