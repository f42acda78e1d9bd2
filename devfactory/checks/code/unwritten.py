"""The stubs check: no planned unit is left a stub (``raise NotImplementedError``, ``pass``).

A stub passes what only touches the interface (``--help``, a usage error, an
import), so the other checks can pass a module that does nothing. The planned
units are the plan's symbols of each module and, for the module whose skeleton
the tools wrote from the requirement (``software/kinds``), every definition it
left to be written: a command line's ``run``, a filter's ``transform``, a
route's handler. One still a stub (``source.unwritten``) is a problem of its
module, ``not written: <unit>``, so the stage does not pass and the run does
not complete with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from devfactory.checks.code.framework import CheckContext, CheckOutcome, Need, Problem
from devfactory.software.kinds import skeleton
from devfactory.software.plan import BuildPlan
from devfactory.software.requirement import RequirementFacts, read_requirement
from devfactory.software.source import stubbed_names, unwritten

NAME = "stubs"


def planned_units(
    symbols: Mapping[str, Sequence[str]],
    requirement: str,
    summary: str = "",
    facts: RequirementFacts | None = None,
) -> dict[str, tuple[list[str], str]]:
    """Return each module's planned units and its skeleton's source (empty: none), by path.

    ``symbols`` are the plan's names by module path; ``requirement`` adds what
    its skeleton (``summary``: the plan's, its docstring) left to be written.
    The skeleton is made from ``facts`` when the run kept them (the model's
    where the parser left gaps), else from what the parser reads.
    """
    units = {path: (list(names), "") for path, names in symbols.items()}
    if facts is None and requirement.strip():
        facts = read_requirement(requirement)
    made = skeleton(facts, summary) if facts is not None else None
    if made is not None:
        planned, _ = units.get(made.path, ([], ""))
        units[made.path] = ([*stubbed_names(made.source), *planned], made.source)
    return units


def stubs_left(
    files: Mapping[str, str],
    symbols: Mapping[str, Sequence[str]],
    requirement: str,
    summary: str = "",
    facts: RequirementFacts | None = None,
) -> list[tuple[str, str]]:
    """Return the planned units ``files`` still leave stubs, as (path, unit), in order.

    The stubs check asks it of a stage's files, the evaluation of a run's folder.
    """
    return [
        (path, name)
        for path, (names, made) in planned_units(symbols, requirement, summary, facts).items()
        if path in files
        for name in unwritten(files[path], names, skeleton=made)
    ]


def not_written(
    plan: BuildPlan,
    files: Mapping[str, str],
    *,
    teams: Sequence[str],
    requirement: str = "",
    facts: RequirementFacts | None = None,
) -> list[Problem]:
    """List the planned units of ``teams``' written modules that are still stubs."""
    symbols = {module.path: [s.name for s in module.symbols] for module in plan.modules}
    mine = {p: text for p, text in files.items() if plan.owner_of(p) in teams}
    return [
        Problem(path, plan.owner_of(path), NAME, f"not written: {name} (its body is still a stub)")
        for path, name in stubs_left(mine, symbols, requirement, plan.summary, facts)
    ]


class UnwrittenCheck:
    """Every planned function, class, command and route handler is written, none left a stub."""

    name = NAME
    promise = (
        "Every planned function, class, command and route handler is written, none left a stub."
    )
    needs: frozenset[Need] = frozenset()

    def run(self, context: CheckContext) -> CheckOutcome:
        """List the planned units still stubs in the written modules (nothing is run)."""
        found = not_written(
            context.plan,
            context.files,
            teams=context.teams,
            requirement=context.requirement,
            facts=context.facts,
        )
        return CheckOutcome(problems=found)
