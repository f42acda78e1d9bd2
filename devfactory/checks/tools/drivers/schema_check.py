"""Validate CI workflows and compose files against their schemas; run in the sandbox.

Usage: python -I -B schema_check.py WORKSPACE REPORT PATH...

Each PATH (relative to WORKSPACE) is read as YAML and told apart by its keys: a
GitHub Actions workflow (``on`` and ``jobs``), a GitLab CI file (``stages`` or a
job with a ``script``), a Compose file (``services``). Each is validated by
check-jsonschema against the schema it vendors for that kind (nothing is
fetched); a file of none of these kinds is reported as not judged. REPORT gets
``{"tool": ..., "version": ..., "files": {PATH: {"schema": ..., "findings":
[{"where": ..., "message": ...}]}}}``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

MAX_FINDINGS = 20
TIMEOUT_S = 60


def kind_of(document: object) -> str:
    """Return the vendored schema for a parsed YAML document ("" when it is none we know)."""
    if not isinstance(document, dict):
        return ""
    keys = {str(k) for k in document}
    if "jobs" in keys and ("on" in keys or "True" in keys):  # YAML 1.1 reads `on` as true
        return "vendor.github-workflows"
    if "services" in keys:
        return "vendor.compose-spec"
    if "stages" in keys or any(isinstance(v, dict) and "script" in v for v in document.values()):
        return "vendor.gitlab-ci"
    return ""


def validate(root: Path, path: str) -> dict[str, Any]:
    """Validate one file against the schema of its kind."""
    import yaml

    try:
        document = yaml.safe_load((root / path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        message = str(exc).strip().splitlines()[0][:300]
        return {"schema": "", "findings": [{"where": "(file)", "message": message}]}
    schema = kind_of(document)
    if not schema:
        return {"schema": "", "findings": []}
    binary = shutil.which(
        "check-jsonschema", path=str(Path(sys.executable).parent)
    ) or shutil.which("check-jsonschema")
    if binary is None:
        failed = {"where": "(file)", "message": "check-jsonschema is not installed"}
        return {"schema": schema, "findings": [failed]}
    done = subprocess.run(  # noqa: S603 - a fixed binary, a file path
        [binary, "--builtin-schema", schema, "--output-format", "json", path],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"schema": schema, "findings": [{"where": "(file)", "message": last[0][:300]}]}
    findings: list[dict[str, str]] = []
    for error in [*result.get("errors", []), *result.get("parse_errors", [])]:
        for best in (error.get("best_match") or error, error.get("best_deep_match")):
            if not isinstance(best, dict):
                continue
            where = str(best.get("path") or error.get("path") or "$")
            found = {"where": where, "message": str(best.get("message", ""))[:300]}
            if found not in findings:
                findings.append(found)
    return {"schema": schema, "findings": findings[:MAX_FINDINGS]}


def main(workspace: str, report: str, *paths: str) -> None:
    """Validate each of ``paths``; write the report."""
    files = {path: validate(Path(workspace), path) for path in paths}
    out = {"tool": "check-jsonschema", "version": version("check-jsonschema"), "files": files}
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
