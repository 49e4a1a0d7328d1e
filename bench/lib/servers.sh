# shellcheck shell=bash disable=SC2154,SC2034  # repo comes from the sourcing script, which uses what this sets
# Two throwaway local servers, prod and dev, for the benchmarks and the
# acceptance run. Source it after setting repo and CLUSTERS_DIR (an empty
# directory), then
#   start_servers DURABLE FIRST_PORT [-c key=value ...]
# starts both on free ports from FIRST_PORT (stopped, and CLUSTERS_DIR
# removed, by an EXIT trap) and sets
#   settings (array)      the servers' -c settings, for a result's header
#   prod_port, dev_port
#   prod, dev             URLs of the databases prod and dev (not created here)
#   dev_admin             the URL of dev's server (its postgres database)
# DURABLE 1 keeps fsync, synchronous_commit and full_page_writes on, as on
# users' dev and preview servers; 0 turns them off for a throwaway setup.
source "$repo/deploy/lib/clusters.sh"

start_servers() {  # DURABLE FIRST_PORT [-c key=value ...]
  local durable=$1 first_port=$2
  shift 2
  trap stop_clusters EXIT
  settings=(-c shared_buffers=1GB -c max_wal_size=8GB -c maintenance_work_mem=512MB "$@")
  if ((durable)); then
    settings+=(-c fsync=on -c synchronous_commit=on -c full_page_writes=on)
  else
    settings+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
  fi
  prod_port=$(free_port "$first_port")
  start_cluster prod "$prod_port" "${settings[@]}"
  dev_port=$(free_port $((prod_port + 1)))
  start_cluster dev "$dev_port" "${settings[@]}"
  prod=postgresql://postgres@127.0.0.1:$prod_port/prod
  dev=postgresql://postgres@127.0.0.1:$dev_port/dev
  dev_admin=postgresql://postgres@127.0.0.1:$dev_port/postgres
}
