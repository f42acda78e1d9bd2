"""One real run of ``devfactory run`` on the embedded llama.cpp model.

It is killed (SIGKILL) as soon as its first stage finishes and completed with
``devfactory resume``: real inference, real Postgres, real checkpoints, and the
real sandbox for the code the plan asks for. It takes minutes on two cores; the
per-stage times are in the run's SUMMARY.md. Whatever the small model's tests
say, the run must hold together: a valid plan, every planned file of a passed
stage in the folder, each code stage's sandbox checks recorded.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

from devfactory.contracts import StageOutcome, StageRecord, TaskResult
from devfactory.factory.artifacts import stage_files
from devfactory.software.plan import PLAN_PATH, BuildPlan, FileRole
from tests.e2e.conftest import BIN, ROOT, cli

REQUIREMENT = "A small Python library that counts the words in a text."
# the checks that execute the model's code (lint only reads it)
RUNS_CODE = frozenset({"install", "import", "tests", "smoke", "existing_tests"})


def test_embedded_mvp_run_killed_and_resumed(env: dict[str, str], tmp_path: Path) -> None:
    env = {
        **env,
        "DEVFACTORY_MODEL_CHAIN": "embedded",
        "DEVFACTORY_STAGE_MAX_TOKENS": "768",
        "DEVFACTORY_MAX_STAGE_ATTEMPTS": "2",
        "DEVFACTORY_MAX_PARSE_RETRIES": "1",
        "DEVFACTORY_UPSTREAM_CHARS": "800",
        # no person is at this test: a BLOCKED stage fails the run, a question meant for a
        # person ends its stage BLOCKED, and nothing waits for review
        "DEVFACTORY_UNATTENDED": "true",
        "DEVFACTORY_MAX_HUMAN_RETRIES": "0",
        "DEVFACTORY_REVIEW_REQUIRED": "false",
    }
    out = tmp_path / "out"

    def drive(*args: str) -> tuple[subprocess.Popen[str], list[str], str]:
        """Run a CLI command; SIGKILL it as soon as its first stage finishes."""
        proc = subprocess.Popen(
            [str(BIN / "devfactory"), *args],
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
            if match := re.match(r"run (\S+) \((?:new|resumed)\)", line):
                run_id = match.group(1)
            if line.startswith("■ business-analysis"):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=60)
        return proc, seen, run_id

    proc, seen, run_id = drive("run", REQUIREMENT, "--pipeline", "mvp", "--out", str(out))
    if proc.returncode == 6:
        # the small model's risk rating (or the policy) asked for approval: give it
        assert "governance" in "".join(seen), "".join(seen)
        proc, more, _ = drive("approve", run_id, "--as", "e2e", "--role", "approver")
        seen += more
    transcript = "".join(seen)
    assert proc.returncode == -signal.SIGKILL, transcript
    assert run_id, transcript
    # the first progress line survives the model load (llama.cpp silences fds 1 and 2 then)
    assert "▶ business-analysis attempt 1 on embedded:qwen2.5-coder-0.5b-instruct-q4_k_m" in (
        transcript
    )

    status = cli("status", run_id, env=env)
    assert status.returncode == 0, status.stderr
    assert "INTERRUPTED" in status.stdout
    assert f"devfactory resume {run_id}" in status.stdout

    resumed = cli("resume", run_id, env=env, timeout=1500)
    assert resumed.returncode in (0, 1), resumed.stdout + resumed.stderr
    assert "▶ business-analysis" not in resumed.stdout  # the finished stage is not redone
    assert f"run {run_id} (resumed)" in resumed.stdout

    doc = json.loads((out / "run.json").read_text())
    assert doc["run_id"] == run_id
    assert doc["status"] in ("COMPLETED", "FAILED")
    assert [s["team"] for s in doc["stages"]] == [
        "business-analysis",
        "solution-architecture",
        "backend-engineering",
        "qa-engineering",
        "documentation",
    ]
    ran = [StageRecord.model_validate(s) for s in doc["stages"]]
    for record in ran:
        if record.outcome is StageOutcome.SKIPPED:
            continue
        assert record.result is not None
        TaskResult.model_validate(record.result.model_dump())  # every result is a valid contract
        assert record.model == "embedded:qwen2.5-coder-0.5b-instruct-q4_k_m"
        assert record.usage.input_tokens > 0 and record.usage.output_tokens > 0
        assert record.seconds > 0
        assert record.result.artifacts, f"{record.team} drafted nothing"
        for path, content in stage_files(
            out, record
        ):  # at its path (beside it, when a refused one does not parse)
            assert path.read_text().strip() == content.strip()
    assert ran[0].outcome is not StageOutcome.SKIPPED
    for record in ran[1:]:  # mem0 extracted (or reported failing to extract) each stage's facts
        if record.outcome is StageOutcome.PASSED:
            assert f"✎ {record.team} facts: " in resumed.stdout, resumed.stdout
    assert (out / "SUMMARY.md").read_text().startswith(f"# Run {run_id}: {doc['status']}")
    if doc["status"] == "FAILED":
        assert "BLOCKED" in doc["reason"] or "fails its checks" in doc["reason"], doc["reason"]
    # the planned build: a valid plan, its files, and the sandbox's results recorded
    records = {r.team: r for r in ran}
    if records["solution-architecture"].outcome is StageOutcome.PASSED:
        plan = BuildPlan.model_validate_json((out / PLAN_PATH).read_text())
        for record in ran:
            if record.outcome is not StageOutcome.PASSED:
                continue
            for item in plan.files_of(record.team):
                assert (out / item.path).is_file(), f"{record.team} did not publish {item.path}"
            if any(f.role in (FileRole.CODE, FileRole.TESTS) for f in plan.files_of(record.team)):
                assert record.checks, f"{record.team} wrote code that was never run"
                # what runs the model's code ran in the sandbox; lint (ruff) only reads the files
                ran_code = [c for c in record.checks if c.name in RUNS_CODE]
                assert ran_code and all(c.sandboxed for c in ran_code), record.checks
        log = subprocess.run(
            ["git", "-C", str(out), "log", "--format=%an"], capture_output=True, text=True
        )
        passed = [r for r in ran if r.outcome is StageOutcome.PASSED]
        assert log.returncode == 0 and len(log.stdout.splitlines()) >= len(passed)
