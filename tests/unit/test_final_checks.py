"""The final checks put the build checks' problems beside the code checks': owned ones go back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from devfactory.contracts import CheckRun, StageOutcome, StageRecord
from devfactory.graph import final_checks as module
from devfactory.software.checks import Problem, Verification
from devfactory.software.plan import BuildPlan, FileRole, PlannedFile, SoftwareKind
from devfactory.teams.tool_checks import BuildVerdict

PLAN = BuildPlan(
    kind=SoftwareKind.LIBRARY,
    summary="a library",
    files=[
        PlannedFile(path="lib.py", role=FileRole.CODE, owner="backend-engineering", purpose="x")
    ],
)


def test_a_build_checks_problem_goes_to_its_owner_and_an_unowned_one_fails_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code_run = CheckRun(name="tests", command="pytest", exit_code=0, passed=3)
    scan = CheckRun(name="code_security", command="bandit", exit_code=0, failed=1, tool="bandit 1")
    monkeypatch.setattr(module, "build_plan_of", lambda state: PLAN)
    monkeypatch.setattr(module, "run_code_checks", lambda *a, **k: Verification(checks=[code_run]))
    monkeypatch.setattr(
        module,
        "build_checks",
        lambda *a, **k: BuildVerdict(
            [scan],
            [
                Problem("lib.py", "backend-engineering", "code_security", "line 3: eval"),
                Problem("", "", "licences", "dependency x is under GPL-3.0-only"),
            ],
        ),
    )
    passed = StageRecord(team="backend-engineering", outcome=StageOutcome.PASSED)
    state: Any = {"stages": {"backend-engineering": passed}, "requirement": "r"}
    runtime: Any = SimpleNamespace(context=SimpleNamespace(settings=SimpleNamespace(run_code=True)))
    found = module.final_checks(state, runtime, teams=None)
    assert found is not None
    assert found.checks == [code_run, scan]
    assert found.owners == {"backend-engineering": ["lib.py [code_security]: line 3: eval"]}
    assert found.problems == [
        "backend-engineering: lib.py [code_security]: line 3: eval",
        "run: dependency x is under GPL-3.0-only",  # no team's redraft can fix it: the run fails
    ]
