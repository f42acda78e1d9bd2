"""Start the built service and run schemathesis on it with the designed OpenAPI document.

Usage: python -I -B api_fuzz.py WORKSPACE REPORT JOB

Run with the factory's own environment (schemathesis is pinned in its ``uv.lock``); the
service runs with the project's (JOB's ``python``, mounted read-only beside it). JOB is
JSON: ``{"python", "serve": [argv, "{port}" where the port goes], "spec", "examples",
"seed", "startup_s", "budget_s"}``. The service is started on a free port of the
sandbox's own loopback; once it listens, schemathesis generates valid requests from
the design (positive mode, the examples and fuzzing phases, deterministic, no
shrinking) and checks each answer: no server error, a status the design documents, the
content type and the body the design gives. The service is stopped at the end. REPORT
gets ``{"started": bool, "exit": N, "operations": {NAME: [failure, ...]}, "tail": ...}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET  # noqa: S405 - schemathesis' own report, written in the sandbox
from pathlib import Path
from typing import Any

# the sandbox's own drivers (devfactory/sandbox/drivers/, which run_driver mounts too)
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sandbox" / "drivers"))
from processes import free_port, listening, stop  # noqa: E402 - the sandbox drivers' module

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
TAIL_CHARS = 1500


def failures(junit: Path) -> dict[str, list[str]]:
    """Read schemathesis' JUnit report: each operation and the failures found on it."""
    found: dict[str, list[str]] = {}
    try:
        tree = ET.parse(junit)  # noqa: S314 - written by schemathesis in this sandbox
    except (OSError, ET.ParseError):
        return found
    for case in tree.iter("testcase"):
        name = case.get("name") or "?"
        said = []
        for problem in [*case.iter("failure"), *case.iter("error")]:
            text = (problem.get("message") or problem.text or "").strip()
            said.append(" ".join(text.split())[:500])
        found[name] = said
    return found


def main(workspace: str, report: str, job_json: str) -> None:
    """Start the service, run schemathesis against it, stop it; write the report."""
    job = json.loads(job_json)
    root = Path(workspace)
    port = free_port()
    argv = [
        job["python"] if a == "python" else a.replace("{port}", str(port)) for a in job["serve"]
    ]
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{root / 'src'}", PORT=str(port))
    out: dict[str, Any] = {"started": False, "exit": None, "operations": {}, "tail": ""}
    deadline = time.monotonic() + float(job["budget_s"])
    with tempfile.TemporaryFile() as log, tempfile.TemporaryDirectory() as reports:
        server = subprocess.Popen(  # noqa: S603 - the project's own service, in the sandbox
            argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            started = time.monotonic() + float(job["startup_s"])
            while not listening(port) and server.poll() is None and time.monotonic() < started:
                time.sleep(0.1)
            out["started"] = listening(port)
            if out["started"]:
                junit = Path(reports) / "junit.xml"
                tool = Path(sys.executable).parent / "schemathesis"
                command = [
                    str(tool), "run", str(root / job["spec"]), "--url", f"http://127.0.0.1:{port}",
                    "--checks", CHECKS, "--mode", "positive", "--phases", "examples,fuzzing",
                    "--max-examples", str(job["examples"]), "--seed", str(job["seed"]),
                    "--generation-deterministic", "--no-shrink",
                    "--request-timeout", "5", "--workers", "1", "--no-color", "--warnings", "off",
                    "--report", "junit", "--report-junit-path", str(junit),
                ]  # fmt: skip
                try:
                    done = subprocess.run(  # noqa: S603 - the factory's own tool
                        command,
                        cwd=reports,
                        capture_output=True,
                        timeout=max(1.0, deadline - time.monotonic()),
                        check=False,
                    )
                    out["exit"] = done.returncode
                    said = (done.stdout + done.stderr).decode(errors="replace")
                    out["tail"] = said[-TAIL_CHARS:]
                except subprocess.TimeoutExpired:
                    out["tail"] = "schemathesis ran past the check's time"
                out["operations"] = failures(junit)
        finally:
            stop(server)
        if not out["started"]:
            log.seek(0)
            out["tail"] = log.read().decode(errors="replace")[-TAIL_CHARS:]
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
