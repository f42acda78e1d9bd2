"""Traceability: each acceptance criterion to the tests that ran; an uncovered one goes to QA."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.code import REQUIREMENTS_PATH, Verification
from devfactory.checks.tools import BuildVerdict, ToolContext, run_build_checks
from devfactory.checks.tools.traceability import (
    TraceabilityCheck,
    criterion_texts,
    trace,
)
from devfactory.contracts import CheckRun, StageOutcome, StageRecord
from devfactory.graph import final_checks as module
from devfactory.software.behaviour import PATH as BEHAVIOUR_PATH
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.plan import BuildPlan, FileRole, PlannedFile, SoftwareKind
from devfactory.teams import load_teams

REQUIREMENTS = """# Requirements

## Acceptance criteria
- AC-1: `add 2 3` prints 5.
- **AC-2**: a missing operand exits with status 2.
- AC-3: `--help` lists both commands.

AC-1 again in prose is not a new criterion.
"""

FILES = {
    REQUIREMENTS_PATH: REQUIREMENTS,
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "def test_ac1_add():\n    assert True\n",
}

PLAN = BuildPlan(
    kind=SoftwareKind.LIBRARY,
    summary="a calculator",
    files=[
        PlannedFile(path="calc.py", role=FileRole.CODE, owner="backend-engineering", purpose="x"),
        PlannedFile(
            path="tests/test_calc.py", role=FileRole.TESTS, owner="qa-engineering", purpose="t"
        ),
    ],
)


def context(criteria: dict[str, str], files: dict[str, str] | None = None) -> ToolContext:
    return ToolContext(
        sandbox=None,  # type: ignore[arg-type]  # nothing is run: the tests' report is read
        env=None,  # type: ignore[arg-type]
        workspace=Path("/nonexistent"),
        files=FILES if files is None else files,
        planned=frozenset(f.path for f in PLAN.files),
        criteria=criteria,
        tests=("tests/test_calc.py",),
    )


def test_each_criterion_is_read_once_with_its_words() -> None:
    assert criterion_texts(REQUIREMENTS) == {
        "AC-1": "`add 2 3` prints 5.",
        "AC-2": "a missing operand exits with status 2.",
        "AC-3": "`--help` lists both commands.",
    }
    found = trace(REQUIREMENTS, {"AC-1": "passed", "AC-2": "failed"}, ["a.py", "b.py"], ["a.py"])
    assert found.criteria == {"AC-1": "passed", "AC-2": "failed", "AC-3": "not covered"}
    assert found.missing_files == ["b.py"]
    assert found.summary() == (
        "3 criteria (1 failed, 1 not covered, 1 passed); planned files not written: b.py"
    )


def test_every_criterion_covered_passes_and_a_failed_test_is_not_sent_twice() -> None:
    report = TraceabilityCheck().run(
        context({"AC-1": "passed", "AC-2": "failed", "AC-3": "passed"}), [REQUIREMENTS_PATH]
    )
    assert report.findings == []  # AC-2's failing test is the tests check's problem
    [record] = report.runs
    assert (record.passed, record.failed, record.tool) == (3, 0, "JUnit report")
    assert record.summary == "3 criteria (1 failed, 2 passed); every planned file written"


def test_a_criterion_no_test_covers_goes_to_the_tests_with_its_words() -> None:
    report = TraceabilityCheck().run(
        context({"AC-1": "passed", "AC-2": "passed", "AC-3": "not covered"}), [REQUIREMENTS_PATH]
    )
    [finding] = report.findings
    assert finding.path == "tests/test_calc.py"
    assert finding.text == (
        "no test that ran covers AC-3 (`--help` lists both commands.): add one named "
        "test_ac3_... that checks it"
    )
    assert (report.runs[0].passed, report.runs[0].failed) == (2, 1)


def test_a_missing_criterion_goes_to_the_teams_own_tests_not_the_examples_file() -> None:
    # the factory writes the requirement's examples and the agreed behaviour first
    written = (EXAMPLES_PATH, BEHAVIOUR_PATH, "tests/test_calc.py")
    examples = replace(context({"AC-1": "passed"}), tests=written)
    findings = TraceabilityCheck().run(examples, [REQUIREMENTS_PATH]).findings
    assert {f.path for f in findings} == {"tests/test_calc.py"}
    alone = replace(context({"AC-1": "passed"}), tests=(EXAMPLES_PATH,))  # no other: to it
    assert {f.path for f in TraceabilityCheck().run(alone, [REQUIREMENTS_PATH]).findings} == {
        EXAMPLES_PATH
    }


def test_no_criteria_or_no_test_run_is_recorded_not_judged() -> None:
    check = TraceabilityCheck()
    empty = check.run(context({}, {**FILES, REQUIREMENTS_PATH: "# Requirements\n"}), ["x"])
    assert empty.findings == [] and empty.runs[0].summary.startswith("not run:")
    unrun = check.run(context({}), [REQUIREMENTS_PATH])  # the tests never ran: they say why
    assert unrun.findings == []
    assert unrun.runs[0].summary.startswith("not judged: no test ran; 3 criteria (3 not covered)")


def test_the_finding_reaches_the_owner_of_the_tests_through_the_build_checks() -> None:
    verdict = run_build_checks(
        [CHECKS.build["traceability"]],
        FILES,
        None,  # type: ignore[arg-type]
        code=["calc.py"],
        owner_of=PLAN.owner_of,
        planned=[f.path for f in PLAN.files],
        tests=["tests/test_calc.py"],
        criteria={"AC-1": "passed", "AC-2": "not covered", "AC-3": "passed"},
    )
    [problem] = verdict.problems
    assert (problem.path, problem.owner, problem.check) == (
        "tests/test_calc.py",
        "qa-engineering",
        "traceability",
    )
    assert "AC-2" in problem.text


def test_the_final_checks_give_the_build_checks_the_tests_criteria(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given: dict[str, Any] = {}

    def build_checks(*args: Any, **kwargs: Any) -> BuildVerdict:
        given.update(kwargs)
        return BuildVerdict([], [])

    tests = CheckRun(name="tests", command="pytest", exit_code=0, passed=1)
    found = Verification(checks=[tests], criteria={"AC-1": "passed", "AC-2": "not covered"})
    monkeypatch.setattr(module, "build_plan_of", lambda state: PLAN)
    monkeypatch.setattr(module, "run_code_checks", lambda *a, **k: found)
    monkeypatch.setattr(module, "build_checks", build_checks)
    record = StageRecord(team="qa-engineering", outcome=StageOutcome.PASSED)
    state: Any = {"stages": {"qa-engineering": record}, "requirement": "r"}
    runtime: Any = SimpleNamespace(
        context=SimpleNamespace(
            settings=SimpleNamespace(
                generation=SimpleNamespace(run_code=True, kept_tests_to_code=True)
            )
        )
    )
    checked = module.final_checks(state, runtime, teams=None)
    assert checked is not None and checked.criteria == found.criteria
    assert given["criteria"] == {"AC-1": "passed", "AC-2": "not covered"}


def test_the_teams_that_write_the_criteria_and_the_plan_name_it() -> None:
    teams = load_teams()
    for slug in ("product-management", "business-analysis", "solution-architecture"):
        assert "traceability" in teams[slug].build_checks, slug


def test_build_checks_hand_the_plan_its_tests_and_the_criteria_to_the_check() -> None:
    record = StageRecord(team="business-analysis", outcome=StageOutcome.PASSED)
    state: Any = {"stages": {"business-analysis": record}, "requirement": "r"}
    context = SimpleNamespace(settings=None, get_sandbox=lambda: None)
    verdict = module.build_checks(
        state,
        SimpleNamespace(context=context),  # type: ignore[arg-type]
        FILES,
        PLAN,
        load_teams(),
        criteria={"AC-1": "passed", "AC-2": "passed", "AC-3": "not covered"},
    )
    [run] = verdict.checks
    assert run.name == "traceability" and run.summary.endswith("every planned file written")
    assert [(p.path, p.owner) for p in verdict.problems] == [
        ("tests/test_calc.py", "qa-engineering")
    ]
