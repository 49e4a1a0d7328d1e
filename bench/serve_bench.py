#!/usr/bin/python3
"""The measurements of `freshet serve` that issue #15 asks for, driven by
bench/serve_bench.sh (which starts the servers, loads the workload and writes
the configs). Each subcommand starts its own `freshet serve`, prints a
Markdown section of results on stdout and its progress on stderr.

    serve_bench.py sync    ...  the same prod->dev sync by `freshet sync` and
                                through the service, alternating, while
                                pollers hit GET /v1/runs/{id} and SSE clients
                                follow /v1/runs/{id}/events
    serve_bench.py memory  ...  a small job triggered N times, one after the
                                other; the service's RSS every K runs
    serve_bench.py limits  ...  the same pollers against a service with the
                                default rate_limit: how many are refused

The pollers and SSE clients are bench/serve_load.cc (--loader), a native
client on one thread with a keep-alive connection per poller, so that the
load's own CPU time, on the cores the service and the servers share, stays
small; the triggers and probes here are asyncio with raw sockets. Latency
is measured from writing the request to reading the last byte of the
answer, and so includes the client's own scheduling on this 2-core machine.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


# --- HTTP/1.1 over asyncio streams -------------------------------------------

class HttpError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection; not safe for concurrent requests."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    def close(self) -> None:
        if self.writer:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if not self.writer:
            await self.open()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}",
                 f"Authorization: Bearer {self.token}", f"Content-Length: {len(body)}"]
        lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status, response_headers = await read_head(self.reader)
        if response_headers.get("transfer-encoding", "").lower() == "chunked":
            payload = await read_chunked(self.reader)
        else:
            payload = await self.reader.readexactly(int(response_headers.get("content-length", 0)))
        if response_headers.get("connection", "").lower() == "close":
            self.close()
        return status, payload


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"bad status line {status_line!r}")
    headers = {}
    for line in header_lines:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return out
        out += await reader.readexactly(size)
        await reader.readexactly(2)


# --- the service process -------------------------------------------------------

class Service:
    """`freshet serve` started with its own store and an admin token."""

    def __init__(self, binary: str, config: str, port: int, store: Path, log_path: Path):
        self.token = secrets.token_hex(24)
        self.port = port
        self.store = store
        env = dict(os.environ, FRESHET_API_TOKEN=self.token)
        self.log_file = open(log_path, "ab")
        self.process = subprocess.Popen(
            [binary, "--config", config, "serve", "--listen", f"{HOST}:{port}",
             "--store", str(store)], env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        self.pid = self.process.pid

    async def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"freshet serve exited with {self.process.returncode}")
            connection = Connection(self.port, self.token)
            try:
                status, _ = await connection.request("GET", "/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            await asyncio.sleep(0.1)
        raise RuntimeError("freshet serve was not ready within 60 s")

    def status(self) -> dict[str, int]:
        """VmRSS and VmHWM in KiB, threads and open descriptors."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
            elif key == "Threads":
                out[key] = int(value)
        out["fds"] = len(os.listdir(f"/proc/{self.pid}/fd"))
        return out

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log_file.close()
        return code

    async def trigger(self, connection: Connection, job: str) -> int:
        status, body = await connection.request("POST", f"/v1/jobs/{job}/runs", b"{}",
                                                {"Content-Type": "application/json"})
        if status != 202:
            raise RuntimeError(f"trigger {job}: {status} {body[:300]!r}")
        return json.loads(body)["id"]


# --- clients -------------------------------------------------------------------

@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    errors: dict[str, int] = field(default_factory=dict)  # kind -> count


@dataclass
class EventStream:
    events: int = 0
    ended_at: float | None = None  # monotonic time of the `end` event
    error: str | None = None


async def follow_events(service: Service, run_id: int, stream: EventStream) -> None:
    """Reads /v1/runs/{id}/events until its `end` event."""
    connection = Connection(service.port, service.token)
    try:
        await connection.open()
        connection.writer.write(
            (f"GET /v1/runs/{run_id}/events HTTP/1.1\r\nHost: {HOST}\r\n"
             f"Authorization: Bearer {service.token}\r\nAccept: text/event-stream\r\n\r\n").encode())
        status, _ = await read_head(connection.reader)
        if status != 200:
            stream.error = f"HTTP {status}"
            return
        while True:
            line = await connection.reader.readline()
            if not line:
                stream.error = "closed before the end event"
                return
            if line.startswith(b"event: "):
                stream.events += 1
                if line.strip() == b"event: end":
                    stream.ended_at = time.monotonic()
                    return
    except (OSError, asyncio.IncompleteReadError, HttpError) as error:
        stream.error = type(error).__name__
    finally:
        connection.close()


async def run_and_wait(service: Service, control: Connection, job: str) -> tuple[int, float]:
    """Triggers `job`, follows its events to the end; (id, wall seconds)."""
    start = time.monotonic()
    run_id = await service.trigger(control, job)
    stream = EventStream()
    await follow_events(service, run_id, stream)
    if stream.ended_at is None:
        raise RuntimeError(f"run {run_id}: events stream: {stream.error}")
    return run_id, stream.ended_at - start


async def run_record(control: Connection, run_id: int) -> dict:
    status, body = await control.request("GET", f"/v1/runs/{run_id}")
    if status != 200:
        raise RuntimeError(f"GET /v1/runs/{run_id}: {status}")
    return json.loads(body)


# --- sync: CLI against the service ----------------------------------------------

def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


def reset_dev(args) -> None:
    """Recreates dev from its template, then checkpoints both servers, so that
    no run pays for the copy's dirty pages or WAL left by the one before."""
    psql(args.dev_admin, f"DROP DATABASE IF EXISTS {args.dev_db} WITH (FORCE)")
    psql(args.dev_admin, f"CREATE DATABASE {args.dev_db} TEMPLATE {args.dev_template}")
    psql(args.dev_admin, "CHECKPOINT")
    psql(args.prod_admin, "CHECKPOINT")


def verify_dev(args) -> None:
    result = subprocess.run([args.binary, "--config", args.config, "-q", "verify", "--from",
                             args.source, "--to", args.target, *args.sync_args.split()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dev differs from prod:\n{result.stderr}")


def cli_sync(args) -> tuple[float, float]:
    """`freshet sync`; (wall seconds, CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    result = subprocess.run([args.binary, "--config", args.config, "-q", "sync", "--from",
                             args.source, "--to", args.target, *args.sync_args.split()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"freshet sync exited {result.returncode}:\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


@dataclass
class ServiceRun:
    wall: float
    server_seconds: float
    cpu: float
    client_cpu: float  # the load client's CPU seconds during the run (pollers, SSE)
    polls: Samples
    streams: list[EventStream]


async def start_loader(args, service: Service, pollers: int, sse: int,
                       seconds: float = 0) -> asyncio.subprocess.Process:
    """The native load client (bench/serve_load.cc), its connections open."""
    loader = await asyncio.create_subprocess_exec(
        args.loader, "--host", HOST, "--port", str(service.port), "--pollers", str(pollers),
        "--sse", str(sse), "--interval", str(args.poll_interval), "--seconds", str(seconds),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env=dict(os.environ, FRESHET_API_TOKEN=service.token))
    if (await loader.stdout.readline()).strip() != b"ready":
        raise RuntimeError(f"{args.loader} did not get ready: exit {await loader.wait()}")
    return loader


async def finish_loader(args, loader: asyncio.subprocess.Process, run_id: int) -> dict:
    """Points the load client at run `run_id`; its report once it ends."""
    loader.stdin.write(f"{run_id}\n".encode())
    await loader.stdin.drain()
    output, _ = await loader.communicate()
    if loader.returncode != 0:
        raise RuntimeError(f"{args.loader} exited {loader.returncode}")
    return json.loads(output)


async def service_sync(args, service: Service, pollers: int, sse: int) -> ServiceRun:
    """One run through the API with `pollers` pollers and `sse` SSE clients
    (at least one: the end of the run is its `end` event), all driven by the
    native load client, which opens its connections before the trigger."""
    loader = await start_loader(args, service, pollers, max(1, sse))
    control = Connection(service.port, service.token)
    await control.open()
    cpu_before = service.cpu_seconds()
    start = time.monotonic()
    run_id = await service.trigger(control, args.job)
    result = await finish_loader(args, loader, run_id)
    streams = [EventStream(s["events"], s["ended_at"], s["error"]) for s in result["streams"]]
    ends = [s.ended_at for s in streams if s.ended_at is not None]
    if not ends:  # every stream failed: fall back to polling for the end
        while (await run_record(control, run_id))["state"] in ("queued", "running"):
            await asyncio.sleep(0.05)
        ends = [time.monotonic()]
    wall = min(ends) - start
    cpu = service.cpu_seconds() - cpu_before
    record = await run_record(control, run_id)
    control.close()
    if record["state"] != "succeeded":
        raise RuntimeError(f"run {run_id} ended {record['state']}: {record.get('error')}")
    polls = Samples(result["latencies"], result["errors"])
    return ServiceRun(wall, record["seconds"], cpu, result["cpu_seconds"], polls, streams)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def errors_text(errors: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(errors.items())) or "none"


async def sync_command(args) -> None:
    service = Service(args.binary, args.config, args.port, Path(args.store), Path(args.log))
    try:
        await service.wait_ready()
        cli_times, cli_cpu, runs, quiet = [], [], [], []
        contenders = ["cli", "service"] + (["quiet"] if args.quiet_service else [])
        for k in range(1, args.runs + 1):
            order = contenders if k % 2 else contenders[::-1]
            for contender in order:
                reset_dev(args)
                if contender == "cli":
                    wall, cpu = cli_sync(args)
                    cli_times.append(wall)
                    cli_cpu.append(cpu)
                    log(f"run {k} cli: {wall:.1f} s, {cpu:.1f} CPU s")
                elif contender == "quiet":
                    run = await service_sync(args, service, 0, 1)
                    quiet.append(run)
                    log(f"run {k} service without pollers: {run.wall:.1f} s, {run.cpu:.1f} CPU s")
                else:
                    run = await service_sync(args, service, args.pollers, args.sse)
                    runs.append(run)
                    log(f"run {k} service: {run.wall:.1f} s (run record {run.server_seconds:.1f} s), "
                        f"{run.cpu:.1f} CPU s (client {run.client_cpu:.1f}), "
                        f"{len(run.polls.latencies)} polls, "
                        f"p99 {fmt_ms(percentile(run.polls.latencies, 0.99))} ms, "
                        f"errors: {errors_text(run.polls.errors)}")
                verify_dev(args)
        memory = service.status()
    finally:
        code = service.stop()
    print_sync(args, cli_times, cli_cpu, runs, quiet, memory, code)


def print_sync(args, cli_times, cli_cpu, runs: list[ServiceRun], quiet: list[ServiceRun], memory,
               exit_code) -> None:
    service_times = [r.wall for r in runs]
    cli_median, service_median = statistics.median(cli_times), statistics.median(service_times)
    latencies = [x for r in runs for x in r.polls.latencies]
    errors: dict[str, int] = {}
    for r in runs:
        for kind, count in r.polls.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    streams = [s for r in runs for s in r.streams]
    stream_errors = [s.error for s in streams if s.error]
    print("## Sync through the service against the CLI\n")
    order = "CLI, polled service" + (", service without pollers" if quiet else "")
    print(f"Job `{args.job}`: `sync --from {args.source} --to {args.target} {args.sync_args}`, "
          f"the same options in `[jobs.{args.job}]`. {args.runs} runs of each, alternating "
          f"(in odd rounds {order}; reversed in even ones); dev recreated from its template and both servers checkpointed before every run, and "
          f"verified equal to prod after it (not timed). CLI time: process start to exit. "
          f"Service time: `POST /v1/jobs/{args.job}/runs` sent to the first SSE `end` event read. "
          f"During every service run, {args.pollers} pollers (one keep-alive connection each) "
          f"`GET /v1/runs/{{id}}` every {args.poll_interval:g} s (random phase), and {args.sse} "
          f"clients follow `/v1/runs/{{id}}/events`, from the trigger to the end.\n")
    print("| | median s | min-max s | per run s | CPU s (median) |")
    print("| --- | ---: | ---: | --- | ---: |")
    print(f"| `freshet sync` (CLI) | {cli_median:.1f} | {min(cli_times):.1f}-{max(cli_times):.1f} "
          f"| {' '.join(f'{t:.1f}' for t in cli_times)} | {statistics.median(cli_cpu):.1f} |")
    print(f"| `freshet serve`, run by the API | {service_median:.1f} | "
          f"{min(service_times):.1f}-{max(service_times):.1f} | "
          f"{' '.join(f'{t:.1f}' for t in service_times)} | "
          f"{statistics.median([r.cpu for r in runs]):.1f} |")
    if quiet:
        quiet_times = [r.wall for r in quiet]
        print(f"| `freshet serve`, run by the API, no pollers | "
              f"{statistics.median(quiet_times):.1f} | "
              f"{min(quiet_times):.1f}-{max(quiet_times):.1f} | "
              f"{' '.join(f'{t:.1f}' for t in quiet_times)} | "
              f"{statistics.median([r.cpu for r in quiet]):.1f} |")
    print()
    ratios = [s / c for s, c in zip(service_times, cli_times)]
    print(f"**Ratio service/CLI (medians): {service_median / cli_median:.2f}** (goal ≤ 1.05); "
          f"per round: {' '.join(f'{r:.2f}' for r in ratios)}, their median "
          f"{statistics.median(ratios):.2f}.")
    if quiet:
        quiet_median = statistics.median(quiet_times)
        print(f"Service without pollers / CLI: {quiet_median / cli_median:.2f} (per round "
              f"{' '.join(f'{q / c:.2f}' for q, c in zip(quiet_times, cli_times))}); polled / "
              f"without pollers: {service_median / quiet_median:.2f}.")
    print(f"The run records' own durations (started to finished): "
          f"{' '.join(f'{r.server_seconds:.1f}' for r in runs)} s. CPU seconds: the CLI process's, "
          f"and the whole service process's during the run (engine, API and SSE together); the "
          f"pollers' client (bench/serve_load.cc, on the same cores) used a median "
          f"{statistics.median([r.client_cpu for r in runs]):.2f} CPU s per polled run.\n")
    print(f"Pollers, all service runs together: {len(latencies)} requests answered, "
          f"latency p50 {fmt_ms(percentile(latencies, 0.5))} ms, "
          f"p99 {fmt_ms(percentile(latencies, 0.99))} ms, max {fmt_ms(max(latencies))} ms "
          f"(goal p99 < 50 ms); errors: {errors_text(errors)}.\n")
    print("| run | requests | p50 ms | p99 ms | max ms | errors | SSE events per client (min-max) |")
    print("| ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for i, r in enumerate(runs, 1):
        counts = [s.events for s in r.streams]
        print(f"| {i} | {len(r.polls.latencies)} | {fmt_ms(percentile(r.polls.latencies, 0.5))} "
              f"| {fmt_ms(percentile(r.polls.latencies, 0.99))} | "
              f"{fmt_ms(max(r.polls.latencies))} | {errors_text(r.polls.errors)} | "
              f"{min(counts, default=0)}-{max(counts, default=0)} |")
    print()
    print(f"SSE clients: {len(streams)}, every one got its `end` event: "
          f"{'yes' if not stream_errors else 'no: ' + ', '.join(stream_errors)}. "
          f"Service after the runs: VmRSS {memory['VmRSS'] / 1024:.0f} MiB, VmHWM "
          f"{memory['VmHWM'] / 1024:.0f} MiB, {memory['Threads']} threads; exit status on "
          f"SIGTERM {exit_code}.\n")


# --- memory over many runs ---------------------------------------------------------

async def timed(connection: Connection, path: str, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        status, _ = await connection.request("GET", path)
        out.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
    return out


def slope_per_100(points: list[tuple[int, int]]) -> float:
    """Least-squares KiB per 100 runs."""
    if len(points) < 2:
        return float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return 100 * sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)


async def memory_command(args) -> None:
    store = Path(args.store)
    service = Service(args.binary, args.config, args.port, store, Path(args.log))
    samples, walls, failed = [], [], []
    try:
        await service.wait_ready()
        control = Connection(service.port, service.token)
        samples.append((0, service.status()))
        log(f"runs 0: {samples[-1][1]}")
        for n in range(1, args.runs + 1):
            run_id, wall = await run_and_wait(service, control, args.job)
            walls.append(wall)
            state = (await run_record(control, run_id))["state"]
            if state != "succeeded":
                failed.append((run_id, state))
            if n % args.every == 0:
                samples.append((n, service.status()))
                log(f"runs {n}: {samples[-1][1]}, last run {wall:.2f} s")
        endpoints = {}
        last = run_id
        for path in ("/v1/runs", "/v1/runs?limit=500", f"/v1/runs/{last}", "/v1/runs/1",
                     "/v1/jobs", "/metrics"):
            endpoints[path] = await timed(control, path, args.probe_requests)
        samples.append(("after the endpoint probes", service.status()))
        control.close()
    finally:
        code = service.stop()
    store_bytes = sum(p.stat().st_size for p in store.parent.glob(store.name + "*"))
    print_memory(args, samples, walls, failed, endpoints, store, store_bytes, code)


def print_memory(args, samples, walls, failed, endpoints, store, store_bytes, code) -> None:
    by_runs = {n: s for n, s in samples if isinstance(n, int)}
    warm_start = min(n for n in by_runs if n >= min(args.warmup, args.runs))
    warm = [(n, s["VmRSS"]) for n, s in by_runs.items() if n >= warm_start]
    print(f"## Memory over {args.runs} runs\n")
    print(f"Job `{args.job}` (two small tables, a full sync each time), triggered {args.runs} "
          f"times one after the other, each waited for through its SSE `end` event. A fresh "
          f"service and store. Run wall time (trigger to `end`): median "
          f"{statistics.median(walls):.2f} s, max {max(walls):.2f} s; runs not succeeded: "
          f"{len(failed)}{' ' + str(failed[:5]) if failed else ''}.\n")
    print("| runs | VmRSS MiB | VmHWM MiB | threads | open fds |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for n, s in samples:
        print(f"| {n} | {s['VmRSS'] / 1024:.1f} | {s['VmHWM'] / 1024:.1f} | {s['Threads']} | "
              f"{s['fds']} |")
    print()
    start, hundred, end = by_runs[0]["VmRSS"], by_runs.get(100, {}).get("VmRSS"), \
        by_runs[args.runs]["VmRSS"]
    print(f"VmRSS: start {start / 1024:.1f} MiB, after 100 runs "
          f"{hundred / 1024 if hundred else float('nan'):.1f} MiB, after {args.runs} "
          f"{end / 1024:.1f} MiB. **Growth after warm-up (runs {warm_start}-{args.runs}, "
          f"least squares over the samples): {slope_per_100(warm):.0f} KiB per 100 runs**; "
          f"from {warm_start} to {args.runs}: "
          f"{(end - by_runs[warm_start]['VmRSS']) / 1024:+.1f} MiB.\n")
    print(f"Store `{store.name}` (with its -wal/-shm files) after {args.runs} runs: "
          f"{store_bytes / 1024:.0f} KiB ({store_bytes / args.runs:.0f} bytes per run). "
          f"Exit status on SIGTERM: {code}.\n")
    print(f"Endpoint latency with {args.runs} runs in history ({args.probe_requests} sequential "
          f"requests each on one keep-alive connection, nothing else running):\n")
    print("| request | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: |")
    for path, values in endpoints.items():
        print(f"| `GET {path}` | {fmt_ms(percentile(values, 0.5))} | "
              f"{fmt_ms(percentile(values, 0.99))} | {fmt_ms(max(values))} |")
    print()


# --- the default rate limit --------------------------------------------------------

async def limits_command(args) -> None:
    service = Service(args.binary, args.config, args.port, Path(args.store), Path(args.log))
    try:
        await service.wait_ready()
        control = Connection(service.port, service.token)
        run_id, _ = await run_and_wait(service, control, args.job)
        control.close()
        loader = await start_loader(args, service, args.pollers, 0, args.seconds)
        result = await finish_loader(args, loader, run_id)
        polls = Samples(result["latencies"], result["errors"])
    finally:
        code = service.stop()
    refused = polls.errors.get("HTTP 429", 0)
    total = len(polls.latencies) + sum(v for k, v in polls.errors.items()
                                       if not k.startswith("HTTP"))
    print("## The default rate limit\n")
    print(f"A service whose config has no `rate_limit` (the default: 50 requests per second per "
          f"client address, burst 200), the same {args.pollers} pollers, every "
          f"{args.poll_interval:g} s for {args.seconds:g} s, all from {HOST}: {total} requests, "
          f"**{refused} refused with 429** ({100 * refused / max(1, total):.0f}%); other errors: "
          f"{errors_text({k: v for k, v in polls.errors.items() if k != 'HTTP 429'})}. "
          f"Exit status on SIGTERM: {code}.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("sync", "memory", "limits"):
        sub = commands.add_parser(name)
        sub.add_argument("--binary", required=True)
        sub.add_argument("--config", required=True)
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--store", required=True)
        sub.add_argument("--log", required=True)
        sub.add_argument("--job", required=True)
        if name in ("sync", "limits"):
            sub.add_argument("--loader", required=True, help="the freshet_serve_load executable")
            sub.add_argument("--pollers", type=int, default=100)
            sub.add_argument("--poll-interval", type=float, default=1.0)
    sync = commands.choices["sync"]
    sync.add_argument("--runs", type=int, default=3)
    sync.add_argument("--sse", type=int, default=10)
    sync.add_argument("--quiet-service", action="store_true",
                      help="also time service runs without pollers (one SSE watcher)")
    sync.add_argument("--source", required=True)
    sync.add_argument("--target", required=True)
    sync.add_argument("--sync-args", default="")
    sync.add_argument("--dev-admin", required=True)
    sync.add_argument("--prod-admin", required=True)
    sync.add_argument("--dev-db", default="dev")
    sync.add_argument("--dev-template", default="dev_template")
    memory = commands.choices["memory"]
    memory.add_argument("--runs", type=int, default=1000)
    memory.add_argument("--every", type=int, default=50)
    memory.add_argument("--warmup", type=int, default=100)
    memory.add_argument("--probe-requests", type=int, default=50)
    commands.choices["limits"].add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    command = {"sync": sync_command, "memory": memory_command, "limits": limits_command}
    asyncio.run(command[args.command](args))


if __name__ == "__main__":
    main()
