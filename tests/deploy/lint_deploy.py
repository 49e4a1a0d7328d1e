#!/usr/bin/python3
"""Lints what freshet ships for pipelines, and the repository's shell:
  - yamllint (.yamllint) on deploy/ (workflows, the composite action, k8s);
  - shellcheck on every shell script under deploy/, tests/, .ci/ and on every
    `run:` step of deploy/github/ (as the bash GitHub runs it);
  - no `${{ ... }}` inside a `run:` script: values reach scripts through
    `env:`, so a branch name or a PR title can never inject shell.
Exits non-zero with every problem listed.

Usage: lint_deploy.py
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def shell_scripts() -> list[Path]:
    found = set()
    for base in ("deploy", "tests", ".ci", "bench"):
        for path in (REPO / base).rglob("*"):
            if not path.is_file() or "build" in path.relative_to(REPO).parts[:1]:
                continue
            if path.suffix == ".sh" or path.name == "run" or (
                    path.suffix == "" and path.read_bytes()[:20].startswith(b"#!/usr/bin/env bash")):
                found.add(path)
    return sorted(found)


def run_steps(path: Path) -> list[tuple[str, str, str]]:
    """(where, shell, script) of every run: step of a workflow or action."""
    doc = yaml.safe_load(path.read_text())
    found: list[tuple[str, str, str]] = []
    if "runs" in doc:  # a composite action: every run step names its shell
        for i, step in enumerate(doc["runs"]["steps"]):
            if "run" in step:
                found.append((f"{path.name} step {i + 1}", step.get("shell", "?"), step["run"]))
    workflow_shell = ((doc.get("defaults") or {}).get("run") or {}).get("shell")
    for job_id, job in (doc.get("jobs") or {}).items():
        # GitHub's default: bash on the runner, sh (dash) in a job container.
        default = ((job.get("defaults") or {}).get("run") or {}).get("shell") or workflow_shell \
            or ("sh" if "container" in job else "bash")
        for i, step in enumerate(job.get("steps") or []):
            if "run" in step:
                found.append((f"{path.name} job {job_id} step {i + 1} ({step.get('name', '')})",
                              step.get("shell", default), step["run"]))
    return found


def main() -> int:
    problems: list[str] = []
    yamllint = subprocess.run(["yamllint", "-c", str(REPO / ".yamllint"), "deploy", ".yamllint"],
                              cwd=REPO, capture_output=True, text=True)
    if yamllint.returncode != 0:
        problems.append("yamllint:\n" + yamllint.stdout + yamllint.stderr)
    scripts = shell_scripts()
    check = subprocess.run(["shellcheck", "-x", *map(str, scripts)], cwd=REPO,
                           capture_output=True, text=True)
    if check.returncode != 0:
        problems.append("shellcheck:\n" + check.stdout + check.stderr)
    workflows = sorted((REPO / "deploy" / "github").rglob("*.yml"))
    steps = 0
    with tempfile.TemporaryDirectory() as tmp:
        for workflow in workflows:
            for where, shell, script in run_steps(workflow):
                steps += 1
                if "${{" in script:
                    problems.append(f"{where}: `${{{{ }}}}` inside run: (pass it through env:)")
                if shell not in ("bash", "sh"):
                    problems.append(f"{where}: shell {shell!r}: expected bash or sh")
                    continue
                file = Path(tmp) / f"step{steps}.sh"
                file.write_text(f"#!/usr/bin/env {shell}\n{script}")
                result = subprocess.run(["shellcheck", str(file)], capture_output=True, text=True)
                if result.returncode != 0:
                    problems.append(f"shellcheck of {where}:\n{result.stdout}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"lint_deploy: {len(scripts)} shell scripts, {len(workflows)} workflow files, "
          f"{steps} run steps: {'FAILED' if problems else 'OK'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
