"""QA Engineering's tests judged by the mutants they catch (cosmic-ray) and the lines they run.

Tests that assert what the code returns catch mutants and pass; a suite that would pass
whatever the code did catches none and goes back to QA Engineering; tests that fail on
the code as it is are not judged here (the tests check says why); the settings cap the
mutants and set the score and the line coverage (coverage.py) asked for.
"""

from __future__ import annotations

from typing import Any

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.tools import run_build_checks
from devfactory.sandbox.environments import tools_environment
from devfactory.sandbox.runner import Limits, Sandbox
from devfactory.settings import Settings
from devfactory.software.plan import BuildPlan, FileRole, PlannedFile, SoftwareKind

LIMITS = Limits(
    cpu_seconds=120,
    memory_mb=2048,
    processes=64,
    wall_seconds=120,
    output_chars=5000,
    file_size_mb=8,
)

CODE = """\
def add(a, b):
    return a + b


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value
"""
GOOD_TESTS = """\
from calc import add, clamp


def test_add():
    assert add(2, 3) == 5


def test_clamp():
    assert clamp(5, 0, 3) == 3
    assert clamp(-1, 0, 3) == 0
    assert clamp(2, 0, 3) == 2
"""
HOLLOW_TESTS = """\
from calc import add, clamp


def test_it_runs():
    add(2, 3)
    clamp(5, 0, 3)
"""
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


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS)
    box.check()
    return box


def mutate(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tests: str, settings: Settings | None = None
) -> tuple[Any, list[tuple[str, str]]]:
    monkeypatch.setattr(sandbox, "environment", lambda deps: tools_environment())  # has pytest
    found = run_build_checks(
        [CHECKS.build["mutation_score"]],
        {"calc.py": CODE, "tests/test_calc.py": tests},
        sandbox,
        code=["calc.py"],
        tests=["tests/test_calc.py"],
        owner_of=PLAN.owner_of,
        settings=settings or Settings(mutation_mutants_max=6),
    )
    [record] = found.checks
    return record, [(p.owner, p.line()) for p in found.problems]


def test_tests_that_assert_what_the_code_returns_catch_mutants(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = mutate(sandbox, monkeypatch, GOOD_TESTS)
    assert problems == []
    assert record.ok and record.sandboxed and record.passed >= 3
    assert record.summary.startswith(f"{record.passed} of ")
    assert record.summary.endswith("; line coverage 100.0%")  # coverage.py, on the first run
    assert record.tool.startswith("cosmic-ray 8.7.")


def test_a_suite_that_catches_no_mutant_goes_back_to_qa(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = mutate(sandbox, monkeypatch, HOLLOW_TESTS)
    [(owner, line)] = problems
    assert owner == "qa-engineering"
    judged = record.failed  # every place of this code mutated once (fewer than the cap of 6)
    assert line.startswith(
        f"tests/test_calc.py [mutation_score]: the tests catch none of {judged} mutants of the "
        "code: they still pass with calc.py line "
    )
    assert judged >= 3 and record.passed == 0 and not record.ok


def test_a_score_below_the_setting_goes_back_too(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = GOOD_TESTS.split("def test_clamp")[0]  # add is tested, clamp is not
    settings = Settings(mutation_mutants_max=6, mutation_min_score=0.9)
    record, problems = mutate(sandbox, monkeypatch, partial, settings)
    [(owner, line)] = problems
    assert owner == "qa-engineering" and "the tests catch only " in line and "below 90%" in line
    assert 0 < record.passed < 6


def test_coverage_below_the_setting_goes_back_with_the_least_run_module(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = GOOD_TESTS.split("def test_clamp")[0]  # clamp's six lines are never run
    settings = Settings(mutation_mutants_max=2, coverage_min=90)
    record, problems = mutate(sandbox, monkeypatch, partial, settings)
    lines = [line for owner, line in problems if owner == "qa-engineering"]
    assert any(
        line.startswith("tests/test_calc.py [mutation_score]: the tests run ")
        and "% of the code's lines, below coverage_min (90.0%); least run: calc.py " in line
        for line in lines
    ), lines
    assert "line coverage 37.5%" in record.summary  # 3 of its 8 statements


def test_tests_that_fail_on_the_code_as_it_is_are_not_judged(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = mutate(sandbox, monkeypatch, GOOD_TESTS.replace("== 5", "== 6"))
    assert problems == []
    assert record.summary == "not judged: the tests do not pass on the code as it is"


def test_the_draw_is_capped_and_repeatable(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(mutation_mutants_max=2)
    first, _ = mutate(sandbox, monkeypatch, GOOD_TESTS, settings)
    again, _ = mutate(sandbox, monkeypatch, GOOD_TESTS, settings)
    assert first.passed + first.failed <= 2
    assert first.summary == again.summary


def test_qa_names_the_check() -> None:
    from devfactory.teams import load_teams

    assert "mutation_score" in load_teams()["qa-engineering"].build_checks


def test_nothing_is_run_or_recorded_when_the_tests_check_found_the_tests_failing() -> None:
    from devfactory.contracts import CheckRun

    failing = CheckRun(name="tests", command="pytest", exit_code=1, passed=1, failed=1)
    found = run_build_checks(
        [CHECKS.build["mutation_score"]],
        {"calc.py": CODE, "tests/test_calc.py": GOOD_TESTS},
        None,  # type: ignore[arg-type]  # nothing may reach the sandbox
        code=["calc.py"],
        tests=["tests/test_calc.py"],
        owner_of=PLAN.owner_of,
        code_checks=[failing],
    )
    assert found.checks == [] and found.problems == []
