"""Results of a local GitHub Actions run (gha.py), and what builds them.

The dataclasses Harness.run() returns, secret masking, `::command::`
parsing and the GITHUB_ENV / GITHUB_OUTPUT runner-file format.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gha_errors import WorkflowError


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@dataclass
class Annotation:
    """An ::error::, ::warning:: or ::notice:: (or a harness-reported error)."""
    level: str
    message: str
    job: str = ""
    step: str = ""
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class Leak:
    """A secret value seen unmasked in a raw log, summary or output."""
    secret: str
    job: str
    step: str
    where: str


@dataclass
class StepResult:
    """One step: kind is 'run', 'composite' or 'stand-in'."""
    name: str
    kind: str
    id: str | None = None
    uses: str | None = None
    outcome: str = "success"
    conclusion: str = "success"
    exit_code: int | None = None
    log: str = ""
    duration: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    timed_out: bool = False
    raw_log: str = field(default="", repr=False)

    def walk(self):
        """This step and all nested composite steps, depth first."""
        yield self
        for child in self.steps:
            yield from child.walk()


@dataclass
class JobResult:
    """One job: result is success, failure, cancelled or skipped."""
    id: str
    name: str
    result: str
    environment: str | None = None
    needs: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    reason: str = ""

    def step(self, key: str) -> StepResult:
        """The step (possibly nested in a composite) with this id or name."""
        for top in self.steps:
            for step in top.walk():
                if key in (step.id, step.name):
                    return step
        raise KeyError(f"job {self.id} has no step {key!r}")

    @property
    def log(self) -> str:
        """All top-level step logs, masked."""
        return "\n".join(f"--- {s.name}\n{s.log}" for s in self.steps)


@dataclass
class RunResult:
    """The outcome of Harness.run()."""
    jobs: dict[str, JobResult]
    annotations: list[Annotation]
    leaks: list[Leak]
    artifacts_dir: Path

    @property
    def secret_leaked(self) -> bool:
        """Whether any secret value appeared unmasked in any raw log or summary."""
        return bool(self.leaks)

    @property
    def ok(self) -> bool:
        """No job failed or was cancelled."""
        return all(job.result in ("success", "skipped") for job in self.jobs.values())

    @property
    def summary(self) -> str:
        """The job summaries, concatenated in run order (masked)."""
        return "".join(job.summary for job in self.jobs.values())

    @property
    def outputs(self) -> dict[str, dict[str, str]]:
        """Job outputs by job id."""
        return {job_id: job.outputs for job_id, job in self.jobs.items()}

    def job(self, job_id: str) -> JobResult:
        """The result of one job."""
        return self.jobs[job_id]

    def format(self) -> str:
        """A readable, masked report of every job and step."""
        lines: list[str] = []
        for job in self.jobs.values():
            env = f" (environment: {job.environment})" if job.environment else ""
            why = f" - {job.reason}" if job.reason else ""
            lines.append(f"== job {job.id}{env}: {job.result}{why}")
            for step in job.steps:
                lines.extend(format_step(step, "  "))
        for note in self.annotations:
            lines.append(f"{note.level}: [{note.job}/{note.step}] {note.message}")
        if self.leaks:
            lines.append(f"SECRET LEAKED: {sorted({leak.secret for leak in self.leaks})}")
        return "\n".join(lines) + "\n"


def format_step(step: StepResult, indent: str) -> list[str]:
    """Readable lines for one step and its nested steps."""
    code = "" if step.exit_code is None else f", exit {step.exit_code}"
    lines = [f"{indent}[{step.kind}] {step.name}: {step.outcome}{code} ({step.duration:.1f}s)"]
    if step.steps:
        for child in step.steps:
            lines.extend(format_step(child, indent + "  "))
    elif step.log:
        lines.extend(f"{indent}  | {line}" for line in step.log.rstrip("\n").split("\n"))
    return lines


# ---------------------------------------------------------------------------
# Masking, workflow commands, runner files
# ---------------------------------------------------------------------------

class Masker:
    """Masks secret values as *** and finds unmasked secrets in raw text."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = {name: value for name, value in secrets.items() if value}
        self.values: set[str] = set()
        for value in self.secrets.values():
            self.add(value)

    def add(self, value: str) -> None:
        """Register a value (and each line of a multi-line value) for masking."""
        if not value:
            return
        self.values.add(value)
        for line in value.splitlines():
            if line.strip():
                self.values.add(line)

    def mask(self, text: str) -> str:
        """Replace every registered value with ***, longest first."""
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def leaked(self, text: str) -> list[str]:
        """Names of the secrets whose value (or a line of it) occurs in text."""
        found = []
        for name, value in self.secrets.items():
            lines = [value] + [line for line in value.splitlines() if line.strip()]
            if any(line in text for line in lines):
                found.append(name)
        return found


_COMMAND_RE = re.compile(r"^::([A-Za-z][A-Za-z0-9-]*)(?: ([^:]*))?::(.*)$")


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return _unescape_data(text).replace("%3A", ":").replace("%2C", ",")


def parse_command(line: str) -> tuple[str, dict[str, str], str] | None:
    """Parse `::name k=v,k2=v2::message` into (name, properties, message)."""
    match = _COMMAND_RE.match(line.rstrip("\r"))
    if not match:
        return None
    props = {}
    for item in filter(None, (match.group(2) or "").split(",")):
        key, _, value = item.partition("=")
        props[key.strip()] = _unescape_property(value)
    return match.group(1).lower(), props, _unescape_data(match.group(3))


def parse_runner_file(text: str, label: str) -> list[tuple[str, str]]:
    """Parse a GITHUB_ENV / GITHUB_OUTPUT file: NAME=value and NAME<<DELIM blocks."""
    lines = text.replace("\r\n", "\n").split("\n")
    pairs, pos = [], 0
    while pos < len(lines):
        line = lines[pos]
        pos += 1
        if line == "":
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line[:equals], line[equals + 1:]
        elif heredoc >= 0:
            name, delimiter = line[:heredoc], line[heredoc + 2:]
            if not delimiter:
                raise WorkflowError(f"{label}: empty delimiter in {line!r}")
            try:
                end = lines.index(delimiter, pos)
            except ValueError:
                raise WorkflowError(f"{label}: matching delimiter not found {delimiter!r}") from None
            value, pos = "\n".join(lines[pos:end]), end + 1
        else:
            raise WorkflowError(f"{label}: invalid format {line!r}")
        if not name:
            raise WorkflowError(f"{label}: invalid format {line!r} (empty name)")
        pairs.append((name, value))
    return pairs
