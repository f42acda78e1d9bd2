"""The confidence gate routes every status and confidence, and stops at the cap."""

from __future__ import annotations

from functools import partial

import pytest

from devfactory.contracts import TaskResult
from devfactory.graph import gate
from devfactory.graph.gate import Route
from devfactory.teams import load_teams
from tests.fakes import good_report, sample_content

SPEC = load_teams()["backend-engineering"]  # threshold 0.70
PLANNED = ("src/backend/app.py", "src/backend/models.py")  # what a plan gave it
assess = partial(gate.assess, expected=PLANNED)


def result(**changes: object) -> TaskResult:
    artifacts = [
        {"path": path, "kind": "python", "content": sample_content(SPEC, path)} for path in PLANNED
    ]
    return TaskResult.model_validate({**good_report(SPEC), "artifacts": artifacts, **changes})


def test_complete_at_the_threshold_passes() -> None:
    verdict = assess(SPEC, result(confidence=SPEC.confidence_threshold), attempt=1, max_attempts=3)
    assert verdict.route is Route.PASS
    assert verdict.problems == []


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"confidence": 0.69}, "below the team's threshold 0.70"),
        ({"status": "BLOCKED", "blockers": ["no database chosen"]}, "status is BLOCKED"),
        ({"artifacts": []}, "missing deliverables: src/backend/app.py, src/backend/models.py"),
    ],
)
def test_shortfalls_retry_with_feedback_then_block_at_the_cap(changes: dict, needle: str) -> None:
    bad = result(**changes)
    first = assess(SPEC, bad, attempt=1, max_attempts=3)
    assert first.route is Route.RETRY
    assert any(needle in p for p in first.problems), first.problems
    assert assess(SPEC, bad, attempt=2, max_attempts=3).route is Route.RETRY
    last = assess(SPEC, bad, attempt=3, max_attempts=3)
    assert last.route is Route.BLOCK
    assert last.problems[0] == "gate failed 3 of 3 attempts"
    assert needle in last.reason


def test_failed_artifact_check_fails_the_gate() -> None:
    broken = result(
        artifacts=[
            {"path": "src/backend/app.py", "kind": "python", "content": "def broken(:\n"},
            {"path": "src/backend/models.py", "kind": "python", "content": "X = 1\n"},
        ]
    )
    verdict = assess(SPEC, broken, attempt=1, max_attempts=1)
    assert verdict.route is Route.BLOCK
    assert any("src/backend/app.py: Python syntax error" in p for p in verdict.problems)


def test_artifacts_outside_the_deliverables_fail_the_gate() -> None:
    stray = result(
        artifacts=[
            *result().model_dump()["artifacts"],
            {"path": "notes/extra.md", "kind": "markdown", "content": "# x"},
        ]
    )
    verdict = assess(SPEC, stray, attempt=1, max_attempts=2)
    assert verdict.route is Route.RETRY
    assert "artifacts outside your deliverables: notes/extra.md" in verdict.problems


def test_problems_found_while_drafting_count() -> None:
    verdict = assess(
        SPEC,
        result(),
        attempt=1,
        max_attempts=2,
        extra_problems=["src/backend/app.py: 9000 characters, cut at 6000"],
    )
    assert verdict.route is Route.RETRY
    assert verdict.problems == ["src/backend/app.py: 9000 characters, cut at 6000"]


def test_a_question_goes_to_the_broker_while_an_attempt_is_left() -> None:
    asking = result(
        status="NEEDS_CLARIFICATION",
        clarification_needed={"target_team": "api-design", "question": "Auth?"},
    )
    for attempt in (1, 2):
        verdict = assess(SPEC, asking, attempt=attempt, max_attempts=3)
        assert verdict.route is Route.CLARIFY
        assert verdict.problems == []  # the question itself is not a problem to fix
    last = assess(SPEC, asking, attempt=3, max_attempts=3)
    assert last.route is Route.BLOCK
    assert any("you asked api-design" in p for p in last.problems)
