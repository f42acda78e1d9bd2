"""A kind of software really is one file: a throwaway kind, added here alone, is used everywhere.

The kind below is defined in this file only and put first in the registry
(``software/kinds/__init__.py``'s ``SHAPES``); nothing else of the factory is
changed. It is then read from a requirement, planned by tools (its own purpose
on the code file, its own teams' files), skeletoned, smoke-run (``--help``,
as the code checks run it) and told how its module written whole is run. The
requirement is the parser's own test requirement; no eval case has its sentences.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from devfactory.checks.code.plan_commands import smoke_for
from devfactory.graph.planning.plan_start import team_files, tool_plan
from devfactory.graph.stage.build_loop.whole import how_run
from devfactory.repairs.plan_repair import normalise_plan
from devfactory.software import infra
from devfactory.software import kinds as registry
from devfactory.software.kinds.command_line import COMMAND_LINE
from devfactory.software.kinds.shape import PlanPart
from devfactory.software.plan import BuildPlan, FileRole, SoftwareKind
from devfactory.software.requirement import RequirementFacts, read_requirement
from tests.unit.test_requirement_parser import CLI

PURPOSE = "the batch job: reads its files once and exits (the throwaway kind's own words)"


class BatchJob:
    """A throwaway kind: a command line run once over its files, contained, serving nothing."""

    name = "batch job"
    plan_kinds: tuple[SoftwareKind, ...] = (SoftwareKind.CLI,)
    user = "operator[operator's scheduler]"
    flow = "The scheduler runs `{entry}` once; it reads its files and exits."
    whole = "whole_command"
    serves = False
    contained = True

    def read(self, facts: RequirementFacts) -> RequirementFacts | None:
        return COMMAND_LINE.read(facts)

    def planned(self, facts: RequirementFacts) -> PlanPart | None:
        part = COMMAND_LINE.planned(facts)
        return replace(part, purpose=PURPOSE) if part is not None else None

    def __getattr__(self, member: str) -> object:  # every other member is the command line's
        return getattr(COMMAND_LINE, member)


BATCH = BatchJob()
OWNERS = {
    "solution-architecture": [FileRole.DOCS],
    "backend-engineering": [FileRole.CODE],
    "qa-engineering": [FileRole.TESTS],
    "api-design": [FileRole.API],
    "devops": [FileRole.INFRA],
    "sre": [FileRole.OPS],
}


@pytest.fixture
def added(monkeypatch: pytest.MonkeyPatch) -> BatchJob:
    monkeypatch.setattr(registry, "SHAPES", (BATCH, *registry.SHAPES))
    return BATCH


def test_a_kind_added_in_one_file_is_read_planned_skeletoned_and_smoke_run(
    added: BatchJob, tmp_path: Path
) -> None:
    facts = read_requirement(CLI)
    found = registry.reading(facts)
    assert found is not None and found.shape is added
    plan = tool_plan(CLI, OWNERS)
    assert plan is not None and plan.entry_point == "python -m tally"
    code = next(f for f in plan.files if f.role == FileRole.CODE)
    assert code.purpose.endswith(PURPOSE)  # the plan by tools asked the added kind
    roles = {f.role for f in plan.files}
    assert FileRole.INFRA in roles and FileRole.API not in roles  # contained, serves nothing
    assert registry.shape_for(plan) is added
    made = registry.skeleton(facts, "Count words.")
    assert made is not None and made.path == "tally.py"
    (tmp_path / made.path).write_text(made.source)
    smoke = smoke_for(plan)
    assert smoke is not None and smoke.kind == "cli"
    done = subprocess.run([sys.executable, *smoke.argv[1:], "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and "--top" in done.stdout
    assert "It is run as `python -m tally`" in how_run(facts, made.path)


def test_the_teams_files_and_the_image_follow_what_a_kind_says(added: BatchJob) -> None:
    writers = {FileRole.API: "api-design", FileRole.INFRA: "devops", FileRole.OPS: "sre"}
    planned = {f.path for f in team_files(SoftwareKind.CLI, "tally.py", writers)}
    assert planned == {"Dockerfile", "infra/ci.yml"}
    served = {f.path for f in team_files(SoftwareKind.WEB_SERVICE, "notes.py", writers)}
    assert served == {"api/openapi.yaml", "Dockerfile", "infra/ci.yml", "docs/runbook.md"}
    library = {f.path for f in team_files(SoftwareKind.LIBRARY, "tally.py", writers)}
    assert library == {"infra/ci.yml"}  # imported, never run in a container
    plan = BuildPlan.model_validate(
        {"kind": "web-service", "summary": "notes", "entry_point": "notes:app",
         "files": [{"path": "notes.py", "role": "code", "owner": "backend-engineering",
                    "purpose": "the service"}]}
    )  # fmt: skip
    dockerfile = infra.dockerfile(plan)
    assert dockerfile is not None and '"uvicorn", "notes:app"' in dockerfile


@pytest.mark.parametrize(
    ("given", "built", "entry"),
    [("web-app", "web-service", "x:app"), ("data-pipeline", "cli", "python -m x")],
)
def test_a_kind_nothing_builds_is_read_as_the_kind_that_builds_it(
    given: str, built: str, entry: str
) -> None:
    repairs: list[str] = []
    data = normalise_plan({"kind": given}, repairs)
    assert data["kind"] == built
    assert repairs == [f"kind {given} read as {built} (what builds it)"]
    files = [{"path": "x.py", "role": "code", "owner": "backend-engineering", "purpose": "x"}]
    plan = BuildPlan.model_validate(
        {"kind": given, "summary": "x", "files": files, "entry_point": entry}
    )
    assert plan.kind == SoftwareKind(built)  # a plan an earlier version's state holds
