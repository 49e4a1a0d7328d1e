"""Python stand-ins for third-party actions, for the local harness (gha.py).

A stand-in receives a StandInCall (the evaluated `with:` and the runner's
paths) and returns the step's outputs.
"""
from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


# ---------------------------------------------------------------------------
# Stand-ins for third-party actions
# ---------------------------------------------------------------------------

@dataclass
class StandInCall:
    """What a stand-in callable receives: the evaluated `with:` and the runner."""
    uses: str
    inputs: dict[str, str]
    workspace: Path
    env: dict[str, str]
    runner_temp: Path
    artifacts_dir: Path
    lines: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        """Add a line to the step log."""
        self.lines.append(message)


StandIn = Callable[[StandInCall], "dict[str, Any] | None"]


def checkout_noop(call: StandInCall) -> dict[str, str]:
    """actions/checkout stand-in for a workspace the test prepared itself."""
    call.log(f"checkout: using prepared workspace {call.workspace}")
    return {}


def checkout_from(source: str | Path, ignore: tuple[str, ...] = (".git",)) -> StandIn:
    """actions/checkout stand-in copying `source` into the workspace."""
    def checkout(call: StandInCall) -> dict[str, str]:
        shutil.copytree(source, call.workspace, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*ignore), symlinks=True)
        call.log(f"checkout: copied {source} into {call.workspace}")
        return {}
    return checkout


def cache_miss(call: StandInCall) -> dict[str, str]:
    """actions/cache stand-in: always a miss (cache-hit is 'false')."""
    call.log(f"Cache not found for input keys: {call.inputs.get('key', '')}")
    return {"cache-hit": "false"}


def _workspace_matches(call: StandInCall, patterns: str) -> list[Path]:
    found: list[Path] = []
    for pattern in filter(None, (p.strip() for p in patterns.splitlines())):
        base = pattern if os.path.isabs(pattern) else str(call.workspace / pattern)
        found.extend(Path(p) for p in sorted(glob.glob(base, recursive=True)))
    return found


def upload_artifact(call: StandInCall) -> dict[str, str]:
    """actions/upload-artifact stand-in: copy `path` into artifacts_dir/<name>."""
    name = call.inputs.get("name") or "artifact"
    target = call.artifacts_dir / name
    matches = _workspace_matches(call, call.inputs.get("path", ""))
    if not matches:
        policy = call.inputs.get("if-no-files-found") or "warn"
        if policy == "error":
            raise RuntimeError(f"No files were found with the provided path: {call.inputs.get('path')}")
        call.log(f"{policy}: No files were found with the provided path")
        return {}
    target.mkdir(parents=True, exist_ok=True)
    for path in matches:
        copy = shutil.copytree if path.is_dir() else shutil.copy2
        copy(path, target / path.name, **({"dirs_exist_ok": True} if path.is_dir() else {}))
        call.log(f"uploaded {path} to artifact {name}")
    return {"artifact-id": "1", "artifact-url": f"file://{target}"}


def download_artifact(call: StandInCall) -> dict[str, str]:
    """actions/download-artifact stand-in: copy artifacts_dir/<name> to `path`."""
    name = call.inputs.get("name") or "artifact"
    dest = call.workspace / (call.inputs.get("path") or ".")
    shutil.copytree(call.artifacts_dir / name, dest, dirs_exist_ok=True)
    call.log(f"downloaded artifact {name} to {dest}")
    return {"download-path": str(dest)}


BUILTIN_STAND_INS: dict[str, StandIn] = {
    "checkout-noop": checkout_noop, "cache-miss": cache_miss,
    "upload-artifact": upload_artifact, "download-artifact": download_artifact,
}
