#!/usr/bin/python3
"""sync/service/openapi.json against what `freshet serve` answers.

Drives a real service (tests/service/serve_fixture.py) through every documented
operation, successes and errors, and validates each answer against the schema
the document gives for its path, method, status and content type. The schemas
are checked strictly: an object schema that lists `properties` but does not say
`additionalProperties` is closed for the test, so a field the server adds
without documenting it fails here. Also checks that the document and the route
table of sync/service/api.cc name the same routes with the same scopes.

    openapi_test.py path/to/freshet
"""
from __future__ import annotations

import copy
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path
from typing import Iterator, NamedTuple

import jsonschema

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from serve_fixture import ADMIN_TOKEN, READ_TOKEN, SCHEMA, ServeFixture, free_port  # noqa: E402

DOCUMENT = REPO / "sync" / "service" / "openapi.json"
API_CC = REPO / "sync" / "service" / "api.cc"
FRESHET = ""  # argv[1]
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
DEADLINE = 300  # seconds any one wait may take before the test gives up
BODY_LIMIT = 64 * 1024  # the default [service] max_request_bytes

# A second job writing the same target as `refresh`, refusing to queue.
STRICT_JOB = """
[jobs.strict]
kind = "sync"
from = "prod"
to = "dev"
jobs = 1
when_busy = "reject"
"""

PREVIEW_PASSWORD = "pw-for-previews"


def preview_job(serve: ServeFixture) -> str:
    """STRICT_JOB, and a preview job making databases on the dev cluster
    (migrated with the fixture's schema, synced from prod), at most one."""
    migrations = serve.dir / "migrations"
    migrations.mkdir()
    (migrations / "20250101000000_schema.sql").write_text(SCHEMA)
    template = serve.clusters.url("dev", db="preview_{name}", password=PREVIEW_PASSWORD)
    return STRICT_JOB + f"""
[targets.preview]
url_template = "{template}"
[jobs.previews]
kind = "preview"
from = "prod"
to = "preview"
migrations = "{migrations}"
max_previews = 1
jobs = 1
"""


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def media(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> object:
        return json.loads(self.body)


def request(port: int, method: str, path: str, body: bytes | None = None,
            token: str | None = ADMIN_TOKEN, headers: dict[str, str] | None = None,
            source: str | None = None) -> Answer:
    """One request on a fresh connection (from `source`, a local address)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE,
                                      source_address=(source, 0) if source else None)
    try:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read())
    finally:
        conn.close()


class EventStream:
    """GET /v1/runs/{id}/events, read event by event."""

    def __init__(self, port: int, run_id: int, token: str = ADMIN_TOKEN):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE)
        self.conn.request("GET", f"/v1/runs/{run_id}/events",
                          headers={"Authorization": f"Bearer {token}"})
        self.response = self.conn.getresponse()
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}
        self.status = self.response.status
        self.events: list[tuple[str, str]] = []

    def next(self) -> tuple[str, str] | None:
        """The next event (name, data), or None when the server closed the stream."""
        name, data = "message", []
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data:
                    self.events.append((name, "\n".join(data)))
                    return self.events[-1]
                name = "message"
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)

    def rest(self) -> list[tuple[str, str]]:
        while self.next() is not None:
            pass
        self.conn.close()
        return self.events


def strictify(node: object) -> object:
    """Closes every object schema that lists properties but leaves
    additionalProperties open (for the test only: the document may stay open)."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            strictify(value)
    elif isinstance(node, list):
        for value in node:
            strictify(value)
    return node


class Document:
    """The OpenAPI document, its schemas resolvable by $ref."""

    def __init__(self, path: Path):
        self.raw = path.read_bytes()
        self.doc = json.loads(self.raw)
        self.strict = strictify(copy.deepcopy(self.doc))
        self.resolver = jsonschema.RefResolver.from_schema(self.strict)

    def resolve(self, node: dict) -> dict:
        while "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            node = self.strict
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def operations(self) -> Iterator[tuple[str, str, dict]]:
        for path, item in self.doc["paths"].items():
            for method, operation in item.items():
                if method in METHODS:
                    yield method.upper(), path, operation

    def scope(self, method: str, path: str) -> str | None:
        """The scope an operation needs (its security role), None for no token."""
        operation = self.doc["paths"][path][method.lower()]
        security = operation.get("security", self.doc.get("security", []))
        if not security:
            return None
        (requirement,) = security
        (roles,) = requirement.values()
        (role,) = roles
        return role

    def response(self, method: str, path: str, status: int) -> dict | None:
        responses = self.strict["paths"][path][method.lower()]["responses"]
        spec = responses.get(str(status))
        return self.resolve(spec) if spec is not None else None

    def problem(self, schema: dict, instance: object) -> str | None:
        """Why `instance` does not match `schema` (the most relevant error), or None."""
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is None:
            return None
        where = "/".join(str(part) for part in error.absolute_path) or "(the body)"
        return f"at {where}: {error.message[:800]}"

    def validate(self, schema: dict, instance: object) -> None:
        problem = self.problem(schema, instance)
        if problem:
            raise AssertionError(problem)


def api_cc_routes() -> dict[tuple[str, str], str | None]:
    """The route table of api.cc: (METHOD, /path/{param}) -> scope."""
    text = API_CC.read_text()
    block = re.search(r"routes_\s*=\s*\{(.*?)\n\s*\};", text, re.S)
    assert block, "api.cc has no `routes_ = {...};` block"
    routes = {}
    for method, segments, scope in re.findall(
            r'\{\s*V::(\w+)\s*,\s*\{((?:\s*"[^"]*"\s*,?)*)\}\s*,\s*([\w:]+)\s*,', block.group(1)):
        path = "/" + "/".join(re.findall(r'"([^"]*)"', segments))
        routes[(method.upper().rstrip("_"), path)] = {  # V::delete_
            "std::nullopt": None, "Scope::kRead": "read", "Scope::kTrigger": "trigger",
            "Scope::kAdmin": "admin"}[scope]
    assert routes, "no routes parsed from api.cc"
    assert len(routes) == block.group(1).count("V::"), "a route of api.cc was not understood"
    return routes


def wait_for(what: str, check, process: subprocess.Popen, log) -> object:
    """Polls `check` (a cheap local test or one request) until it returns a
    truthy value; fails when the service exits or DEADLINE passes."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = check()
        if value:
            return value
        if process.poll() is not None:
            raise AssertionError(f"freshet serve exited while waiting for {what}: {log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {log()}")
        time.sleep(0.05)


class Failures(unittest.TextTestResult):
    failed = False

    def addFailure(self, test, err):
        Failures.failed = True
        super().addFailure(test, err)

    def addError(self, test, err):
        Failures.failed = True
        super().addError(test, err)


class OpenApiTest(unittest.TestCase):
    """One service; setUpClass takes runs through their lives (a paused run,
    a queued one cancelled, a running one cancelled, one that succeeds) and
    keeps the answers; the tests check them and ask for more."""

    doc: Document
    serve: ServeFixture
    seen: dict[str, Answer | list]
    covered: set[tuple[str, str, int, str]] = set()

    @classmethod
    def setUpClass(cls) -> None:
        cls.doc = Document(DOCUMENT)
        cls.pause = None
        for attempt in range(1, 4):
            cls.serve = ServeFixture(FRESHET, extra_config=preview_job)
            cls.serve.dir.chmod(0o755)  # as root the clusters run as `postgres`; mkdtemp: 0700
            cls.pause = cls.serve.dir / "pause"
            cls.pause.mkdir()
            cls.serve.env = {"FRESHET_TEST_PAUSE_DIR": str(cls.pause),
                             "FRESHET_TEST_PAUSE_AT": "done copy"}
            try:
                cls.serve.__enter__()
                break
            except RuntimeError as error:
                # local_clusters.py picks ports from a fixed base: a test
                # starting clusters at the same moment can take the same one.
                shutil.rmtree(cls.serve.dir, ignore_errors=True)
                if "did not start the clusters" not in str(error) or attempt == 3:
                    raise
                print(f"the clusters did not start (attempt {attempt}); trying again",
                      file=sys.stderr)
        try:
            cls.seen = {}
            cls.live_scenario()
        except BaseException:
            print(cls.serve.output(), file=sys.stderr)
            cls.release()
            cls.serve.__exit__(None, None, None)
            raise

    @classmethod
    def release(cls) -> None:
        if cls.pause is not None:
            (cls.pause / "release").touch()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.release()
        if Failures.failed:
            print("---- freshet serve log ----\n" + cls.serve.output(), file=sys.stderr)
        cls.serve.__exit__(None, None, None)
        # Every documented operation was exercised, at least its success answer
        # (when the whole class ran, not a chosen test).
        every = {name for name in dir(cls) if name.startswith("test_")}
        if cls.ran != every:
            return
        missing = []
        for method, path, operation in cls.doc.operations():
            statuses = {status for m, p, status, _ in cls.covered if (m, p) == (method, path)}
            documented = {int(s) for s in operation["responses"]}
            success = {s for s in documented if s < 300}
            if not success <= statuses:
                missing.append(f"{method} {path}: {sorted(success - statuses)}")
            untested = sorted(documented - statuses)
            print(f"{method} {path}: checked {sorted(statuses)}"
                  + (f", not exercised {untested}" if untested else ""), file=sys.stderr)
        if missing:
            raise AssertionError(f"operations never answered with success: {missing}")

    ran: set[str] = set()

    def setUp(self) -> None:
        OpenApiTest.ran.add(self._testMethodName)

    # -- helpers ----------------------------------------------------------

    @classmethod
    def call(cls, method: str, path: str, body: bytes | str | None = None, **kwargs) -> Answer:
        if isinstance(body, str):
            body = body.encode()
        return request(cls.serve.port, method, path, body, **kwargs)

    @classmethod
    def log(cls) -> str:
        return cls.serve.output()

    @classmethod
    def live_scenario(cls) -> None:
        seen, serve = cls.seen, cls.serve
        seen["jobs_before"] = cls.call("GET", "/v1/jobs")

        # Run A pauses after its first table: a running run, cheaply.
        seen["trigger_a"] = cls.call("POST", "/v1/jobs/refresh/runs")
        a = seen["trigger_a"].json()["id"]
        wait_for("the run to pause", lambda: (cls.pause / "paused").exists(), serve.process,
                 cls.log)
        stream_a = EventStream(serve.port, a)
        seen["events_a_status"] = (stream_a.status, stream_a.headers)
        while True:  # progress comes about once a second while data loads
            event = stream_a.next()
            progress = json.loads(event[1])["progress"] if event else None
            if event is None or progress and "done" in [t["state"] for t in progress["tables"]]:
                break
        seen["run_a_running"] = cls.call("GET", f"/v1/runs/{a}")
        seen["report_a_running"] = cls.call("GET", f"/v1/runs/{a}/report")
        seen["trigger_strict_busy"] = cls.call("POST", "/v1/jobs/strict/runs")
        # Run B queues behind A (same target, when_busy = "queue").
        seen["trigger_b"] = cls.call("POST", "/v1/jobs/refresh/runs", b"{}")
        b = seen["trigger_b"].json()["id"]
        seen["list_queued"] = cls.call("GET", "/v1/runs?state=queued")
        seen["list_running"] = cls.call("GET", "/v1/runs?state=running")
        seen["jobs_busy"] = cls.call("GET", "/v1/jobs")
        seen["report_b_queued"] = cls.call("GET", f"/v1/runs/{b}/report")
        seen["cancel_b"] = cls.call("POST", f"/v1/runs/{b}/cancel")
        seen["cancel_b_again"] = cls.call("POST", f"/v1/runs/{b}/cancel")
        seen["report_b"] = cls.call("GET", f"/v1/runs/{b}/report")
        # Cancelling A, which is paused mid-run, ends its stream.
        seen["cancel_a"] = cls.call("POST", f"/v1/runs/{a}/cancel")
        seen["events_a"] = stream_a.rest()
        seen["run_a"] = cls.call("GET", f"/v1/runs/{a}")
        seen["report_a"] = cls.call("GET", f"/v1/runs/{a}/report")
        # Run C (the pause is spent) runs to the end.
        seen["trigger_c"] = cls.call("POST", "/v1/jobs/refresh/runs")
        c = seen["trigger_c"].json()["id"]
        stream_c = EventStream(serve.port, c)
        seen["events_c"] = stream_c.rest()
        cls.ids = {"a": a, "b": b, "c": c}

    def check(self, answer: Answer, method: str, path: str, status: int,
              media: str | None = None) -> object:
        """Asserts `answer` is documented for (method, path, status) with its
        content type, validates its body, and returns it (parsed if JSON)."""
        self.assertEqual(answer.status, status, f"{method} {path}: {answer.body[:500]!r}")
        spec = self.doc.response(method, path, status)
        self.assertIsNotNone(spec, f"{method} {path} answered {status}, which is not documented")
        content = spec.get("content", {})
        self.assertIn(answer.media, content,
                      f"{method} {path} {status}: content type {answer.media} not documented")
        if media:
            self.assertEqual(answer.media, media)
        for header in spec.get("headers", {}):
            self.assertIn(header.lower(), answer.headers,
                          f"{method} {path} {status}: no {header} header")
        OpenApiTest.covered.add((method, path, status, answer.media))
        schema = content[answer.media].get("schema", {})
        body = answer.json() if answer.media == "application/json" else answer.body.decode()
        problem = self.doc.problem(schema, body)
        if problem:
            self.fail(f"{method} {path} {status} {answer.media} does not match the document "
                      f"{problem}")
        return body

    def check_error(self, answer: Answer, method: str, path: str, status: int,
                    contains: str = "") -> str:
        body = self.check(answer, method, path, status, "application/json")
        self.doc.validate(self.doc.resolve({"$ref": "#/components/schemas/Error"}), body)
        self.assertIn(contains, body["error"])
        return body["error"]

    def check_events(self, events: list[tuple[str, str]], path: str) -> list[dict]:
        """`run` events, then exactly one `end`, each with a Run as data."""
        self.assertGreaterEqual(len(events), 2, events)
        names = [name for name, _ in events]
        self.assertEqual(names, ["run"] * (len(events) - 1) + ["end"])
        run_schema = self.doc.resolve({"$ref": "#/components/schemas/Run"})
        runs = [json.loads(data) for _, data in events]
        for run in runs:
            self.doc.validate(run_schema, run)
        self.assertIn(runs[-1]["state"], ("succeeded", "failed", "cancelled"))
        self.assertEqual(runs[-1], runs[-2], "`end` repeats the last `run`")
        OpenApiTest.covered.add(("GET", path, 200, "text/event-stream"))
        return runs

    # -- the document ---------------------------------------------------------

    def test_document_is_openapi_3_1_with_valid_schemas(self):
        doc = self.doc.doc
        self.assertEqual(doc["openapi"], "3.1.0")
        self.assertNotIn(b')embed"', self.doc.raw)  # cmake/EmbedFiles.cmake cannot embed it
        self.assertEqual(doc["components"]["securitySchemes"]["bearer"],
                         {**doc["components"]["securitySchemes"]["bearer"], "type": "http",
                          "scheme": "bearer"})
        for name, schema in doc["components"]["schemas"].items():
            with self.subTest(schema=name):
                jsonschema.Draft202012Validator.check_schema(schema)
        for name in ("Run", "Job", "Progress"):
            self.assertIs(doc["components"]["schemas"][name]["additionalProperties"], False)
        operation_ids = [op["operationId"] for _, _, op in self.doc.operations()]
        self.assertEqual(len(operation_ids), len(set(operation_ids)))
        refs = re.findall(r'"\$ref":\s*"([^"]+)"', self.doc.raw.decode())
        for ref in set(refs):
            with self.subTest(ref=ref):
                self.doc.resolve({"$ref": ref})
        for method, path, operation in self.doc.operations():
            with self.subTest(operation=f"{method} {path}"):
                declared = {self.doc.resolve(p)["name"] for p in operation.get("parameters", [])
                            if self.doc.resolve(p)["in"] == "path"}
                self.assertEqual(declared, set(re.findall(r"\{(\w+)\}", path)))
                for status, response in operation["responses"].items():
                    content = response.get("content") or self.doc.resolve(response)["content"]
                    for media in content.values():
                        jsonschema.Draft202012Validator.check_schema(media.get("schema", {}))
                    if int(status) >= 400 and (path, status) != ("/readyz", "503"):
                        # Errors are {"error": ...}, the shape scripts rely on.
                        self.assertEqual(self.doc.resolve(response)["content"],
                                         {"application/json": {"schema": {
                                             "$ref": "#/components/schemas/Error"}}},
                                         f"{status}")
                if self.doc.scope(method, path) is not None:
                    self.assertIn("401", operation["responses"])
                if self.doc.scope(method, path) not in (None, "read"):
                    self.assertIn("403", operation["responses"])

    def test_document_names_the_routes_of_api_cc_with_their_scopes(self):
        documented = {(method, path): self.doc.scope(method, path)
                      for method, path, _ in self.doc.operations()}
        self.assertEqual(documented, api_cc_routes())

    # -- routing and tokens -----------------------------------------------------

    def concrete(self, path: str) -> str:
        """A documented path with its parameters filled in: a run that exists,
        and a job and a preview that do not (so a trigger is refused, not
        queued, and nothing is dropped)."""
        return (path.replace("{id}", str(self.ids["c"])).replace("{job}", "no-such-job")
                .replace("{name}", "no-such-preview"))

    def test_every_documented_operation_is_routed(self):
        for method, path, _ in self.doc.operations():
            with self.subTest(operation=f"{method} {path}"):
                answer = self.call(method, self.concrete(path))
                self.assertNotEqual(answer.status, 405)
                if answer.status == 404:
                    self.assertFalse(answer.json()["error"].startswith("no route"), answer.body)
                self.check(answer, method, path, answer.status)

    def test_undocumented_methods_on_documented_paths_answer_405(self):
        for path, item in self.doc.doc["paths"].items():
            for method in ("GET", "POST", "DELETE"):
                if method.lower() in item:
                    continue
                with self.subTest(operation=f"{method} {path}"):
                    answer = self.call(method, self.concrete(path))
                    self.assertEqual(answer.status, 405, answer.body)
                    self.assertEqual(answer.media, "application/json")
                    self.assertIn("is not allowed", answer.json()["error"])
                    documented = sorted(m.upper() for m in item if m in ("get", "post", "delete"))
                    allowed = sorted(m.strip() for m in answer.headers["allow"].split(","))
                    self.assertEqual(allowed, documented)

    def test_operations_with_a_scope_refuse_requests_without_a_valid_token(self):
        for method, path, _ in self.doc.operations():
            if self.doc.scope(method, path) is None:
                continue
            for token in (None, "not-a-token"):
                with self.subTest(operation=f"{method} {path}", token=token):
                    answer = self.call(method, self.concrete(path), token=token)
                    self.check_error(answer, method, path, 401, "bearer token")
                    self.assertEqual(answer.headers["www-authenticate"], 'Bearer realm="freshet"')

    def test_a_read_token_may_read_but_not_trigger_or_cancel(self):
        for method, path, _ in self.doc.operations():
            scope = self.doc.scope(method, path)
            with self.subTest(operation=f"{method} {path}", scope=scope):
                answer = self.call(method, self.concrete(path), token=READ_TOKEN)
                if scope in (None, "read"):
                    self.assertNotIn(answer.status, (401, 403), answer.body)
                    self.check(answer, method, path, answer.status)
                else:
                    self.check_error(answer, method, path, 403, "has scope 'read'")

    def test_probes_need_no_token(self):
        body = self.check(self.call("GET", "/healthz", token=None), "GET", "/healthz", 200)
        self.assertEqual(body, {"status": "ok", "role": "single"})
        body = self.check(self.call("GET", "/readyz", token=None), "GET", "/readyz", 200)
        self.assertEqual(body, {"status": "ready"})

    def test_metrics_are_prometheus_text(self):
        answer = self.call("GET", "/metrics")
        text = self.check(answer, "GET", "/metrics", 200, "text/plain")
        self.assertIn("version=0.0.4", answer.headers["content-type"])
        self.assertRegex(text, r"(?m)^# TYPE \w+ (counter|gauge|histogram|summary)$")

    def test_openapi_route_serves_this_file_byte_for_byte(self):
        answer = self.call("GET", "/v1/openapi.json")
        self.check(answer, "GET", "/v1/openapi.json", 200, "application/json")
        self.assertEqual(answer.body, self.doc.raw,
                         "the binary embeds another openapi.json: rebuild freshet")

    def test_too_many_requests_from_one_client_answer_429(self):
        # From 127.0.0.2: the limiter counts per client address, so the other
        # tests (from 127.0.0.1) keep their budget.
        conn = http.client.HTTPConnection("127.0.0.1", self.serve.port, timeout=DEADLINE,
                                          source_address=("127.0.0.2", 0))
        try:
            for _ in range(2000):
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                answer = Answer(response.status,
                                {k.lower(): v for k, v in response.getheaders()}, response.read())
                if answer.status != 200:
                    break
            self.check_error(answer, "GET", "/healthz", 429, "too many requests")
            self.assertEqual(answer.headers["retry-after"], "1")
            # Limited before the token is looked at: the bucket refills 50 a
            # second, so some of these may be answered (401) before one is not.
            for _ in range(2000):
                conn.request("GET", "/v1/runs")
                response = conn.getresponse()
                limited = Answer(response.status,
                                 {k.lower(): v for k, v in response.getheaders()}, response.read())
                if limited.status != 401:
                    break
            self.check_error(limited, "GET", "/v1/runs", 429)
        finally:
            conn.close()

    # -- jobs and triggers ------------------------------------------------------

    def test_jobs_list_the_config_with_their_latest_run(self):
        before = self.check(self.seen["jobs_before"], "GET", "/v1/jobs", 200)
        self.assertEqual([job["name"] for job in before["jobs"]], ["refresh", "strict", "previews"])
        refresh, strict, previews = before["jobs"]
        self.assertEqual((previews["kind"], previews["overridable"]), ("preview", ["name"]))
        self.assertEqual((refresh["kind"], refresh["from"], refresh["to"]), ("sync", "prod", ["dev"]))
        self.assertEqual((refresh["schedule"], refresh["time_zone"]), ("0 2 * * 0", "Europe/Berlin"))
        self.assertIsInstance(refresh["next_run"], str)
        self.assertEqual((refresh["when_busy"], strict["when_busy"]), ("queue", "reject"))
        self.assertEqual((strict["schedule"], strict["next_run"], strict["time_zone"]),
                         (None, None, "UTC"))
        self.assertIsNone(refresh["last_run"])
        busy = self.check(self.seen["jobs_busy"], "GET", "/v1/jobs", 200)
        self.assertEqual(busy["jobs"][0]["last_run"]["id"], self.ids["b"])
        self.assertEqual(busy["jobs"][0]["last_run"]["state"], "queued")
        after = self.check(self.call("GET", "/v1/jobs"), "GET", "/v1/jobs", 200)
        self.assertEqual(after["jobs"][0]["last_run"]["id"], self.ids["c"])

    def test_trigger_answers_202_with_the_run_and_its_location(self):
        path = "/v1/jobs/{job}/runs"
        running = self.check(self.seen["trigger_a"], "POST", path, 202, "application/json")
        self.assertEqual(running["job"], "refresh")
        self.assertEqual((running["trigger"], running["requested_by"]), ("api", "FRESHET_API_TOKEN"))
        self.assertEqual(running["url"], f"/v1/runs/{running['id']}")
        self.assertEqual(self.seen["trigger_a"].headers["location"], running["url"])
        dev_port = self.serve.clusters.ports["dev"]
        self.assertEqual(running["targets"], ["target:dev", f"database:127.0.0.1:{dev_port}/postgres"])
        queued = self.check(self.seen["trigger_b"], "POST", path, 202)
        self.assertEqual(queued["state"], "queued")
        self.assertEqual((queued["started_at"], queued["exit_status"], queued["progress"]),
                         (None, None, None))

    def test_trigger_of_a_busy_job_that_does_not_queue_answers_409(self):
        self.check_error(self.seen["trigger_strict_busy"], "POST", "/v1/jobs/{job}/runs", 409,
                         "does not queue")

    def test_trigger_refuses_unknown_jobs_and_bad_bodies(self):
        path = "/v1/jobs/{job}/runs"
        self.check_error(self.call("POST", "/v1/jobs/no-such-job/runs"), "POST", path, 404,
                         "no job named 'no-such-job'")
        for body, message in (("not json", "not JSON"), ("[1, 2]", "must be a JSON object"),
                              ('{"name": "pr-1"}', "takes no overrides")):
            with self.subTest(body=body):
                self.check_error(self.call("POST", "/v1/jobs/refresh/runs", body), "POST", path,
                                 400, message)

    def test_trigger_bodies_over_64_kib_answer_413(self):
        path = "/v1/jobs/{job}/runs"
        # At the limit the body is read (and the unknown job refused)...
        fits = "{}" + " " * (BODY_LIMIT - 2)
        self.check_error(self.call("POST", "/v1/jobs/no-such-job/runs", fits), "POST", path, 404)
        # ...one byte more is refused from the Content-Length alone; the
        # server then closes the connection.
        conn = http.client.HTTPConnection("127.0.0.1", self.serve.port, timeout=DEADLINE)
        try:
            conn.putrequest("POST", "/v1/jobs/refresh/runs")
            conn.putheader("Authorization", f"Bearer {ADMIN_TOKEN}")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(BODY_LIMIT + 1))
            conn.endheaders()
            response = conn.getresponse()
            answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                            response.read())
        finally:
            conn.close()
        self.check_error(answer, "POST", path, 413, str(BODY_LIMIT))
        self.assertEqual(answer.headers.get("connection"), "close")

    # -- runs -------------------------------------------------------------------

    def test_a_running_run_shows_its_progress(self):
        run = self.check(self.seen["run_a_running"], "GET", "/v1/runs/{id}", 200)
        self.assertEqual(run["state"], "running")
        self.assertIsNotNone(run["started_at"])
        self.assertIsNone(run["finished_at"])
        self.assertIsNone(run["exit_status"])
        self.assertIsInstance(run["last_step"], str)
        progress = run["progress"]
        self.assertIsNotNone(progress, "no progress while paused after the first table")
        self.assertEqual({t["table"] for t in progress["tables"]},
                         {"public.accounts", "public.orders"})
        self.assertIn("done", [t["state"] for t in progress["tables"]])

    def test_runs_filter_by_state_and_job_and_page_with_before(self):
        queued = self.check(self.seen["list_queued"], "GET", "/v1/runs", 200)["runs"]
        self.assertEqual([run["id"] for run in queued], [self.ids["b"]])
        running = self.check(self.seen["list_running"], "GET", "/v1/runs", 200)["runs"]
        self.assertEqual([run["id"] for run in running], [self.ids["a"]])
        self.assertIsNotNone(running[0]["progress"])
        everything = self.check(self.call("GET", "/v1/runs"), "GET", "/v1/runs", 200)["runs"]
        ids = [run["id"] for run in everything]
        self.assertEqual(ids, sorted(ids, reverse=True))
        # (the previews test may have added a run of another job)
        refresh = [run["id"] for run in everything if run["job"] == "refresh"]
        self.assertEqual(refresh[:3], [self.ids["c"], self.ids["b"], self.ids["a"]])
        page = self.check(self.call("GET", f"/v1/runs?limit=1&before={self.ids['c']}"),
                          "GET", "/v1/runs", 200)["runs"]
        self.assertEqual([run["id"] for run in page], [self.ids["b"]])
        cancelled = self.check(self.call("GET", "/v1/runs?state=cancelled&job=refresh"),
                               "GET", "/v1/runs", 200)["runs"]
        self.assertEqual({run["id"] for run in cancelled}, {self.ids["a"], self.ids["b"]})
        none = self.check(self.call("GET", "/v1/runs?job=no-such-job"), "GET", "/v1/runs", 200)
        self.assertEqual(none, {"runs": []})

    def test_runs_refuse_bad_query_parameters(self):
        for query, message in (("state=done", "state must be one of"),
                               ("limit=0", "limit must be a positive integer"),
                               ("limit=ten", "limit must be a positive integer"),
                               ("before=-1", "before must be a positive integer"),
                               ("job=%zz", "malformed query string")):
            with self.subTest(query=query):
                self.check_error(self.call("GET", f"/v1/runs?{query}"), "GET", "/v1/runs", 400,
                                 message)

    def test_run_routes_refuse_bad_and_unknown_ids(self):
        for method, path, _ in self.doc.operations():
            if "{id}" not in path:
                continue
            for run_id, status, message in (("abc", 400, "positive integer"),
                                            ("0", 400, "positive integer"),
                                            ("999999", 404, "no run 999999")):
                with self.subTest(operation=f"{method} {path}", id=run_id):
                    answer = self.call(method, path.replace("{id}", run_id))
                    self.check_error(answer, method, path, status, message)

    def test_cancel_of_a_queued_run_is_immediate(self):
        run = self.check(self.seen["cancel_b"], "POST", "/v1/runs/{id}/cancel", 202)
        self.assertEqual(run["state"], "cancelled")
        self.assertEqual(run["error"], "cancelled before it started")
        self.assertIsNone(run["exit_status"])
        self.assertIsNone(run["started_at"])

    def test_cancel_of_a_running_run_is_requested_and_ends_it(self):
        run = self.check(self.seen["cancel_a"], "POST", "/v1/runs/{id}/cancel", 202)
        self.assertIn(run["state"], ("running", "cancelled"))
        final = self.check(self.seen["run_a"], "GET", "/v1/runs/{id}", 200)
        self.assertEqual(final["state"], "cancelled")
        self.assertIsNotNone(final["exit_status"])
        self.assertIsNone(final["progress"])
        self.assertIsNone(final["last_step"])

    def test_cancel_of_a_finished_run_answers_409(self):
        self.check_error(self.seen["cancel_b_again"], "POST", "/v1/runs/{id}/cancel", 409,
                         "already cancelled")
        self.check_error(self.call("POST", f"/v1/runs/{self.ids['c']}/cancel"), "POST",
                         "/v1/runs/{id}/cancel", 409, "already succeeded")

    def test_events_stream_run_events_then_one_end(self):
        path = "/v1/runs/{id}/events"
        status, headers = self.seen["events_a_status"]
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"].split(";")[0], "text/event-stream")
        self.assertIn("text/event-stream", self.doc.response("GET", path, 200)["content"])
        runs = self.check_events(self.seen["events_a"], path)
        self.assertEqual(runs[0]["state"], "running")
        self.assertEqual(runs[-1]["state"], "cancelled")
        runs = self.check_events(self.seen["events_c"], path)
        self.assertEqual(runs[-1]["state"], "succeeded")
        self.assertEqual(runs[-1]["exit_status"], 0)
        # A finished run's stream is its run and the end, at once.
        stream = EventStream(self.serve.port, self.ids["c"])
        self.assertEqual(stream.status, 200)
        runs = self.check_events(stream.rest(), path)
        self.assertEqual(len(runs), 2)
        self.assertEqual(runs[-1], self.check(self.call("GET", f"/v1/runs/{self.ids['c']}"),
                                              "GET", "/v1/runs/{id}", 200))

    def test_log_is_text_or_json_on_request(self):
        path = "/v1/runs/{id}/log"
        c = self.ids["c"]
        text = self.check(self.call("GET", f"/v1/runs/{c}/log"), "GET", path, 200, "text/plain")
        lines = self.check(self.call("GET", f"/v1/runs/{c}/log",
                                     headers={"Accept": "application/json"}),
                           "GET", path, 200, "application/json")["lines"]
        self.assertGreater(len(lines), 1)
        # One entry a line, but a message may hold line breaks (a server's DETAIL).
        self.assertEqual(text, "".join(f"{line['at']} {line['level']} {line['message']}\n"
                                       for line in lines))
        self.assertIn(f"run {c} succeeded", lines[-1]["message"])

    def test_report_of_a_finished_run_is_json_or_markdown(self):
        path = "/v1/runs/{id}/report"
        c = self.ids["c"]
        report = self.check(self.call("GET", f"/v1/runs/{c}/report"), "GET", path, 200,
                            "application/json")
        self.doc.validate(self.doc.resolve({"$ref": "#/components/schemas/Report"}), report)
        self.assertTrue(report["ok"])
        self.assertEqual(report["totals"]["rows"], 32000)
        self.assertEqual({t["table"] for t in report["tables"]}, {"public.accounts", "public.orders"})
        markdown = self.check(self.call("GET", f"/v1/runs/{c}/report",
                                        headers={"Accept": "text/markdown"}),
                              "GET", path, 200, "text/markdown")
        self.assertTrue(markdown.startswith("## freshet sync"), markdown[:200])

    def test_report_of_an_unfinished_run_answers_409(self):
        self.check_error(self.seen["report_a_running"], "GET", "/v1/runs/{id}/report", 409,
                         "is running")
        self.check_error(self.seen["report_b_queued"], "GET", "/v1/runs/{id}/report", 409,
                         "is queued")

    def test_report_of_a_run_that_made_none_answers_404(self):
        self.check_error(self.seen["report_b"], "GET", "/v1/runs/{id}/report", 404,
                         "ended without a report")
        # A run cancelled mid-way may have a partial report (ok false) or none.
        answer = self.seen["report_a"]
        body = self.check(answer, "GET", "/v1/runs/{id}/report", answer.status)
        if answer.status == 200:
            self.assertFalse(body["ok"])

    # -- previews -----------------------------------------------------------------

    def test_previews_are_made_listed_refused_and_dropped(self):
        collection, item = "/v1/previews", "/v1/previews/{name}"
        made = self.check(self.call("POST", collection, json.dumps({"name": "pr-7"})), "POST",
                          collection, 202, "application/json")
        dev_port = self.serve.clusters.ports["dev"]
        self.assertEqual((made["job"], made["targets"]),
                         ("previews", ["target:preview/pr-7",
                                       f"database:127.0.0.1:{dev_port}/preview_pr-7"]))
        self.assertEqual(made["preview"]["name"], "pr-7")
        self.assertIn(PREVIEW_PASSWORD, made["preview"]["url"])  # an admin token: the password
        runs = self.check_events(EventStream(self.serve.port, made["id"]).rest(),
                                 "/v1/runs/{id}/events")
        self.assertEqual(runs[-1]["state"], "succeeded", self.log())
        report = self.check(self.call("GET", f"/v1/runs/{made['id']}/report"), "GET",
                            "/v1/runs/{id}/report", 200, "application/json")
        self.assertEqual((report["command"], report["preview"]["created"]), ("preview", True))
        self.assertEqual(report["migrate"]["applied"], ["20250101000000_schema.sql"])
        self.assertEqual(report["load"]["totals"]["rows"], 32000)

        listed = self.check(self.call("GET", collection, token=READ_TOKEN), "GET", collection, 200)
        (preview,) = [p for p in listed["previews"] if p["name"] == "pr-7"]
        self.assertNotIn(PREVIEW_PASSWORD, preview["url"])
        self.assertTrue(preview["url"].endswith("/preview_pr-7"), preview["url"])
        self.assertGreater(preview["size_bytes"], 0)
        self.assertEqual(preview["last_refresh"]["run"], made["id"])
        self.assertIsNone(preview["active_run"])

        self.check_error(self.call("POST", collection, json.dumps({"name": "PR 7!"})), "POST",
                         collection, 400, "does not match the pattern")
        self.check_error(self.call("POST", collection, json.dumps({"name": "pr-7", "x": 1})),
                         "POST", collection, 400, "'x' is not a field")
        self.check_error(self.call("POST", collection, json.dumps({"name": "pr-8"})), "POST",
                         collection, 409, "at most 1 previews")
        dropped = self.check(self.call("DELETE", "/v1/previews/pr-7"), "DELETE", item, 200)
        self.assertEqual(dropped, {"name": "pr-7", "job": "previews", "dropped": True})
        self.check_error(self.call("DELETE", "/v1/previews/pr-7"), "DELETE", item, 404,
                         "no preview named 'pr-7'")
        listed = self.check(self.call("GET", collection), "GET", collection, 200)
        self.assertEqual(listed["previews"], [])

    # -- shutting down ----------------------------------------------------------

    def test_a_service_shutting_down_is_not_ready_and_refuses_triggers(self):
        # A second service on the same clusters, with a long shutdown timeout:
        # after SIGTERM it waits for its paused run, answering meanwhile.
        work = self.serve.dir / "draining"
        pause = work / "pause"
        pause.mkdir(parents=True)
        config = (self.serve.dir / "freshet.toml").read_text()
        self.assertIn('shutdown_timeout = "0s"', config)
        (work / "freshet.toml").write_text(
            config.replace('shutdown_timeout = "0s"', 'shutdown_timeout = "600s"'))
        port = free_port()
        log_file = open(work / "serve.log", "w+")
        process = subprocess.Popen(
            [FRESHET, "serve", "--config", str(work / "freshet.toml"), "--listen",
             f"127.0.0.1:{port}", "--store", str(work / "runs.db")],
            env={**os.environ, "FRESHET_API_TOKEN": ADMIN_TOKEN,
                 "FRESHET_TEST_PAUSE_DIR": str(pause), "FRESHET_TEST_PAUSE_AT": "done copy"},
            stdout=log_file, stderr=subprocess.STDOUT)
        log = lambda: (work / "serve.log").read_text()  # noqa: E731

        def ready() -> bool:
            try:
                return request(port, "GET", "/readyz", token=None).status == 200
            except OSError:
                return False

        try:
            wait_for("the second service to be ready", ready, process, log)
            answer = request(port, "POST", "/v1/jobs/refresh/runs")
            self.assertEqual(answer.status, 202, answer.body)
            wait_for("its run to pause", lambda: (pause / "paused").exists(), process, log)
            process.send_signal(signal.SIGTERM)
            not_ready = wait_for(
                "/readyz to answer 503",
                lambda: (lambda a: a if a.status == 503 else None)(
                    request(port, "GET", "/readyz", token=None)), process, log)
            body = self.check(not_ready, "GET", "/readyz", 503, "application/json")
            self.assertEqual(body, {"status": "not ready", "reason": "shutting down"})
            self.check_error(request(port, "POST", "/v1/jobs/refresh/runs"), "POST",
                             "/v1/jobs/{job}/runs", 503, "shutting down")
            (pause / "release").touch()
            self.assertEqual(process.wait(timeout=DEADLINE), 0, log())
        finally:
            (pause / "release").touch()
            if process.poll() is None:
                process.kill()
                process.wait()
            log_file.close()


def main() -> None:
    global FRESHET
    if len(sys.argv) < 2:
        sys.exit("usage: openapi_test.py path/to/freshet [unittest arguments]")
    FRESHET = sys.argv.pop(1)
    runner = unittest.TextTestRunner(resultclass=Failures, verbosity=2)
    unittest.main(testRunner=runner)


if __name__ == "__main__":
    main()
