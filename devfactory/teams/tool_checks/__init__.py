"""Tool checks: a real, well-kept tool run on a team's files in the sandbox, on every attempt.

The factory's third kind of check, beside the artifact checks (``teams/checks.py``:
is a file well formed for its kind, read as text) and the code checks
(``software/checks/``: does the software hold up, run in the sandbox). A team's
``team.yaml`` lists its tool checks under ``tool_checks``; the stage's verify step
(``graph/stage/verify.py``) lays the team's files out and runs each check that
judges any of them, with the factory's own environment (``uv.lock`` pins every
tool: ``sandbox.environments.tools_environment``) mounted read-only in the sandbox.
A finding is about one of the team's files and keeps the stage from passing,
whatever the team's confidence; each run is recorded as a ``CheckRun`` naming the
tool and its version. A team whose tool is not installed fails when the teams
load (``missing_tools``), never silently at run time.

A new tool check is one class (``framework.ToolCheck``) in a module of its own,
added to ``TOOL_CHECKS``.
"""

from __future__ import annotations

from collections.abc import Sequence

from devfactory.teams.tool_checks.database import SqlApplyCheck
from devfactory.teams.tool_checks.devops import CiSchemaCheck, DockerfileLintCheck
from devfactory.teams.tool_checks.framework import (
    Finding,
    Tool,
    ToolCheck,
    ToolContext,
    ToolReport,
    ToolVerdict,
    run_tool_checks,
)
from devfactory.teams.tool_checks.openapi import OpenApiCheck

TOOL_CHECKS: dict[str, ToolCheck] = {
    check.name: check
    for check in (OpenApiCheck(), SqlApplyCheck(), DockerfileLintCheck(), CiSchemaCheck())
}
"""Every tool check a ``team.yaml`` may name, by name."""


def missing_tools(names: Sequence[str]) -> list[str]:
    """Return a sentence for each named check whose tool is not installed."""
    return [
        f"{name} needs {check.tool.distribution}, which is not installed (make setup: uv sync)"
        for name in names
        if (check := TOOL_CHECKS.get(name)) is not None and check.tool.version() is None
    ]


__all__ = [
    "TOOL_CHECKS",
    "Finding",
    "Tool",
    "ToolCheck",
    "ToolContext",
    "ToolReport",
    "ToolVerdict",
    "missing_tools",
    "run_tool_checks",
]
