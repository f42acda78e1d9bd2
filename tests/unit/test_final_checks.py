"""The final checks put the build checks' problems beside the code checks': owned ones go back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from devfactory.checks.code import Problem, Verification
from devfactory.checks.tools import BuildVerdict
from devfactory.contracts import CheckRun, StageOutcome, StageRecord
from devfactory.graph import final_checks as module
from devfactory.software.plan import BuildPlan, FileRole, PlannedFile, SoftwareKind

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
    runtime: Any = SimpleNamespace(
        context=SimpleNamespace(
            settings=SimpleNamespace(
                generation=SimpleNamespace(run_code=True, kept_tests_to_code=True)
            )
        )
    )
    found = module.final_checks(state, runtime, teams=None)
    assert found is not None
    assert found.checks == [code_run, scan]
    assert found.owners == {"backend-engineering": ["lib.py [code_security]: line 3: eval"]}
    assert found.problems == [
        "backend-engineering: lib.py [code_security]: line 3: eval",
        "run: dependency x is under GPL-3.0-only",  # no team's redraft can fix it: the run fails
    ]


def test_a_finding_on_a_teams_own_deliverable_goes_back_to_the_team_that_wrote_it() -> None:
    from devfactory.contracts import Artifact, ArtifactKind, Status, TaskResult

    web = 'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get("/todos")\ndef todos():\n'
    web += "    return []\n"
    model = "# Threat model\n\nNothing reaches the service.\n"  # names no route
    written = TaskResult(
        status=Status.COMPLETE,
        confidence=0.9,
        reasoning="the threat model",
        artifacts=[
            Artifact(path="security/threat-model.md", kind=ArtifactKind.MARKDOWN, content=model)
        ],
    )
    record = StageRecord(team="security-engineering", outcome=StageOutcome.PASSED, result=written)
    state: Any = {"stages": {"security-engineering": record}, "requirement": "r"}
    runtime: Any = SimpleNamespace(context=SimpleNamespace(settings=None, get_sandbox=lambda: None))
    teams: Any = {"security-engineering": SimpleNamespace(build_checks=["entry_points"])}
    files = {"lib.py": web, "security/threat-model.md": model}
    verdict = module.build_checks(state, runtime, files, PLAN, teams)
    # the build plan does not list the threat model: the team that wrote it owns it
    assert [(p.path, p.owner) for p in verdict.problems] == [
        ("security/threat-model.md", "security-engineering")
    ]
