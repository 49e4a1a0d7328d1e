"""Throwaway PostgreSQL 15 clusters for the deploy tests, started by
deploy/lib/clusters.sh (the one implementation the demo and benchmarks use)
in a helper bash process that stops and removes them when it is told to
(stdin closed) or when the test process dies (its stdin reaches EOF).

    with LocalClusters(["prod", "dev"], work_dir) as clusters:
        url = clusters.url("prod", "postgres", password="s3cret")
        psql(url, "CREATE TABLE t (id int)")
"""
from __future__ import annotations

import os
import subprocess
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_HELPER = r'''
set -euo pipefail
CLUSTERS_DIR=$2
source "$1/deploy/lib/clusters.sh"
trap stop_clusters EXIT
mkdir -p "$CLUSTERS_DIR"
port=56800
ports=()
for name in "${@:3}"; do
  port=$(free_port $((port + 1)))
  start_cluster "$name" "$port" -c fsync=off
  ports+=("$port")
done
echo "${ports[*]}"
read -r _ || true
'''


class LocalClusters:
    """One cluster per name, on 127.0.0.1, trust auth (any password works)."""

    def __init__(self, names: list[str], work_dir: str | Path):
        self.names = list(names)
        self.dir = Path(work_dir) / "clusters"
        self.ports: dict[str, int] = {}
        self._helper: subprocess.Popen | None = None

    def __enter__(self) -> "LocalClusters":
        self._helper = subprocess.Popen(
            ["bash", "-c", _HELPER, "clusters", str(REPO), str(self.dir), *self.names],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ports = self._helper.stdout.readline().split()
        if len(ports) != len(self.names):
            self.__exit__()
            raise RuntimeError("deploy/lib/clusters.sh did not start the clusters")
        self.ports = dict(zip(self.names, map(int, ports)))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._helper:
            self._helper.stdin.close()
            self._helper.stdout.close()
            self._helper.wait(timeout=120)
            self._helper = None

    def url(self, name: str, db: str = "postgres", password: str | None = None) -> str:
        user = "postgres" + (":" + urllib.parse.quote(password, safe="") if password else "")
        return f"postgresql://{user}@127.0.0.1:{self.ports[name]}/{db}"


def psql(url: str, sql: str) -> str:
    """Runs `sql` with psql (ON_ERROR_STOP); returns its unaligned output."""
    result = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-qAtX", "-v", "ON_ERROR_STOP=1",
                             url], input=sql, capture_output=True, text=True, check=False,
                            env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def digest(url: str, table: str) -> str:
    """Row count and md5 of every row of `table`, rows in text order."""
    return psql(url, f"SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' "
                     f"ORDER BY t::text), '')) FROM {table} t")
