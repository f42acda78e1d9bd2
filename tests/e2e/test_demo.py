"""``devfactory demo`` on the embedded llama.cpp model: killed, resumed, and COMPLETED.

What ``make demo`` builds (``config/demo_requirement.md``, a command line written as a
ticket) is run unattended on the lean pipeline. The process is killed (SIGKILL) as soon
as Backend Engineering's stage finishes and completed with ``devfactory resume``: real
inference, real Postgres, real checkpoints, and the real sandbox for the code. The run
must COMPLETE (or, as some runs on the 0.5B model do, fail only because a gate refused
what the model wrote: code failing one of the ticket's own examples, tests failing on code
that passes every one of them, or a file still cut off at the token limit after every
attempt), hold together (valid contracts, every planned file,
each passed code stage's sandbox checks recorded, a commit per passed stage), and the
program it delivered must print checksums as the requirement says, run in the sandbox on
inputs of this test's own. It takes minutes on two cores; the per-stage times are in the
run's SUMMARY.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from devfactory.contracts import StageOutcome, StageRecord, TaskResult
from devfactory.factory.artifacts import stage_files
from devfactory.sandbox.runner import Sandbox
from devfactory.software.plan import PLAN_PATH, BuildPlan, FileRole
from tests.e2e.conftest import BIN, ROOT, cli

# the checks that execute the model's code (lint only reads it)
RUNS_CODE = frozenset({"install", "import", "tests", "smoke", "existing_tests"})
MODEL = "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m"  # the coder alias by default

pytestmark = pytest.mark.alone  # minutes of real decoding: 3-4x slower beside busy processes


def test_the_demo_killed_and_resumed_completes_with_a_program_that_works(
    env: dict[str, str], e2e_home: Path, tmp_path: Path
) -> None:
    env = {**env, "DEVFACTORY_MODEL_CHAIN": "embedded"}
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [str(BIN / "devfactory"), "demo", "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen, run_id = [], ""
    for line in proc.stdout:
        seen.append(line)
        if match := re.match(r"run (\S+) \(new\)", line):
            run_id = match.group(1)
        if line.startswith("■ backend-engineering"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    transcript = "".join(seen)
    assert proc.returncode == -signal.SIGKILL, transcript
    assert run_id and "checksum" in transcript, transcript
    assert f"▶ backend-engineering attempt 1 on {MODEL}" in transcript

    status = cli("status", run_id, env=env)
    assert status.returncode == 0, status.stderr
    assert "INTERRUPTED" in status.stdout and f"devfactory resume {run_id}" in status.stdout

    resumed = cli("resume", run_id, env=env, timeout=1500)
    assert resumed.returncode in (0, 1), resumed.stdout + resumed.stderr  # COMPLETED or FAILED
    assert "▶ backend-engineering" not in resumed.stdout  # the finished stage is not redone
    assert f"run {run_id} (resumed)" in resumed.stdout

    doc = json.loads((out / "run.json").read_text())
    assert doc["run_id"] == run_id and doc["pipeline"] == "lean"
    completed = doc["status"] == "COMPLETED"
    # Measured on the embedded models (README): some runs end FAILED because a gate refused what
    # the model wrote, Backend's code failing one of the ticket's own examples, QA's tests
    # failing on code that passes every one of them, or either team's file still cut off at
    # the token limit after its last attempt (at ab08309 QA's last file was the module written
    # again in place of tests, past the limit). That, and nothing else, may keep the demo from
    # completing, and such a run accepts nothing wrong.
    cut_off = "cut off at the token limit before it was finished"
    refused = {
        "backend-engineering": ("the requirement's own example fails", cut_off),
        "qa-engineering": ("passes every one of the requirement's own examples", cut_off),
    }
    stopped = ""
    if not completed:
        assert doc["status"] == "FAILED" and resumed.returncode == 1, doc["reason"]
        found = re.match(r"stage (\S+) BLOCKED", doc["reason"])
        stopped = found.group(1) if found else ""
        assert stopped in refused, doc["reason"]
        assert any(why in doc["reason"] for why in refused[stopped]), doc["reason"]
    ran = [StageRecord.model_validate(s) for s in doc["stages"]]
    assert [r.team for r in ran] == [
        "solution-architecture",
        "backend-engineering",
        "qa-engineering",
    ]
    passed = [r for r in ran if r.outcome is StageOutcome.PASSED]
    teams = [r.team for r in ran]
    assert [r.team for r in passed] == (teams[: teams.index(stopped)] if stopped else teams)
    assert (out / "SUMMARY.md").read_text().startswith(f"# Run {run_id}: {doc['status']}")
    plan = BuildPlan.model_validate_json((out / PLAN_PATH).read_text())
    for record in passed:
        assert record.result is not None
        TaskResult.model_validate(record.result.model_dump())  # every result is a valid contract
        for path, content in stage_files(out, record):
            assert path.read_text().strip() == content.strip()
        for item in plan.files_of(record.team):
            assert (out / item.path).is_file(), f"{record.team} did not publish {item.path}"
        if any(f.role in (FileRole.CODE, FileRole.TESTS) for f in plan.files_of(record.team)):
            assert record.model == MODEL and record.usage.output_tokens > 0
            # what runs the model's code ran in the sandbox; lint (ruff) only reads the files
            ran_code = [c for c in record.checks if c.name in RUNS_CODE]
            assert ran_code and all(c.sandboxed and c.ok for c in ran_code), record.checks
    log = subprocess.run(
        ["git", "-C", str(out), "log", "--format=%an"], capture_output=True, text=True
    )
    assert log.returncode == 0 and len(log.stdout.splitlines()) >= len(passed)

    if stopped == "backend-engineering":  # its best version is delivered as NOT accepted
        assert "- `checksum.py` (backend-engineering, BLOCKED)" in (out / "SUMMARY.md").read_text()
        return
    # the delivered program does what the ticket asks, on input none of its examples show
    sandbox = Sandbox(cache_dir=e2e_home / "sandbox")
    environment = sandbox.environment(plan.dependencies)
    poem = "one\ntwo\nthree\n"
    (out / "poem.txt").write_text(poem, encoding="utf-8")
    for algorithm in ("sha256", "sha1", "md5"):
        argv = ["python", "-m", "checksum", "poem.txt", "--algorithm", algorithm]
        printed = sandbox.run(argv, workspace=out, env=environment)
        assert printed.exit_code == 0, printed.output
        assert hashlib.new(algorithm, poem.encode()).hexdigest() in printed.output, algorithm
    piped = sandbox.run(["python", "-m", "checksum"], workspace=out, env=environment, stdin="x\n")
    assert piped.exit_code == 0, piped.output
    assert hashlib.sha256(b"x\n").hexdigest() in piped.output, piped.output
    missing = sandbox.run(["python", "-m", "checksum", "nope.txt"], workspace=out, env=environment)
    assert missing.exit_code == 1, missing.output
