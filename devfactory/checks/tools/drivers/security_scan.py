"""Scan code for security flaws (bandit) and secrets (detect-secrets); run in the sandbox.

Usage: python -I -B security_scan.py WORKSPACE REPORT PATH...

Both tools are the tools' environment's own (next to this interpreter), run on the
PATHs (relative to WORKSPACE). REPORT gets ``{"bandit": {"version": ...,
"results": [{"path", "line", "test", "severity", "confidence", "text"}],
"errors": [...]}, "detect-secrets": {"version": ..., "results": [{"path", "line",
"type"}]}}``.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

TIMEOUT_S = 90
MAX_RESULTS = 100


def binary(name: str) -> str:
    """Return the tool next to this interpreter (the tools' environment), else on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed")
    return found


def run_json(argv: list[str], root: Path) -> Any:
    """Run a tool that prints JSON on its standard output; return what it printed."""
    done = subprocess.run(  # noqa: S603 - a fixed binary, file paths
        argv, cwd=root, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(last[0][:300]) from None


def bandit(root: Path, paths: list[str]) -> dict[str, Any]:
    """Run bandit on ``paths``; return its findings and the files it could not read."""
    found = run_json([binary("bandit"), "-f", "json", "-q", "--", *paths], root)
    results = [
        {
            "path": posixpath.normpath(str(r.get("filename", ""))),
            "line": r.get("line_number", 0),
            "test": f"{r.get('test_id', '')} {r.get('test_name', '')}".strip(),
            "severity": r.get("issue_severity", ""),
            "confidence": r.get("issue_confidence", ""),
            "text": str(r.get("issue_text", ""))[:300],
        }
        for r in found.get("results", [])[:MAX_RESULTS]
    ]
    errors = [f"{e.get('filename')}: {e.get('reason')}"[:300] for e in found.get("errors", [])]
    return {"version": version("bandit"), "results": results, "errors": errors}


def secrets(root: Path, paths: list[str]) -> dict[str, Any]:
    """Run detect-secrets on ``paths``; return one finding per line a secret is on."""
    found = run_json([binary("detect-secrets"), "scan", "--", *paths], root)
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for path, items in (found.get("results") or {}).items():
        for item in items:
            key = (posixpath.normpath(path), int(item.get("line_number", 0)))
            if key in results:
                results[key]["type"] += f", {item.get('type', '')}"
            else:
                results[key] = {"path": key[0], "line": key[1], "type": item.get("type", "")}
    return {"version": version("detect-secrets"), "results": list(results.values())[:MAX_RESULTS]}


def main(workspace: str, report: str, *paths: str) -> None:
    """Scan ``paths`` with both tools; write the report."""
    root = Path(workspace)
    out: dict[str, Any] = {}
    for name, scan in (("bandit", bandit), ("detect-secrets", secrets)):
        try:
            out[name] = scan(root, list(paths))
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            out[name] = {"error": str(exc)[:300]}
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
