"""`freshet serve` for the Python tests of the service (the dashboard in a
browser, the OpenAPI document): two local clusters (prod with rows, dev with
the schema), a config with a `refresh` job, and a running service on a free
loopback port with an admin token, stopped and cleaned up on exit.

    with ServeFixture(freshet_binary, env={...pause point...}) as serve:
        serve.call("POST", "/v1/jobs/refresh/runs")
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "deploy"))
from local_clusters import LocalClusters, digest, psql  # noqa: E402

ADMIN_TOKEN = "admin-token-for-service-tests"
READ_TOKEN = "read-token-for-service-tests"

SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, plan text);
CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id),
  total numeric(12, 2));
CREATE INDEX orders_account ON orders (account_id);
"""
ROWS = """
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 'free' FROM generate_series(1, 2000) g;
INSERT INTO orders SELECT g, 1 + g % 2000, g * 0.5 FROM generate_series(1, 30000) g;
"""


def free_port() -> int:
    """A loopback port free at the moment of the call (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeFixture:
    """Clusters, config, and a running `freshet serve`."""

    def __init__(self, freshet: str, env: dict[str, str] | None = None,
                 extra_config: str | Callable[["ServeFixture"], str] = ""):
        self.freshet = freshet
        self.env = env or {}
        self.extra_config = extra_config
        self.dir = Path(tempfile.mkdtemp(prefix="freshet-serve-py-"))
        # The clusters run as the OS user postgres when the test is root.
        self.dir.chmod(0o755)
        self.port = 0  # the service picks a free one; read from its log
        self.log = None
        self.clusters = LocalClusters(["prod", "dev"], self.dir)
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ServeFixture":
        self.clusters.__enter__()
        psql(self.clusters.url("prod"), SCHEMA + ROWS)
        psql(self.clusters.url("dev"), SCHEMA)
        reader = hashlib.sha256(READ_TOKEN.encode()).hexdigest()
        # A callable extra_config is given the fixture once the clusters run
        # (for config that names their ports).
        extra = self.extra_config(self) if callable(self.extra_config) else self.extra_config
        (self.dir / "freshet.toml").write_text(f"""
[sources.prod]
url = "{self.clusters.url('prod', password='pw-not-to-leak')}"
[targets.dev]
url = "{self.clusters.url('dev')}"
[service]
shutdown_timeout = "0s"
[service.tokens.reader]
sha256 = "{reader}"
scope = "read"
[jobs.refresh]
kind = "sync"
from = "prod"
to = "dev"
jobs = 1
schedule = "0 2 * * 0"
tz = "Europe/Berlin"
{extra}
""")
        self.log = open(self.dir / "serve.log", "w+")
        self.process = subprocess.Popen(
            [self.freshet, "serve", "--config", str(self.dir / "freshet.toml"), "--listen",
             "127.0.0.1:0", "--store", str(self.dir / "runs.db")],
            env={**os.environ, **self.env, "FRESHET_API_TOKEN": ADMIN_TOKEN},
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Waits for the service's "listening on" line (its port), then for
        /readyz to answer 200; fails if the service exits first."""
        while not self.port:
            if self.process.poll() is not None:
                raise RuntimeError(f"freshet serve exited: {self.output()}")
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.output())
            if match:
                self.port = int(match.group(1))
            else:
                time.sleep(0.02)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"freshet serve exited: {self.output()}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.02)

    def output(self) -> str:
        self.log.flush()
        return (self.dir / "serve.log").read_text()

    def call(self, method: str, path: str, body: object | None = None,
             token: str | None = ADMIN_TOKEN, headers: dict[str, str] | None = None
             ) -> tuple[int, dict[str, str], bytes]:
        """One request; returns (status, headers with lower-case names, body)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return (response.status, {k.lower(): v for k, v in response.headers.items()},
                        response.read())
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def json(self, method: str, path: str, body: object | None = None, **kwargs) -> tuple[int, object]:
        status, _, raw = self.call(method, path, body, **kwargs)
        return status, json.loads(raw) if raw else None

    def prod_digest(self, table: str) -> str:
        return digest(self.clusters.url("prod"), table)

    def dev_digest(self, table: str) -> str:
        return digest(self.clusters.url("dev"), table)

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log:
            self.log.close()
        self.clusters.__exit__()
        if not os.environ.get("FRESHET_KEEP_CLUSTERS"):
            shutil.rmtree(self.dir, ignore_errors=True)
