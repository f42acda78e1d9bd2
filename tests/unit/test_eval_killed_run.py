"""A factory run the evaluation must kill still counts what it spent: read from its run.json."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from eval import factory
from eval.factory import run_deadline, run_factory

# A stand-in for `devfactory run`: it writes the run.json a stopped run leaves (saying the
# time cap it was given), prints no report, and then hangs until the harness kills it.
CHILD = """
import json, os, sys, time
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
doc = {
    "run_id": "r-killed",
    "status": "INTERRUPTED",
    "reason": "time cap given: " + os.environ.get("DEVFACTORY_RUN_DEADLINE_S", "none"),
    "usage": {"input_tokens": 1000, "output_tokens": 234, "total_tokens": 1234},
}
with open(os.path.join(out, "run.json"), "w") as fh:
    json.dump(doc, fh)
print("started", flush=True)
time.sleep(60)
"""


def fake_child(monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    def command(requirement: str, pipeline: str, out: Path) -> list[str]:
        return [sys.executable, "-c", script, str(out)]

    monkeypatch.setattr(factory, "factory_command", command)


def test_a_killed_run_counts_the_tokens_and_status_of_the_run_json_it_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_child(monkeypatch, CHILD)
    requirement = tmp_path / "requirement.md"
    requirement.write_text("A tool.\n", encoding="utf-8")
    run = run_factory(
        requirement, pipeline="mvp", out=tmp_path / "run", logs=tmp_path / "logs", timeout=2
    )
    assert run.killed is True
    assert (run.status, run.run_id, run.tokens) == ("INTERRUPTED", "r-killed", 1234)
    assert run.reason.startswith("killed after 2 s; ")
    # the run was told to stop itself a little before the harness's timeout
    assert run.reason.endswith(f"time cap given: {run_deadline(2)}")
    assert (tmp_path / "logs" / "factory.stdout.log").read_text() == "started\n"


def test_a_killed_run_that_left_no_run_json_is_an_error_with_no_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_child(monkeypatch, "import time; time.sleep(60)")
    requirement = tmp_path / "requirement.md"
    requirement.write_text("A tool.\n", encoding="utf-8")
    run = run_factory(
        requirement, pipeline="mvp", out=tmp_path / "run", logs=tmp_path / "logs", timeout=1
    )
    assert (run.status, run.reason, run.tokens, run.killed) == (
        "ERROR",
        "killed after 1 s",
        None,
        True,
    )


def test_a_setting_given_to_the_run_wins_over_the_time_cap_the_harness_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_child(monkeypatch, CHILD)
    requirement = tmp_path / "requirement.md"
    requirement.write_text("A tool.\n", encoding="utf-8")
    run = run_factory(
        requirement,
        pipeline="mvp",
        out=tmp_path / "run",
        logs=tmp_path / "logs",
        timeout=1,
        overrides={"DEVFACTORY_RUN_DEADLINE_S": "0"},
    )
    assert run.reason.endswith("time cap given: 0")


@pytest.mark.parametrize(
    ("timeout", "cap"), [(3600, 3240), (600, 540), (100, 70), (30, 1), (10_000, 9400)]
)
def test_the_time_cap_is_a_little_under_the_timeout(timeout: float, cap: int) -> None:
    assert run_deadline(timeout) == cap
