"""What a run may call verified (checks that ran, named) and what stays a team's claim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devfactory.contracts import CheckRun, FinalChecks, StageOutcome, StageRecord, TaskResult
from devfactory.control.budget import Spend
from devfactory.factory.artifacts import check_line, commit_message, write_run_files
from devfactory.factory.findings import (
    check_fact,
    claims_of,
    instructions_of,
    tool_of,
    verified_facts,
)
from devfactory.teams import load_teams

TESTS = CheckRun(name="tests", command="python -m pytest -q", exit_code=0, seconds=2.0, passed=12)
LINT = CheckRun(
    name="lint", command="ruff check --select E9", exit_code=0, sandboxed=False, summary="clean"
)
OFF = CheckRun(name="run", command="", summary="code not run: run_code is off")
NO_RUFF = CheckRun(name="lint", command="ruff check", summary="ruff not installed: skipped")


@pytest.mark.parametrize(
    ("command", "tool"),
    [
        ("python -m pytest -q", "pytest"),
        ("/venv/bin/python3 -I -m pytest", "pytest"),
        ("ruff check --select E9", "ruff"),
        ("PYTHONPATH=src /usr/bin/pytest -q", "pytest"),
        ("", ""),
    ],
)
def test_the_tool_of_a_check_is_named_from_its_command(command: str, tool: str) -> None:
    assert tool_of(command) == tool


def test_a_fact_names_the_check_its_tool_and_whether_it_was_sandboxed() -> None:
    assert check_fact(TESTS) == "tests: 12 passed (pytest, sandboxed)"
    assert check_fact(LINT) == "lint: passed (ruff, not sandboxed)"
    failing = TESTS.model_copy(update={"exit_code": 1, "passed": 3, "failed": 1})
    assert check_fact(failing) == "tests: 3 passed, 1 failed (pytest, sandboxed)"
    crashed = CheckRun(name="import", command="python -I imports.py", exit_code=2)
    assert check_fact(crashed) == "import: failed (exit 2) (python, sandboxed)"


@pytest.mark.parametrize("check", [OFF, NO_RUFF], ids=["run_code off", "tool missing"])
def test_a_check_that_never_ran_is_neither_ok_nor_sandboxed(check: CheckRun) -> None:
    assert check.ran is False and check.sandboxed is False and check.ok is False
    again = CheckRun.model_validate(check.model_dump(mode="json"))  # as state stores it
    assert again.ran is False and again.sandboxed is False
    assert check_line(check) == f"{check.name}: not run ({check.summary})"


def test_a_killed_check_ran_and_an_explicit_ran_wins() -> None:
    killed = CheckRun(name="smoke", command="python -m app", summary="killed after 120 s")
    assert killed.ran is True and killed.sandboxed is True and not killed.ok
    said = CheckRun(name="tests", command="pytest", exit_code=0, ran=False)
    assert said.ok is False and said.sandboxed is False


def test_verified_facts_come_only_from_checks_that_ran_each_named() -> None:
    record = StageRecord(
        team="backend-engineering", outcome=StageOutcome.PASSED, checks=[TESTS, OFF]
    )
    final = FinalChecks(checks=[LINT, NO_RUFF])
    facts = verified_facts([record], final)
    assert facts == [
        "built software · lint: passed (ruff, not sandboxed)",
        "backend-engineering · tests: 12 passed (pytest, sandboxed)",
    ]


def test_a_claim_that_is_also_an_assumption_is_listed_once_and_copied_lines_are_left_out() -> None:
    spec = load_teams()["solution-architecture"]
    copied = (
        "The mermaid flowchart shows every component and external system,"
        " with connections labelled by protocol."
    )
    claims, dropped = claims_of(
        spec.slug,
        ["Two services talk over HTTP", copied],
        ["Two services talk over HTTP.", "One region", f"- {copied.lower()}"],
        instructions_of(spec),
    )
    assert [(c.text, c.assumed) for c in claims] == [
        ("Two services talk over HTTP", False),
        ("One region", True),
    ]
    assert dropped == 1  # the copy and its restatement are one item


def _record(checks: list[CheckRun]) -> StageRecord:
    result = TaskResult(
        status="COMPLETE",
        confidence=0.9,
        reasoning="done",
        verified_facts=["the API has three endpoints"],
        assumptions_made=["the API has three endpoints", "one region"],
    )
    return StageRecord(
        team="backend-engineering", outcome=StageOutcome.PASSED, result=result, checks=checks
    )


def test_summary_lists_checks_as_facts_claims_once_and_never_a_skipped_check_as_passed(
    tmp_path: Path,
) -> None:
    spend = {
        "governance": Spend(input_tokens=100, output_tokens=20, calls=1),
        "backend-engineering": Spend(input_tokens=300, output_tokens=90, calls=3),
    }
    write_run_files(
        tmp_path,
        run_id="r1",
        requirement="A todo API",
        pipeline="mvp",
        status="COMPLETED",
        reason="",
        records=[_record([TESTS, OFF])],
        spend=spend,
        final_checks=FinalChecks(checks=[LINT, NO_RUFF], score=0.5),
    )
    summary = (tmp_path / "SUMMARY.md").read_text()
    facts = summary.split("## Verified facts (from checks that ran)\n", 1)[1].split("\n## ")[0]
    listed = [ln for ln in facts.splitlines() if ln.startswith("- ")]
    assert listed[:2] == [
        "- built software · lint: passed (ruff, not sandboxed)",
        "- backend-engineering · tests: 12 passed (pytest, sandboxed)",
    ]
    assert "- built software · lint: not run (ruff not installed: skipped)" in listed
    assert "- backend-engineering · run: not run (code not run: run_code is off)" in listed
    assert "| lint | `ruff check` | not run | - | - | - | - | ruff not installed: skipped |" in (
        summary
    )
    assert "| run | - | not run: code not run: run_code is off | - | - | - |" in summary
    claims = summary.split("## Claims by the teams (not verified)\n", 1)[1]
    assert claims.count("the API has three endpoints") == 1
    assert "- **backend-engineering:** one region (assumed)" in claims
    assert "| **run total** | 4 | 400 | 110 |" in summary
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["usage"]["calls"] == 4 and doc["usage"]["total_tokens"] == 510
    assert doc["usage_by_team"]["governance"]["calls"] == 1


def test_a_commit_message_marks_a_check_that_never_ran_as_neither() -> None:
    message = commit_message(_record([TESTS, OFF]), "Backend Engineering")
    assert "✓ tests: python -m pytest -q → exit 0, 12 passed (2.0 s)" in message
    assert "– run: not run (code not run: run_code is off)" in message
    assert "✓ run" not in message and "✗ run" not in message
