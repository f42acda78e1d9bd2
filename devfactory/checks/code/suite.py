"""The code checks a run gets by default, in order, and ``verify``, which runs them on a folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devfactory.checks.code.framework import (
    LISTED_ENTRIES,
    PARSED_BYTES,
    Check,
    CheckContext,
    Verification,
    run_checks,
)
from devfactory.checks.code.importing import ImportCheck
from devfactory.checks.code.install import InstallCheck
from devfactory.checks.code.lint import LintCheck
from devfactory.checks.code.plan_coverage import PlanCoverageCheck
from devfactory.checks.code.smoke import SmokeCheck
from devfactory.checks.code.testing import TestsCheck
from devfactory.checks.code.unwritten import UnwrittenCheck
from devfactory.runfiles import list_files, read_file
from devfactory.software.plan import BuildPlan
from devfactory.software.requirement import RequirementFacts

if TYPE_CHECKING:
    from devfactory.sandbox.runner import Sandbox

CODE_CHECKS: tuple[Check, ...] = (
    PlanCoverageCheck(),
    UnwrittenCheck(),
    LintCheck(),
    InstallCheck(),
    ImportCheck(),
    TestsCheck(),
    SmokeCheck(),
)
"""The checks ``verify`` runs by default, in order (install before what runs code)."""


def verify(
    plan: BuildPlan,
    workspace: Path,
    sandbox: Sandbox | None,
    *,
    teams: Sequence[str],
    criteria: Sequence[str] = (),
    files: Mapping[str, str] | None = None,
    checks: Sequence[Check] = CODE_CHECKS,
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
        checks: the checks to run (``CODE_CHECKS`` by default).
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
