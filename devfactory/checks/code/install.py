"""The install check: the plan's dependencies install in the sandbox, for the checks after it."""

from __future__ import annotations

from devfactory.checks.code.framework import CheckContext, CheckOutcome, Need, Problem, needed
from devfactory.checks.code.plan_commands import environment_for
from devfactory.software.plan import PLAN_PATH


class InstallCheck:
    """The plan's dependencies install in the sandbox; the checks after it run with them."""

    name = "install"
    promise = "The plan's dependencies install in the sandbox; the checks after it run with them."
    needs = frozenset({Need.SANDBOX})

    def run(self, context: CheckContext) -> CheckOutcome:
        """Build (or reuse) the environment; a failed install is the plan's problem."""
        env = needed(context.sandbox, Need.SANDBOX).environment(environment_for(context.plan))
        outcome = CheckOutcome(runs=[env.install.record()], environment=env)
        if not env.ok:
            tail = env.install.output[-800:]
            why = f"dependencies {context.plan.dependencies} did not install: {tail}"
            outcome.problems.append(Problem(PLAN_PATH, "", self.name, why))
        return outcome
