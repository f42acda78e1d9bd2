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
load (``catalogue.CHECKS.missing_tools``), never silently at run time.

A team's ``build_checks`` run once the software is built, in the run's final checks
(``graph/final_checks.py``), on files other teams wrote (the code): each finding goes to
the owner of its file, through the bounded fix rounds, or fails the run when no team
owns it (a declared dependency's licence).

A new tool check is one class (``tool_frame.ToolCheck``, or ``tool_frame.BuildCheck``;
each a ``checks.Check``) in a module of its own, listed in ``catalogue.CHECKS``. One that runs a
single driver and reads its JSON report is a ``tool_frame.DriverCheck``: its promise,
its driver and how it reads the findings (``read``); the run, a tool that did not
report and the record are the base's.
"""

from __future__ import annotations

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

__all__ = [
    "BuildCheck",
    "BuildVerdict",
    "Finding",
    "Tool",
    "ToolCheck",
    "ToolContext",
    "ToolReport",
    "ToolVerdict",
    "run_build_checks",
    "run_tool_checks",
]
