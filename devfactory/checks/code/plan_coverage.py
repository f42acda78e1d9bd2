"""The plan coverage check: every planned file is there and defines its planned names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from devfactory.checks.code.framework import CheckContext, CheckOutcome, Need, Problem
from devfactory.software.plan import BuildPlan
from devfactory.software.source import defined_names


def coverage(plan: BuildPlan, files: Mapping[str, str], *, teams: Sequence[str]) -> list[Problem]:
    """List planned files of ``teams`` that are missing and planned symbols not defined."""
    problems = []
    for item in plan.files:
        if item.owner in teams and item.path not in files:
            problems.append(Problem(item.path, item.owner, "plan", "planned file is missing"))
    for module in plan.modules:
        owner = plan.owner_of(module.path)
        if owner not in teams or module.path not in files:
            continue
        defined = defined_names(files[module.path])
        for symbol in module.symbols:
            if symbol.name not in defined:
                problems.append(
                    Problem(
                        module.path,
                        owner,
                        "plan",
                        f"does not define `{symbol.name}` (planned: {symbol.signature})",
                    )
                )
    return problems


class PlanCoverageCheck:
    """Every planned file of the teams done by now is there and defines its planned names."""

    name = "plan"
    promise = "Every planned file of the teams done by now is there and defines its planned names."
    needs: frozenset[Need] = frozenset()

    def run(self, context: CheckContext) -> CheckOutcome:
        """List missing planned files and planned symbols not defined (nothing is run)."""
        return CheckOutcome(problems=coverage(context.plan, context.files, teams=context.teams))
