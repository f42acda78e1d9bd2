"""``verify``: run code checks on a folder against the build plan and gather what they found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devfactory.checks.code.framework import (
    LISTED_ENTRIES,
    PARSED_BYTES,
    CheckContext,
    CodeCheck,
    Verification,
    run_checks,
)
from devfactory.runfiles import list_files, read_file
from devfactory.software.plan import BuildPlan
from devfactory.software.requirement import RequirementFacts

if TYPE_CHECKING:
    from devfactory.sandbox.runner import Sandbox


def verify(
    plan: BuildPlan,
    workspace: Path,
    sandbox: Sandbox | None,
    *,
    teams: Sequence[str],
    criteria: Sequence[str] = (),
    files: Mapping[str, str] | None = None,
    checks: Sequence[CodeCheck],
    requirement: str = "",
    facts: RequirementFacts | None = None,
    settled: frozenset[str] = frozenset(),
) -> Verification:
    """Run ``checks`` on ``workspace`` in order, each whose needs are met, and gather them.

    Args:
        plan: the run's build plan.
        workspace: a folder holding the files written so far.
        sandbox: where the code runs (None: only the checks that run nothing).
        teams: the teams whose planned files must be present by now.
        criteria: acceptance criteria ids to report on from the tests.
        files: the files laid out in ``workspace`` (read from it, links not
            followed, when not given).
        checks: the checks to run, in order (``catalogue.CHECKS.code``, say).
        requirement: the run's requirement (its skeleton's units must be written).
        facts: what the run read of it (None: the parser reads ``requirement``).
        settled: the tests files their tests' team has kept (``blame.settled_tests``).

    """
    if files is None:
        listed = list_files(workspace, LISTED_ENTRIES).files
        files = {
            path: read_file(workspace, path, PARSED_BYTES).decode("utf-8", errors="replace")
            for path, size in listed
            if size <= PARSED_BYTES
        }
    context = CheckContext(
        plan,
        files,
        teams,
        workspace=workspace,
        sandbox=sandbox,
        criteria=criteria,
        requirement=requirement,
        facts=facts,
        settled=settled,
    )
    return run_checks(context, checks)
