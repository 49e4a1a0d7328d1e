# shellcheck shell=bash
# Throwaway local PostgreSQL clusters for the demo and the benchmarks.
# Source it, set CLUSTERS_DIR (an empty directory) and optionally PG_BIN, then:
#   port=$(free_port 55432); start_cluster NAME PORT [postgres -c settings...]
#   stop_clusters   (also removes CLUSTERS_DIR; call it from an EXIT trap)
# As root, the servers run as the OS user `postgres` (PostgreSQL refuses root).

PG_BIN=${PG_BIN:-${FRESHET_PG_BIN:-/usr/lib/postgresql/15/bin}}
_cluster_dirs=()
_as_owner=()
if [[ $(id -u) -eq 0 ]]; then _as_owner=(runuser -u postgres --); fi

free_port() {  # first port >= $1 nobody listens on
  local port
  for port in $(seq "$1" $(($1 + 500))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "no free port near $1" >&2
  return 1
}

start_cluster() {  # NAME PORT [-c key=value ...]
  local name=$1 port=$2 dir=$CLUSTERS_DIR/$1
  shift 2
  [[ $(id -u) -eq 0 ]] && chown postgres: "$CLUSTERS_DIR"
  "${_as_owner[@]}" "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust >/dev/null
  "${_as_owner[@]}" "$PG_BIN/pg_ctl" -D "$dir" -l "$CLUSTERS_DIR/$name.log" -w -t 120 \
    -o "-p $port -k $CLUSTERS_DIR -c listen_addresses=127.0.0.1 $*" start >/dev/null
  _cluster_dirs+=("$dir")
}

stop_clusters() {
  local dir
  for dir in "${_cluster_dirs[@]}"; do
    "${_as_owner[@]}" "$PG_BIN/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
  done
  _cluster_dirs=()
  rm -rf "$CLUSTERS_DIR"
}
