"""The smoke check: the entry point starts, as its kind runs it (``software/kinds/``)."""

from __future__ import annotations

from collections.abc import Mapping

from devfactory.checks.code.framework import (
    CheckContext,
    CheckOutcome,
    Need,
    Problem,
    needed,
    path_of,
)
from devfactory.checks.code.plan_commands import smoke_for
from devfactory.software.plan import BuildPlan, FileRole


class SmokeCheck:
    """The entry point starts: ``--help`` for a CLI, one GET for a web service."""

    name = "smoke"
    promise = "The entry point starts: `--help` for a CLI, one GET for a web service."
    needs = frozenset({Need.WORKSPACE, Need.ENVIRONMENT, Need.ENTRY_POINT})

    def run(self, context: CheckContext) -> CheckOutcome:
        """Smoke-run the entry point; a failure goes to the entry point's file."""
        sandbox, workspace, env = context.running()
        smoke = needed(smoke_for(context.plan), Need.ENTRY_POINT)
        result = sandbox.smoke(workspace, env, smoke)
        outcome = CheckOutcome(runs=[result.record()])
        if result.exit_code != 0:
            target = _entry_file(context.plan, context.files)
            owner = context.plan.owner_of(target)
            outcome.problems.append(Problem(target, owner, self.name, result.output[-800:]))
        return outcome


def _entry_file(plan: BuildPlan, files: Mapping[str, str]) -> str:
    entry = plan.entry_point.split()[-1].split(":")[0]
    path = path_of(entry, files) or path_of(entry + ".__main__", files)
    if path:
        return path
    return next((f.path for f in plan.files if f.role is FileRole.CODE), "")
