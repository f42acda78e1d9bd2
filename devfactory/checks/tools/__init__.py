"""Tool checks: a real, well-kept tool run on a team's files in the sandbox, on every attempt.

The factory's third kind of check, beside the artifact checks (``checks/artifact.py``:
is a file well formed for its kind, read as text) and the code checks
(``checks/code/``: does the software hold up, run in the sandbox). A team's
``team.yaml`` lists its tool checks under ``tool_checks``; the stage's verify step
(``graph/stage/verify.py``) lays the workspace out (every passed stage's files and
the team's drafts) and runs each check on the team's files it judges, with the
factory's own environment (``uv.lock`` pins every tool:
``sandbox.environments.tools_environment``) mounted read-only in the sandbox.
A finding is about one of the team's files and keeps the stage from passing,
whatever the team's confidence; each run is recorded as a ``CheckRun`` naming the
tool and its version. A team whose tool is not installed fails when the teams
load (``missing_tools``), never silently at run time.

A team's ``build_checks`` run once the software is built, in the run's final checks
(``graph/final_checks.py``), on files other teams wrote (the code): each finding goes to
the owner of its file, through the bounded fix rounds, or fails the run when no team
owns it (a declared dependency's licence).

A new tool check is one class (``tool_frame.ToolCheck``, or ``tool_frame.BuildCheck``)
in a module of its own, added to ``TOOL_CHECKS`` (or ``BUILD_CHECKS``). One that runs a
single driver and reads its JSON report is a ``tool_frame.DriverCheck``: its promise,
its driver and how it reads the findings (``read``); the run, a tool that did not
report and the record are the base's.
"""

from __future__ import annotations

from collections.abc import Sequence

from devfactory.checks.tools.contract import ServiceContractCheck
from devfactory.checks.tools.data import DataContractCheck
from devfactory.checks.tools.database import CodeSqlCheck, SqlApplyCheck
from devfactory.checks.tools.devops import CiSchemaCheck, DockerfileLintCheck
from devfactory.checks.tools.docs import DocLinksCheck
from devfactory.checks.tools.entry_points import EntryPointsCheck
from devfactory.checks.tools.frontend import HtmlCheck
from devfactory.checks.tools.fuzz import ApiFuzzCheck
from devfactory.checks.tools.integration import IntegrationCheck
from devfactory.checks.tools.licences import LicenceCheck, LicenceFileCheck
from devfactory.checks.tools.mutation import MutationCheck
from devfactory.checks.tools.openapi import OpenApiCheck
from devfactory.checks.tools.pipeline import PipelineRunCheck
from devfactory.checks.tools.readme import ReadmeCommandsCheck
from devfactory.checks.tools.runbook import RunbookCheck
from devfactory.checks.tools.security import CodeSecurityCheck
from devfactory.checks.tools.tool_frame import (
    BuildCheck,
    BuildVerdict,
    Finding,
    Tool,
    ToolCheck,
    ToolContext,
    ToolReport,
    ToolVerdict,
    run_build_checks,
    run_tool_checks,
)
from devfactory.checks.tools.traceability import TraceabilityCheck

TOOL_CHECKS: dict[str, ToolCheck] = {
    check.name: check
    for check in (
        OpenApiCheck(),
        SqlApplyCheck(),
        DockerfileLintCheck(),
        CiSchemaCheck(),
        HtmlCheck(),
        DocLinksCheck(),
        DataContractCheck(),
    )
}
"""Every tool check a ``team.yaml`` may name under ``tool_checks``, by name."""

BUILD_CHECKS: dict[str, BuildCheck] = {
    check.name: check
    for check in (
        CodeSecurityCheck(),
        EntryPointsCheck(),
        LicenceCheck(),
        ServiceContractCheck(),
        TraceabilityCheck(),
        ReadmeCommandsCheck(),
        MutationCheck(),
        PipelineRunCheck(),
        RunbookCheck(),
        IntegrationCheck(),
        ApiFuzzCheck(),
        CodeSqlCheck(),
        LicenceFileCheck(),
    )
}
"""Every check a ``team.yaml`` may name under ``build_checks``, by name."""


def missing_tools(names: Sequence[str]) -> list[str]:
    """Return a sentence for each named check (tool or build) whose tool is not installed."""
    found = []
    for name in names:
        tool_check, build_check = TOOL_CHECKS.get(name), BUILD_CHECKS.get(name)
        tools = (tool_check.tool,) if tool_check else build_check.tools if build_check else ()
        found += [
            f"{name} needs {t.distribution}, which is not installed (make setup: uv sync)"
            for t in tools
            if t.version() is None
        ]
    return found


__all__ = [
    "BUILD_CHECKS",
    "TOOL_CHECKS",
    "BuildCheck",
    "BuildVerdict",
    "Finding",
    "Tool",
    "ToolCheck",
    "ToolContext",
    "ToolReport",
    "ToolVerdict",
    "missing_tools",
    "run_build_checks",
    "run_tool_checks",
]
