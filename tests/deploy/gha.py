#!/usr/bin/python3
"""Run GitHub Actions workflow jobs locally, for tests of deploy/github/.

A job's steps run for real, in order, as child processes with the
environment the workflow gives them (workflow, job and step `env`, runner
files, GITHUB_* variables), starting from a minimal base environment so a
step cannot pass on something the test process happens to have.

What a hosted runner would fetch from the network is replaced: local
composite actions are loaded from the workspace or from a caller-given map,
and third-party actions are caller-declared Python stand-ins.  Any other
`uses:` is an error.

A job `container:` is accepted only for images the caller says this host
stands in for (`host_images`, e.g. debian:bookworm-slim on a bookworm host):
its steps then run on the host, with the container default shell (`sh -e`)
when no shell is set.  What differs from a real container (the image's own
packages, paths such as `github.workspace` that name the host's directories
there) is not modelled.

Deliberately not implemented (a WorkflowError names them): `strategy` /
`matrix`, `services`, reusable workflows (job `uses:`), job level
`continue-on-error`, node and docker actions.  Trigger filters (branches,
paths, types) are not evaluated; only the event name is checked.  All jobs
share one workspace (on GitHub each job gets a fresh runner).

Usage as a module:

    result = Harness(workspace, secrets={"GITHUB_TOKEN": "t"},
                     event_name="pull_request", event={...}).run(path, job="x")
    assert result.jobs["x"].result == "success" and not result.secret_leaked

Usage as a CLI: python3 gha.py WORKFLOW --job J --event pull_request ...

This module holds YAML loading, the Harness, process handling and the CLI;
the rest lives beside it, one concern a file, and is re-exported here so
`import gha` is all a caller needs:
  - gha_errors.py: WorkflowError, ExpressionError;
  - gha_expressions.py: expression values, parsing and the Evaluator;
  - gha_results.py: RunResult and friends, masking, workflow commands and
    runner files (GITHUB_ENV / GITHUB_OUTPUT);
  - gha_stand_ins.py: stand-ins for third-party actions (checkout_noop,
    cache_miss, upload_artifact, ...).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from gha_errors import ExpressionError, WorkflowError
from gha_expressions import (
    Evaluator, compare, format_number, index, kind_of, lookup, loose_equal, parse_expression,
    split_template, to_number, to_str, tokenize, truthy, uses_status_function)
from gha_results import (
    Annotation, JobResult, Leak, Masker, RunResult, StepResult, format_step, parse_command,
    parse_runner_file)
from gha_stand_ins import (
    BUILTIN_STAND_INS, StandIn, StandInCall, cache_miss, checkout_from, checkout_noop,
    download_artifact, upload_artifact)

__all__ = [
    # Re-exported from gha_errors, gha_expressions, gha_results, gha_stand_ins.
    "ExpressionError", "WorkflowError",
    "Evaluator", "compare", "format_number", "index", "kind_of", "lookup", "loose_equal",
    "parse_expression", "split_template", "to_number", "to_str", "tokenize", "truthy",
    "uses_status_function",
    "Annotation", "JobResult", "Leak", "Masker", "RunResult", "StepResult", "format_step",
    "parse_command", "parse_runner_file",
    "BUILTIN_STAND_INS", "StandIn", "StandInCall", "cache_miss", "checkout_from", "checkout_noop",
    "download_artifact", "upload_artifact",
    # Defined here.
    "load_yaml", "WORKFLOW_KEYS", "JOB_KEYS", "UNSUPPORTED_JOB_KEYS", "STEP_KEYS", "SHELLS",
    "Harness", "main",
]


# ---------------------------------------------------------------------------
# YAML loading (YAML 1.2 scalars, as GitHub parses them)
# ---------------------------------------------------------------------------

class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars.

    PyYAML implements YAML 1.1, where `on`, `yes`, `off` are booleans,
    `1:30` is sexagesimal and `2024-01-01` a date; GitHub reads all of
    these as strings.
    """


_DROPPED_TAGS = {"tag:yaml.org,2002:" + t for t in ("bool", "int", "float", "timestamp")}
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"))
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?[0-9]+[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"))


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    """Build a YAML 1.2 integer (no YAML 1.1 octal or underscores)."""
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file with GitHub's (YAML 1.2) scalar rules."""
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Yaml12Loader)  # noqa: S506 - SafeLoader subclass


# ---------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------

WORKFLOW_KEYS = {"name", "run-name", "on", "env", "defaults", "jobs", "permissions", "concurrency"}
JOB_KEYS = {"name", "needs", "runs-on", "environment", "env", "defaults", "if", "steps",
            "outputs", "timeout-minutes", "permissions", "concurrency", "container"}
UNSUPPORTED_JOB_KEYS = {"strategy", "services", "uses", "with", "secrets", "continue-on-error"}
STEP_KEYS = {"id", "if", "name", "uses", "run", "shell", "with", "env", "continue-on-error",
             "timeout-minutes", "working-directory"}
SHELLS = {
    None: "bash -e {0}",  # no shell given anywhere, on the runner (GitHub's Linux default)
    "bash": "bash --noprofile --norc -eo pipefail {0}",
    "sh": "sh -e {0}",
    "python": "python {0}",
}


@dataclass
class _Job:
    """Mutable state of a running job."""
    id: str
    github: dict[str, Any]
    secrets: dict[str, str]
    vars: dict[str, str]
    needs: dict[str, Any]
    env: dict[str, str]
    defaults: dict[str, str]
    temp: Path
    runner: dict[str, str]
    deadline: float
    timeout_minutes: float
    status: str = "success"
    env_file: dict[str, str] = field(default_factory=dict)
    path_entries: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    pgids: list[int] = field(default_factory=list)


@dataclass
class _Scope:
    """A sequence of steps: the job's, or a composite action's."""
    job: _Job
    inputs: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    action_path: str | None = None
    parent: _Scope | None = None
    steps: dict[str, Any] = field(default_factory=dict)
    failed: bool = False
    depth: int = 0

    def status(self) -> str:
        """success / failure / cancelled as status functions see it."""
        if self.job.status == "cancelled":
            return "cancelled"
        if self.failed:
            return "failure"
        return self.parent.status() if self.parent else self.job.status


class _StepFailed(Exception):
    """A step failed for a reason the harness reports (not an exit code)."""


class Harness:
    """Runs workflow jobs locally; see the module docstring."""

    def __init__(self, workspace: str | Path, *, secrets: dict[str, str] | None = None,
                 vars: dict[str, str] | None = None, event_name: str = "push",  # noqa: A002
                 event: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
                 action_map: dict[str, str | Path] | None = None,
                 stand_ins: dict[str, StandIn] | None = None, github: dict[str, Any] | None = None,
                 base_env: dict[str, str] | None = None,
                 environments: dict[str, dict[str, dict[str, str]]] | None = None,
                 artifacts_dir: str | Path | None = None, kill_orphans: bool = True,
                 echo: Any = None, host_images: set[str] | None = None):
        self.workspace = Path(workspace).resolve()
        self.secrets = dict(secrets or {})
        self.secrets.setdefault("GITHUB_TOKEN", "ghs_harness" + uuid.uuid4().hex)
        self.vars = dict(vars or {})
        self.event_name = event_name
        self.event = dict(event or {})
        self.inputs = dict(inputs or {})
        self.action_map = {k: Path(v) for k, v in (action_map or {}).items()}
        self.stand_ins = dict(stand_ins or {})
        self.github_overrides = dict(github or {})
        self.base_env = dict(base_env or {})
        self.environments = dict(environments or {})
        self.artifacts_dir = Path(artifacts_dir) if artifacts_dir else None
        self.kill_orphans = kill_orphans
        self.echo = echo
        # Job `container:` images this host stands in for (steps then run on
        # the host, e.g. a Debian bookworm host for debian:bookworm-slim).
        # Any other image is an error.
        self.host_images = set(host_images or ())

    # -- entry point ---------------------------------------------------------

    def run(self, workflow_path: str | Path, job: str | None = None, *, needs: bool = True,
            needs_results: dict[str, dict[str, Any]] | None = None) -> RunResult:
        """Run `job` (with its `needs` chain unless needs=False) or every job.

        With needs=False, `needs_results` gives the needed jobs' results as
        {job: {"result": "success", "outputs": {...}}}.
        """
        workflow = self._load_workflow(Path(workflow_path))
        inputs = self._resolve_inputs(workflow)
        order = self._plan(workflow["jobs"], job, needs)
        with tempfile.TemporaryDirectory(prefix="gha-") as tmp:
            self._tmp = Path(tmp)
            artifacts = self.artifacts_dir or Path(tempfile.mkdtemp(prefix="gha-artifacts-"))
            self._run_state(inputs, artifacts, Path(workflow_path))
            results: dict[str, JobResult] = {}
            for name, given in (needs_results or {}).items():
                results[name] = JobResult(name, name, given.get("result", "success"),
                                          outputs=dict(given.get("outputs", {})))
            ran: dict[str, JobResult] = {}
            for job_id in order:
                ran[job_id] = results[job_id] = self._run_job(job_id, workflow, results)
        return RunResult(ran, self._annotations, self._leaks, artifacts)

    def _run_state(self, inputs: dict[str, Any], artifacts: Path, path: Path) -> None:
        self._inputs = inputs
        self._artifacts = artifacts
        self._annotations: list[Annotation] = []
        self._leaks: list[Leak] = []
        self._workflow_path = path
        self._event_path = self._tmp / "event.json"
        self._event_path.write_text(json.dumps(self._event_payload(inputs), indent=2))

    # -- loading -------------------------------------------------------------

    def _load_workflow(self, path: Path) -> dict[str, Any]:
        """Load and check a workflow file; normalises the `on` key."""
        doc = load_yaml(path)
        if not isinstance(doc, dict):
            raise WorkflowError(f"{path}: not a mapping")
        if True in doc:  # PyYAML's YAML 1.1 reading of `on`, should another loader be used
            doc["on"] = doc.pop(True)
        unknown = set(doc) - WORKFLOW_KEYS
        if unknown:
            raise WorkflowError(f"{path}: unknown workflow keys {sorted(unknown)}")
        if not isinstance(doc.get("jobs"), dict) or not doc["jobs"]:
            raise WorkflowError(f"{path}: no jobs")
        doc["on"] = self._triggers(doc.get("on"))
        if self.event_name not in doc["on"]:
            raise WorkflowError(f"{path}: the workflow does not run on {self.event_name!r} "
                                f"(it runs on {sorted(doc['on'])})")
        doc.setdefault("name", str(path))
        return doc

    @staticmethod
    def _triggers(on: Any) -> dict[str, dict[str, Any]]:
        if isinstance(on, str):
            return {on: {}}
        if isinstance(on, list):
            return {name: {} for name in on}
        if isinstance(on, dict):
            return {name: (config or {}) for name, config in on.items()}
        raise WorkflowError(f"invalid `on`: {on!r}")

    def _resolve_inputs(self, workflow: dict[str, Any]) -> dict[str, Any]:
        """The `inputs` context: given inputs checked against the declared ones."""
        config = workflow["on"].get(self.event_name) or {}
        declared = config.get("inputs") or {} if self.event_name in (
            "workflow_dispatch", "workflow_call") else {}
        unknown = set(self.inputs) - set(declared)
        if unknown:
            raise WorkflowError(f"unexpected inputs {sorted(unknown)} for {self.event_name}")
        return {name: self._input_value(name, spec or {}) for name, spec in declared.items()}

    def _input_value(self, name: str, spec: dict[str, Any]) -> Any:
        if name in self.inputs:
            value = self.inputs[name]
        elif "default" in spec:
            value = spec["default"]
        elif spec.get("required"):
            raise WorkflowError(f"required input {name!r} not given")
        else:
            value = "" if spec.get("type") not in ("boolean", "number") else None
        kind = spec.get("type", "string")
        if kind == "boolean":
            return value if isinstance(value, bool) else to_str(value).lower() == "true"
        if kind == "number":
            return None if value is None else to_number(value)
        if kind == "choice" and to_str(value) not in [to_str(o) for o in spec.get("options", [])]:
            raise WorkflowError(f"input {name!r}: {value!r} is not one of {spec.get('options')}")
        return to_str(value)

    def _event_payload(self, inputs: dict[str, Any]) -> dict[str, Any]:
        event = json.loads(json.dumps(self.event))
        if self.event_name == "workflow_dispatch":
            event.setdefault("inputs", {k: to_str(v) for k, v in inputs.items()})
        return event

    def _plan(self, jobs: dict[str, Any], target: str | None, with_needs: bool) -> list[str]:
        """Job ids to run, dependencies first (in file order where free)."""
        if target is not None and target not in jobs:
            raise WorkflowError(f"no job {target!r} (jobs: {sorted(jobs)})")
        if target is not None and not with_needs:
            return [target]
        order: list[str] = []

        def visit(job_id: str, path: tuple[str, ...]) -> None:
            if job_id in path:
                raise WorkflowError(f"needs cycle: {' -> '.join(path + (job_id,))}")
            if job_id not in jobs:
                raise WorkflowError(f"{path[-1]} needs unknown job {job_id!r}")
            for need in self._needs_of(jobs[job_id]):
                visit(need, path + (job_id,))
            if job_id not in order:
                order.append(job_id)
        for job_id in ([target] if target else list(jobs)):
            visit(job_id, ())
        return order

    @staticmethod
    def _needs_of(job: dict[str, Any]) -> list[str]:
        needs = job.get("needs") or []
        return [needs] if isinstance(needs, str) else list(needs)

    # -- contexts ------------------------------------------------------------

    def _github(self, workflow: dict[str, Any], job_id: str) -> dict[str, Any]:
        """The `github` context, from defaults, the event and the caller's overrides."""
        pull = self.event.get("pull_request") or {}
        repo = self.github_overrides.get("repository", "freshet/freshet")
        ref = (f"refs/pull/{pull.get('number', self.event.get('number', 1))}/merge"
               if self.event_name.startswith("pull_request") else "refs/heads/main")
        ctx = {
            "event_name": self.event_name, "event": self._event_payload(self._inputs),
            "event_path": str(self._event_path), "repository": repo,
            "repository_owner": repo.split("/")[0], "sha": "f" * 40, "ref": ref,
            "base_ref": (pull.get("base") or {}).get("ref", ""),
            "head_ref": (pull.get("head") or {}).get("ref", ""),
            "workspace": str(self.workspace), "run_id": "4242", "run_number": "1",
            "run_attempt": "1", "actor": "octocat", "triggering_actor": "octocat",
            "server_url": "https://github.com", "api_url": "https://api.github.com",
            "graphql_url": "https://api.github.com/graphql", "job": job_id,
            "workflow": workflow["name"], "action": "", "action_path": "",
            "retention_days": "90", "token": self.secrets["GITHUB_TOKEN"],
        }
        ctx.update(self.github_overrides)
        ctx.setdefault("ref_name", re.sub(r"^refs/(heads|tags|pull)/", "", ctx["ref"]))
        ctx.setdefault("ref_type", "tag" if ctx["ref"].startswith("refs/tags/") else "branch")
        ctx.setdefault("repository_owner", ctx["repository"].split("/")[0])
        return ctx

    @staticmethod
    def _github_env(github: dict[str, Any], runner: dict[str, str]) -> dict[str, str]:
        """GITHUB_*, RUNNER_* and CI variables every step gets."""
        names = ["workspace", "event_name", "event_path", "repository", "repository_owner",
                 "sha", "ref", "ref_name", "ref_type", "base_ref", "head_ref", "api_url",
                 "server_url", "graphql_url", "run_id", "run_number", "run_attempt", "actor",
                 "triggering_actor", "job", "workflow", "retention_days"]
        env = {"GITHUB_" + name.upper(): to_str(github.get(name)) for name in names}
        env.update({"GITHUB_ACTIONS": "true", "CI": "true", "RUNNER_OS": runner["os"],
                    "RUNNER_ARCH": runner["arch"], "RUNNER_NAME": runner["name"],
                    "RUNNER_TEMP": runner["temp"], "RUNNER_TOOL_CACHE": runner["tool_cache"],
                    "RUNNER_ENVIRONMENT": "github-hosted"})
        return env

    def _contexts(self, scope: _Scope, step_env: dict[str, str] | None = None) -> dict[str, Any]:
        """Contexts available to a step (composite steps get no `secrets`)."""
        job = scope.job
        github = dict(job.github)
        if scope.action_path:
            github["action_path"] = scope.action_path
        ctx = {"github": github, "env": self._env_context(scope, step_env), "vars": job.vars,
               "inputs": scope.inputs, "steps": scope.steps, "runner": job.runner,
               "job": {"status": scope.status()}, "needs": job.needs, "matrix": {},
               "strategy": {"fail-fast": True, "job-index": 0, "job-total": 1, "max-parallel": 1}}
        if scope.parent is None:
            ctx["secrets"] = job.secrets
        return ctx

    @staticmethod
    def _env_context(scope: _Scope, step_env: dict[str, str] | None) -> dict[str, str]:
        env = dict(scope.job.env)
        env.update(scope.job.env_file)
        env.update(scope.env)
        env.update(step_env or {})
        return env

    def _evaluator(self, scope: _Scope, step_env: dict[str, str] | None = None) -> Evaluator:
        return Evaluator(self._contexts(scope, step_env), scope.status, self.workspace)

    # -- jobs ----------------------------------------------------------------

    def _run_job(self, job_id: str, workflow: dict[str, Any],
                 results: dict[str, JobResult]) -> JobResult:
        """Run one job whose needs are already in `results`."""
        spec = workflow["jobs"][job_id]
        self._check_job(job_id, spec)
        needs = self._needs_of(spec)
        missing = [n for n in needs if n not in results]
        if missing:
            raise WorkflowError(f"job {job_id}: no result for needed job(s) {missing}")
        needs_ctx = {n: {"result": results[n].result, "outputs": results[n].outputs} for n in needs}
        status = self._needs_status(job_id, workflow["jobs"], results)
        github = self._github(workflow, job_id)
        job_ctx = {"github": github, "needs": needs_ctx, "vars": self.vars, "inputs": self._inputs,
                   "matrix": {}, "strategy": {}}
        evaluator = Evaluator(job_ctx, lambda: status, self.workspace)
        name = to_str(self._safe(lambda: evaluator.render(spec.get("name", job_id)), job_id))
        result = JobResult(job_id, name, "success", needs=needs)
        try:
            if not evaluator.condition(spec.get("if")):
                result.result = "skipped"
                result.reason = ("if condition is false" if status == "success" or "if" in spec
                                 else f"a needed job did not succeed ({status})")
                return self._echo_job(result)
            result.environment = self._environment_name(spec, evaluator)
        except ExpressionError as exc:
            return self._job_error(result, f"Error when evaluating the job: {exc}")
        return self._echo_job(self._execute_job(job_id, workflow, spec, github, needs_ctx, result))

    @staticmethod
    def _safe(func: Callable[[], Any], fallback: Any) -> Any:
        try:
            return func()
        except ExpressionError:
            return fallback

    def _job_error(self, result: JobResult, message: str) -> JobResult:
        result.result, result.reason = "failure", message
        self._annotations.append(Annotation("error", message, result.id))
        return self._echo_job(result)

    def _check_job(self, job_id: str, spec: Any) -> None:
        if not isinstance(spec, dict):
            raise WorkflowError(f"job {job_id}: not a mapping")
        if "container" in spec:
            image = spec["container"]
            image = image.get("image") if isinstance(image, dict) else image
            if image not in self.host_images:
                raise WorkflowError(f"job {job_id}: container {image!r} is not one this host "
                                    f"stands in for ({sorted(self.host_images)})")
        unsupported = set(spec) & UNSUPPORTED_JOB_KEYS
        if unsupported:
            raise WorkflowError(f"job {job_id}: {sorted(unsupported)} not supported by this harness")
        unknown = set(spec) - JOB_KEYS
        if unknown:
            raise WorkflowError(f"job {job_id}: unknown keys {sorted(unknown)}")
        if not isinstance(spec.get("steps"), list) or not spec["steps"]:
            raise WorkflowError(f"job {job_id}: no steps")

    def _needs_status(self, job_id: str, jobs: dict[str, Any],
                      results: dict[str, JobResult]) -> str:
        """Status for a job's `if`: from the results of all its ancestors."""
        seen: set[str] = set()
        pending = self._needs_of(jobs[job_id])
        while pending:
            name = pending.pop()
            if name not in seen:
                seen.add(name)
                pending.extend(self._needs_of(jobs.get(name, {})))
        found = {results[n].result for n in seen if n in results}
        for status in ("failure", "cancelled", "skipped"):
            if status in found:
                return status
        return "success"

    def _environment_name(self, spec: dict[str, Any], evaluator: Evaluator) -> str | None:
        environment = spec.get("environment")
        if isinstance(environment, dict):
            environment = environment.get("name")
        return None if environment is None else evaluator.render_str(environment)

    def _execute_job(self, job_id: str, workflow: dict[str, Any], spec: dict[str, Any],
                     github: dict[str, Any], needs_ctx: dict[str, Any],
                     result: JobResult) -> JobResult:
        job = self._new_job(job_id, workflow, spec, github, needs_ctx, result.environment)
        try:
            self._evaluate_env(job, workflow, spec)
            self._check_steps(spec["steps"], f"job {job_id}", composite=False)
            scope = _Scope(job=job, inputs=self._inputs)
            result.steps = self._run_steps(spec["steps"], scope, echo=True)
            result.result = job.status
            result.outputs = self._job_outputs(job, spec, scope)
        except ExpressionError as exc:
            return self._job_error(result, f"Error when evaluating the job: {exc}")
        finally:
            self._cleanup_job(job)
        result.summary = "".join(job.summary)
        return result

    def _new_job(self, job_id: str, workflow: dict[str, Any], spec: dict[str, Any],
                 github: dict[str, Any], needs_ctx: dict[str, Any], environment: str | None) -> _Job:
        temp = self._tmp / f"runner-{job_id}"
        tool_cache = self._tmp / "tool-cache"
        temp.mkdir()
        tool_cache.mkdir(exist_ok=True)
        overlay = self.environments.get(environment or "", {})
        runner = {"os": "Linux", "arch": "X64", "name": "gha-harness", "temp": str(temp),
                  "tool_cache": str(tool_cache), "environment": "github-hosted"}
        minutes = self._timeout_minutes(spec.get("timeout-minutes", 360), github)
        defaults = dict(((workflow.get("defaults") or {}).get("run")) or {})
        defaults.update(((spec.get("defaults") or {}).get("run")) or {})
        if "container" in spec and "shell" not in defaults:
            defaults["shell"] = "sh"  # a container job's default is `sh -e {0}`, not bash
        job = _Job(job_id, github, {**self.secrets, **overlay.get("secrets", {})},
                   {**self.vars, **overlay.get("vars", {})}, needs_ctx, {}, defaults, temp, runner,
                   time.monotonic() + minutes * 60, minutes)
        self._masker = Masker(job.secrets)
        return job

    @staticmethod
    def _timeout_minutes(value: Any, github: dict[str, Any]) -> float:
        value = Evaluator({"github": github}).render(value) if isinstance(value, str) else value
        minutes = to_number(value)
        if math.isnan(minutes) or minutes <= 0:
            raise WorkflowError(f"invalid timeout-minutes {value!r}")
        return minutes

    def _evaluate_env(self, job: _Job, workflow: dict[str, Any], spec: dict[str, Any]) -> None:
        """Workflow env, then job env (which sees the workflow's)."""
        base = {"github": job.github, "secrets": job.secrets, "inputs": self._inputs,
                "vars": job.vars}
        job.env.update(self._render_env(workflow.get("env"), Evaluator({**base, "env": {}})))
        job_ctx = {**base, "needs": job.needs, "env": dict(job.env), "matrix": {}, "strategy": {},
                   "runner": job.runner}
        job.env.update(self._render_env(spec.get("env"), Evaluator(job_ctx)))

    @staticmethod
    def _render_env(env: Any, evaluator: Evaluator) -> dict[str, str]:
        if env is None:
            return {}
        if not isinstance(env, dict):
            raise WorkflowError(f"env must be a mapping, got {env!r}")
        out = {}
        for name, value in env.items():
            if isinstance(value, (dict, list)):
                raise WorkflowError(f"env {name}: a value must be a scalar")
            out[str(name)] = evaluator.render_str(value)
        return out

    def _job_outputs(self, job: _Job, spec: dict[str, Any], scope: _Scope) -> dict[str, str]:
        """Evaluate job `outputs:`; like GitHub, skip any that contains a secret."""
        outputs = {}
        evaluator = self._evaluator(scope)
        for name, value in (spec.get("outputs") or {}).items():
            text = evaluator.render_str(value)
            if self._masker.leaked(text) or self._masker.mask(text) != text:
                self._annotations.append(Annotation(
                    "warning", f"Skip output '{name}' since it may contain secret.", job.id))
                continue
            outputs[str(name)] = text
        return outputs

    def _cleanup_job(self, job: _Job) -> None:
        """Stop processes left behind by steps (GitHub kills orphans at job end)."""
        if not self.kill_orphans:
            return
        alive = [pgid for pgid in job.pgids if _signal_group(pgid, signal.SIGTERM)]
        deadline = time.monotonic() + 3
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [pgid for pgid in alive if _signal_group(pgid, 0)]
        for pgid in alive:
            _signal_group(pgid, signal.SIGKILL)

    def _echo_job(self, result: JobResult) -> JobResult:
        if self.echo:
            why = f" - {result.reason}" if result.reason else ""
            env = f" (environment: {result.environment})" if result.environment else ""
            print(f"== job {result.id}{env}: {result.result}{why}", file=self.echo, flush=True)
        return result

    # -- steps ---------------------------------------------------------------

    def _check_steps(self, steps: Any, where: str, composite: bool) -> None:
        """Check step keys and resolve every `uses:` before anything runs."""
        if not isinstance(steps, list):
            raise WorkflowError(f"{where}: steps must be a list")
        for number, step in enumerate(steps, 1):
            label = f"{where} step {number}"
            if not isinstance(step, dict):
                raise WorkflowError(f"{label}: not a mapping")
            unknown = set(step) - STEP_KEYS
            if unknown:
                raise WorkflowError(f"{label}: unknown keys {sorted(unknown)}")
            if ("run" in step) == ("uses" in step):
                raise WorkflowError(f"{label}: needs exactly one of run/uses")
            if composite and "run" in step and "shell" not in step:
                raise WorkflowError(f"{label}: a composite action's run step needs `shell`")
            if "uses" in step:
                self._resolve_uses(str(step["uses"]), check_only=True)

    def _resolve_uses(self, uses: str, check_only: bool = False) -> tuple[str, Any]:
        """('stand-in', callable) or ('composite', action directory)."""
        if uses.startswith("./"):
            return "composite", self.workspace / uses
        base = uses.split("@", 1)[0]
        if base in self.stand_ins:
            return "stand-in", self.stand_ins[base]
        if base in self.action_map:
            if check_only:
                self._load_action(self.action_map[base])
            return "composite", self.action_map[base]
        raise WorkflowError(f"uses: {uses!r} is neither a local action (./...), a mapped "
                            f"action nor a declared stand-in")

    def _load_action(self, directory: Path) -> dict[str, Any]:
        """Load and check a composite action's action.yml."""
        for name in ("action.yml", "action.yaml"):
            if (directory / name).is_file():
                action = load_yaml(directory / name)
                break
        else:
            raise WorkflowError(f"Can't find 'action.yml' or 'action.yaml' under '{directory}'")
        runs = (action or {}).get("runs") or {}
        if runs.get("using") != "composite":
            raise WorkflowError(f"{directory}: runs.using {runs.get('using')!r} is not supported "
                                "(only composite actions; declare a stand-in instead)")
        self._check_steps(runs.get("steps"), f"action {directory}", composite=True)
        return action

    def _run_steps(self, steps: list[dict[str, Any]], scope: _Scope, echo: bool = False) -> list[StepResult]:
        """Run steps in order, recording outcomes in the scope's `steps` context."""
        results = []
        for step in steps:
            result = self._run_step(step, scope)
            results.append(result)
            if result.id:
                scope.steps[result.id] = {"outputs": dict(result.outputs),
                                          "outcome": result.outcome,
                                          "conclusion": result.conclusion}
            if result.conclusion in ("failure", "cancelled"):
                scope.failed = True
                if scope.parent is None and scope.job.status == "success":
                    scope.job.status = "failure"
            if echo and self.echo:
                print("\n".join(format_step(result, "  ")), file=self.echo, flush=True)
        return results

    def _run_step(self, step: dict[str, Any], scope: _Scope) -> StepResult:
        """Evaluate `if`, env and `continue-on-error`, then run the step."""
        evaluator = self._evaluator(scope)
        default = f"Run {step['uses']}" if "uses" in step else \
            f"Run {str(step['run']).strip().splitlines()[0] if str(step['run']).strip() else ''}"
        name = to_str(self._safe(lambda: evaluator.render(step.get("name", default)), default))
        kind = "run" if "run" in step else self._resolve_uses(str(step["uses"]))[0]
        result = StepResult(name, kind, id=step.get("id"), uses=step.get("uses"))
        started = time.monotonic()
        try:
            if not evaluator.condition(step.get("if")):
                result.outcome = result.conclusion = "skipped"
                return result
            step_env = self._render_env(step.get("env"), evaluator)
            evaluator = self._evaluator(scope, step_env)
            tolerate = truthy(evaluator.render(step.get("continue-on-error", False)))
            self._dispatch(step, scope, evaluator, step_env, result)
        except (ExpressionError, _StepFailed) as exc:
            tolerate = False
            self._fail_step(result, scope, str(exc))
        result.duration = time.monotonic() - started
        result.conclusion = "success" if result.outcome == "failure" and tolerate else result.outcome
        return result

    def _fail_step(self, result: StepResult, scope: _Scope, message: str) -> None:
        result.outcome = "failure"
        message = self._masker.mask(message)
        result.log += f"Error: {message}\n"
        self._annotations.append(Annotation("error", message, scope.job.id, result.name))

    def _dispatch(self, step: dict[str, Any], scope: _Scope, evaluator: Evaluator,
                  step_env: dict[str, str], result: StepResult) -> None:
        if "run" in step:
            self._exec_run(step, scope, evaluator, step_env, result)
            return
        kind, target = self._resolve_uses(str(step["uses"]))
        with_ = {str(k): evaluator.render_str(v) for k, v in (step.get("with") or {}).items()}
        if kind == "stand-in":
            self._exec_stand_in(step, scope, target, with_, step_env, result)
        else:
            self._exec_composite(scope, Path(target), with_, evaluator, step_env, result)

    # -- run steps -----------------------------------------------------------

    def _exec_run(self, step: dict[str, Any], scope: _Scope, evaluator: Evaluator,
                  step_env: dict[str, str], result: StepResult) -> None:
        job = scope.job
        defaults = job.defaults if scope.parent is None else {}
        script = evaluator.render_str(step["run"])
        shell = step.get("shell", defaults.get("shell"))
        directory = step.get("working-directory", defaults.get("working-directory"))
        cwd = self.workspace / evaluator.render_str(directory) if directory else self.workspace
        files = self._step_files(job)
        argv = self._shell_argv(None if shell is None else evaluator.render_str(shell), script, job)
        timeout = self._step_timeout(step, evaluator, job)
        env = self._process_env(scope, step_env, files)
        code, timed_out, raw = _spawn(argv, cwd, env, timeout, job)
        result.exit_code, result.outcome = code, "success" if code == 0 else "failure"
        self._take_output(raw, scope, result)
        if timed_out:
            self._timed_out(step, job, result)
        elif code != 0:
            message = f"Process completed with exit code {code}."
            result.log += f"Error: {message}\n"
            self._annotations.append(Annotation("error", message, job.id, result.name))
        self._take_files(files, scope, result)

    def _shell_argv(self, shell: str | None, script: str, job: _Job) -> list[str]:
        """Write the script to RUNNER_TEMP and build the shell's argv."""
        template = SHELLS.get(shell, shell)
        if "{0}" not in template:
            raise WorkflowError(f"unsupported shell {shell!r} (known: bash, sh, python, "
                                "or a command with {0})")
        suffix = ".py" if template.split()[0].startswith("python") else ".sh"
        path = job.temp / f"{uuid.uuid4()}{suffix}"
        path.write_text(script)
        return [part.replace("{0}", str(path)) for part in shlex.split(template)]

    def _step_timeout(self, step: dict[str, Any], evaluator: Evaluator, job: _Job) -> float:
        remaining = max(job.deadline - time.monotonic(), 0.1)
        if "timeout-minutes" not in step:
            return remaining
        minutes = to_number(evaluator.render(step["timeout-minutes"]))
        if math.isnan(minutes) or minutes <= 0:
            raise WorkflowError(f"invalid step timeout-minutes {step['timeout-minutes']!r}")
        return min(minutes * 60, remaining)

    def _timed_out(self, step: dict[str, Any], job: _Job, result: StepResult) -> None:
        """A step timeout fails the step; the job timeout cancels the job."""
        result.timed_out, result.outcome = True, "failure"
        if time.monotonic() >= job.deadline:
            message = (f"The job has exceeded the maximum execution time of "
                       f"{format_number(job.timeout_minutes)} minutes.")
            job.status, result.outcome = "cancelled", "cancelled"
            job.deadline = time.monotonic() + 300  # what always() steps get on GitHub
        else:
            message = (f"The action '{result.name}' has timed out after "
                       f"{to_str(step.get('timeout-minutes'))} minutes.")
        result.log += f"Error: {message}\n"
        self._annotations.append(Annotation("error", message, job.id, result.name))

    def _step_files(self, job: _Job) -> dict[str, Path]:
        files = {}
        for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY",
                     "GITHUB_STATE"):
            path = job.temp / f"_{name.lower()}_{uuid.uuid4().hex}"
            path.touch()
            files[name] = path
        return files

    def _process_env(self, scope: _Scope, step_env: dict[str, str],
                     files: dict[str, Path]) -> dict[str, str]:
        """The child's environment: a minimal base plus what the workflow sets."""
        job = scope.job
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env.setdefault("PATH", os.defpath)
        env.setdefault("LANG", "C.UTF-8")
        env.update(self.base_env)
        env.update(self._github_env(job.github, job.runner))
        env.update(self._env_context(scope, step_env))
        if job.path_entries:
            env["PATH"] = os.pathsep.join(reversed(job.path_entries)) + os.pathsep + env["PATH"]
        env.update({name: str(path) for name, path in files.items()})
        if scope.action_path:
            env["GITHUB_ACTION_PATH"] = scope.action_path
        return env

    def _take_output(self, raw: str, scope: _Scope, result: StepResult) -> None:
        """Process workflow commands, mask the log and look for leaked secrets."""
        job, lines = scope.job, []
        stop_token = None
        for line in raw.splitlines():
            command = parse_command(line)
            if stop_token is not None:
                if line.strip() == f"::{stop_token}::":
                    stop_token = None
                    continue
                command = None
            if not (command and command[0] == "add-mask"):
                self._check_leak(line, job.id, result.name, "log")
            if command is None:
                lines.append(self._masker.mask(line))
                continue
            shown, stop = self._command(command, job, result, line)
            stop_token = stop or stop_token
            if shown is not None:
                lines.append(self._masker.mask(shown))
        result.log += "\n".join(lines) + ("\n" if lines else "")
        result.raw_log += raw

    def _command(self, command: tuple[str, dict[str, str], str], job: _Job, result: StepResult,
                 line: str) -> tuple[str | None, str | None]:
        """Apply one workflow command; returns (line to show, stop-commands token)."""
        name, props, message = command
        if name == "add-mask":
            self._masker.add(message.strip())
            return None, None
        if name in ("error", "warning", "notice"):
            self._annotations.append(Annotation(name, self._masker.mask(message), job.id,
                                                result.name, props))
            return f"{name.capitalize()}: {message}", None
        if name == "group":
            return f"##[group]{message}", None
        if name == "endgroup":
            return "##[endgroup]", None
        if name == "debug":
            return None, None
        if name == "stop-commands":
            return None, message
        if name == "set-output":
            result.outputs[props.get("name", "")] = message
            self._annotations.append(Annotation(
                "warning", "The `set-output` command is deprecated; use GITHUB_OUTPUT",
                job.id, result.name))
            return None, None
        if name in ("set-env", "add-path"):
            result.outcome = "failure"
            self._annotations.append(Annotation(
                "error", f"The `{name}` command is disabled.", job.id, result.name))
            return f"Error: Unable to process command '{line}' successfully.", None
        return line, None

    def _check_leak(self, text: str, job_id: str, step: str, where: str) -> None:
        for secret in self._masker.leaked(text):
            self._leaks.append(Leak(secret, job_id, step, where))

    def _take_files(self, files: dict[str, Path], scope: _Scope, result: StepResult) -> None:
        """Apply GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY."""
        job = scope.job
        try:
            for name, value in parse_runner_file(files["GITHUB_ENV"].read_text(), "GITHUB_ENV"):
                job.env_file[name] = value
            for name, value in parse_runner_file(files["GITHUB_OUTPUT"].read_text(), "GITHUB_OUTPUT"):
                result.outputs[name] = value
        except WorkflowError as exc:
            self._fail_step(result, scope, str(exc))
        for line in files["GITHUB_PATH"].read_text().splitlines():
            if line.strip():
                job.path_entries.append(line.strip())
        summary = files["GITHUB_STEP_SUMMARY"].read_text()
        if summary:
            self._check_leak(summary, job.id, result.name, "step summary")
            job.summary.append(self._masker.mask(summary))

    # -- uses steps ----------------------------------------------------------

    def _exec_stand_in(self, step: dict[str, Any], scope: _Scope, func: StandIn,
                       with_: dict[str, str], step_env: dict[str, str], result: StepResult) -> None:
        call = StandInCall(str(step["uses"]), with_, self.workspace,
                           self._env_context(scope, step_env), scope.job.temp, self._artifacts)
        try:
            outputs = func(call) or {}
        except Exception as exc:  # noqa: BLE001 - a stand-in failing fails its step
            call.log(f"Error: {type(exc).__name__}: {exc}")
            result.outcome = "failure"
            outputs = {}
        result.outputs = {str(k): to_str(v) for k, v in outputs.items()}
        self._take_output("\n".join(call.lines), scope, result)

    def _exec_composite(self, scope: _Scope, directory: Path, with_: dict[str, str],
                        evaluator: Evaluator, step_env: dict[str, str], result: StepResult) -> None:
        if scope.depth >= 9:
            raise _StepFailed("composite actions nested too deeply")
        try:
            action = self._load_action(directory)
        except WorkflowError as exc:
            raise _StepFailed(str(exc)) from exc
        inputs = self._action_inputs(action, with_, evaluator, scope, result)
        sub = _Scope(job=scope.job, inputs=inputs, env={**scope.env, **step_env},
                     action_path=str(directory.resolve()), parent=scope, depth=scope.depth + 1)
        result.steps = self._run_steps(action["runs"]["steps"], sub)
        result.outcome = "failure" if sub.failed else "success"
        result.log = "".join(f"--- {s.name}\n{s.log}" for s in result.steps)
        if scope.job.status == "cancelled":
            result.outcome = "cancelled"
        out_eval = self._evaluator(sub)
        for name, spec in (action.get("outputs") or {}).items():
            value = spec.get("value", "") if isinstance(spec, dict) else ""
            result.outputs[str(name)] = out_eval.render_str(value)

    def _action_inputs(self, action: dict[str, Any], with_: dict[str, str], evaluator: Evaluator,
                       scope: _Scope, result: StepResult) -> dict[str, str]:
        """The composite's `inputs` context: `with:` values, else evaluated defaults."""
        declared = action.get("inputs") or {}
        inputs = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in with_:
                inputs[name] = with_[name]
            elif "default" in spec:
                inputs[name] = evaluator.render_str(spec["default"])
            else:
                inputs[name] = ""
                if spec.get("required"):
                    self._annotations.append(Annotation(
                        "warning", f"Input required and not supplied: {name}", scope.job.id,
                        result.name))
        unexpected = sorted(set(with_) - set(declared))
        if unexpected:
            self._annotations.append(Annotation(
                "warning", f"Unexpected input(s) {unexpected}, valid inputs are {sorted(declared)}",
                scope.job.id, result.name))
        return inputs


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

def _signal_group(pgid: int, sig: int) -> bool:
    """Send sig to a process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _spawn(argv: list[str], cwd: Path, env: dict[str, str], timeout: float,
           job: _Job) -> tuple[int, bool, str]:
    """Run argv in its own session, output to a file; (exit code, timed out, output).

    Output goes to a file rather than a pipe so a background process left
    running (e.g. a server) cannot keep the step from finishing.
    """
    log_path = job.temp / f"_log_{uuid.uuid4().hex}"
    with open(log_path, "wb") as out:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            return 127, False, f"{exc}\n"
    job.pgids.append(proc.pid)
    timed_out = False
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        code = _stop(proc)
    raw = log_path.read_bytes().decode("utf-8", "replace")
    log_path.unlink()
    return code, timed_out, raw


def _stop(proc: subprocess.Popen) -> int:
    """SIGINT, then SIGTERM, then SIGKILL to the step's process group (as the runner does)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        _signal_group(proc.pid, sig)
        try:
            return proc.wait(3)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"gha: {what} {item!r} is not KEY=VALUE")
        out[key] = value
    return out


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a GitHub Actions workflow job locally.")
    parser.add_argument("workflow")
    parser.add_argument("--job", help="job id (default: every job)")
    parser.add_argument("--no-needs", action="store_true", help="run only --job, not its needs")
    parser.add_argument("--event", default="push", help="event name (default: push)")
    parser.add_argument("--event-json", help="event payload file")
    parser.add_argument("--workspace", default=".", help="GITHUB_WORKSPACE (default: .)")
    for flag in ("secret", "var", "input", "env", "github"):
        parser.add_argument(f"--{flag}", action="append", metavar="K=V")
    parser.add_argument("--action-map", action="append", metavar="OWNER/REPO/PATH=DIR")
    parser.add_argument("--stand-in", action="append", metavar="ACTION=KIND",
                        help=f"KIND: {', '.join(BUILTIN_STAND_INS)}")
    parser.add_argument("--artifacts", help="artifacts directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: prints a readable log, exit 1 when a job failed, 2 on errors."""
    args = _arguments(argv)
    stand_ins = {}
    for action, kind in _pairs(args.stand_in, "--stand-in").items():
        if kind not in BUILTIN_STAND_INS:
            raise SystemExit(f"gha: unknown stand-in kind {kind!r}")
        stand_ins[action] = BUILTIN_STAND_INS[kind]
    event = json.loads(Path(args.event_json).read_text()) if args.event_json else {}
    harness = Harness(args.workspace, secrets=_pairs(args.secret, "--secret"),
                      vars=_pairs(args.var, "--var"), event_name=args.event, event=event,
                      inputs=_pairs(args.input, "--input"),
                      action_map=_pairs(args.action_map, "--action-map"), stand_ins=stand_ins,
                      github=_pairs(args.github, "--github"), base_env=_pairs(args.env, "--env"),
                      artifacts_dir=args.artifacts)
    try:
        result = harness.run(args.workflow, args.job, needs=not args.no_needs)
    except WorkflowError as exc:
        print(f"gha: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(result.format())
    if result.summary:
        sys.stdout.write("== summary\n" + result.summary)
    return 0 if result.ok and not result.secret_leaked else 1


if __name__ == "__main__":
    sys.exit(main())
