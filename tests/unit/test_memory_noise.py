"""Memory keeps facts worth recalling: a passed check's report is not one, a failure is."""

from __future__ import annotations

from devfactory.contracts import CheckRun, StageOutcome, StageRecord, Status, TaskResult
from devfactory.memory.service import digest, recallable_facts

FACT = "Todos are kept in SQLite with write-ahead logging on"
DECISION = "The CLI exits 2 on a bad option, as argparse does"


def record(facts: list[str], checks: list[CheckRun]) -> StageRecord:
    result = TaskResult(
        status=Status.COMPLETE,
        confidence=0.9,
        reasoning="Wrote the module.",
        verified_facts=facts,
        assumptions_made=[DECISION],
    )
    return StageRecord(
        team="backend-engineering", outcome=StageOutcome.PASSED, result=result, checks=checks
    )


INSTALL = CheckRun(name="install", command="uv pip install", exit_code=0, summary="exit 0")
IMPORT = CheckRun(name="import", command="python -c 'import todo'", exit_code=0)
TESTS = CheckRun(name="tests", command="pytest -q", exit_code=1, passed=1, failed=1)
NOISE = ["install: exit 0 in 0.0 s", "import: exit 0 in 0.1 s"]
FAILURE = "tests: exit 1; 1 passed, 1 failed in 0.3 s: test_due_dates (KeyError: 'due')"


def test_a_passed_check_s_report_is_not_kept_a_failure_and_other_facts_are() -> None:
    done = record([*NOISE, FAILURE, FACT], [INSTALL, IMPORT, TESTS])
    assert recallable_facts(done) == [FAILURE, FACT]
    text = digest(done)
    assert FACT in text and FAILURE in text and DECISION in text
    assert not any(noise in text for noise in NOISE)


def test_a_fact_that_only_names_a_check_the_stage_never_ran_is_kept() -> None:
    said = "install: the package needs Python 3.11 or later"
    assert recallable_facts(record([said, FACT], [IMPORT])) == [said, FACT]
    assert recallable_facts(record([*NOISE, FACT], [])) == [*NOISE, FACT]  # no check says so


def test_a_check_that_failed_once_in_the_stage_keeps_its_facts() -> None:
    again = CheckRun(name="tests", command="pytest -q", exit_code=0, passed=2)
    facts = ["tests: exit 0; 2 passed in 0.2 s", FAILURE]
    assert recallable_facts(record(facts, [TESTS, again])) == facts


def test_a_check_that_did_not_run_is_no_fact() -> None:
    off = CheckRun(name="run", command="", summary="code not run: run_code is off")
    assert not off.ran
    assert recallable_facts(record(["run: code not run: run_code is off", FACT], [off])) == [FACT]


def test_a_blocked_stage_teaches_its_error_line_not_its_traceback() -> None:
    from pathlib import Path

    from devfactory.memory.service import lesson

    reason = (
        "smoke: python -m greet exited 1:\nTraceback (most recent call last):\n"
        f'  File "{Path.home()}/.pyenv/lib/python3.11/runpy.py", line 198, in _run_module_as_main\n'
        '  File "<frozen importlib._bootstrap>", line 1204, in _gcd_import\n'
        "ModuleNotFoundError: No module named 'greet'"
    )
    blocked = StageRecord(team="backend-engineering", outcome=StageOutcome.BLOCKED, reason=reason)
    assert lesson(blocked) == (
        "backend-engineering was blocked: ModuleNotFoundError: No module named 'greet'"
    )
    plain = StageRecord(team="qa", outcome=StageOutcome.BLOCKED, reason="gate failed 3 of 3\nmore")
    assert lesson(plain) == "qa was blocked: gate failed 3 of 3"
    assert str(Path.home()) not in lesson(
        StageRecord(team="qa", outcome=StageOutcome.BLOCKED, reason=f"no file {Path.home()}/x.py")
    )
