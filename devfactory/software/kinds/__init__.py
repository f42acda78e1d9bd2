"""The kinds of software the build loop builds, one module each, and the registry that picks one.

Each kind meets one protocol, ``SoftwareShape`` (``shape.py``): it reads the
requirement's facts, adds its part to a plan made by tools, writes its
skeleton and its example tests, says how the code checks smoke-run it and
what the architecture overview says of it. ``SHAPES`` lists them, the most
particular first: the first whose ``read`` takes the facts is the kind. The
rest of the factory asks this registry, never a kind by name.

Adding a kind is a module here and its line in ``SHAPES`` (docs/architecture.md,
"Adding a kind of software").
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Final

from devfactory.software.examples import (
    Example,
    ExampleSet,
    ExampleTests,
    function_examples,
    render,
)
from devfactory.software.kinds.command_line import COMMAND_LINE
from devfactory.software.kinds.library import LIBRARY
from devfactory.software.kinds.script import SCRIPT
from devfactory.software.kinds.shape import Comparison, PlanPart, SoftwareShape, StartPart
from devfactory.software.kinds.text_filter import TEXT_FILTER
from devfactory.software.kinds.web_service import WEB_SERVICE
from devfactory.software.plan import BuildPlan, Named, SoftwareKind
from devfactory.software.requirement import RequirementFacts
from devfactory.software.skeleton import Skeleton, Unit, UnitKind

SHAPES: Final[tuple[SoftwareShape, ...]] = (
    WEB_SERVICE,
    SCRIPT,
    TEXT_FILTER,
    COMMAND_LINE,
    LIBRARY,
)
FALLBACK: Final[SoftwareShape] = LIBRARY
"""What a plan whose kind no shape answers for is checked and told as (and how a module
written whole is said to run when the requirement settles no kind)."""

__all__ = [
    "Comparison",
    "FALLBACK",
    "SHAPES",
    "PlanPart",
    "Reading",
    "SoftwareShape",
    "StartPart",
    "behaviour_tested",
    "comparison",
    "examples",
    "examples_file",
    "reading",
    "shape_for",
    "shape_of",
    "shape_of_kind",
    "skeleton",
    "starting",
]


@dataclass(frozen=True)
class Reading:
    """The kind a requirement asks for, and the facts as that kind builds from them."""

    shape: SoftwareShape
    facts: RequirementFacts


def reading(facts: RequirementFacts) -> Reading | None:
    """Return the first kind whose ``read`` takes ``facts`` (None: the words settle no kind)."""
    for shape in SHAPES:
        read = shape.read(facts)
        if read is not None:
            return Reading(shape, read)
    return None


def shape_of(facts: RequirementFacts) -> SoftwareShape | None:
    """Return the kind of software the requirement's facts ask for, if they settle one."""
    found = reading(facts)
    return found.shape if found is not None else None


def shape_for(plan: BuildPlan) -> SoftwareShape:
    """Return the kind that answers for a plan's checks and overview (``FALLBACK`` if none)."""
    return shape_of_kind(plan.kind)


def shape_of_kind(kind: SoftwareKind) -> SoftwareShape:
    """Return the kind that answers for a plan of ``kind`` (``FALLBACK`` if none)."""
    return next((s for s in SHAPES if kind in s.plan_kinds), FALLBACK)


def starting(named: Named, package: str) -> StartPart | None:
    """Return the first kind's part of a starting plan of ``package`` from the names given."""
    parts = (shape.starting(named, package) for shape in SHAPES)
    return next((part for part in parts if part is not None), None)


def comparison(facts: RequirementFacts, unit: str) -> Comparison | None:
    """Return how the kind compares the outcomes of calls of its unit ``unit``, if it calls it."""
    found = reading(facts)
    return found.shape.compared(found.facts, unit) if found is not None else None


def behaviour_tested(facts: RequirementFacts, unit: Unit) -> bool:
    """Say whether the model writes tests of ``unit``: it has sentences and is called on literals.

    A planned function is; so is a unit its kind compares by calling it (a
    filter's transform). Classes, commands, routes and whole modules are not.
    """
    if not unit.sentences:
        return False
    if unit.kind == UnitKind.FUNCTION and any(f.name == unit.name for f in facts.functions):
        return True
    return comparison(facts, unit.name) is not None


def skeleton(facts: RequirementFacts, summary: str = "") -> Skeleton | None:
    """Return the skeleton of the requirement's one module, or None when facts cannot make one.

    The source always parses; every stub raises ``NotImplementedError`` until a
    unit's body replaces it.
    """
    found = reading(facts)
    if found is None or not found.facts.module:
        return None
    made = found.shape.skeleton(found.facts, summary)
    ast.parse(made.source)  # a skeleton that does not parse is a bug here, not the model's
    return made


def _own(facts: RequirementFacts) -> tuple[RequirementFacts, ExampleSet]:
    found = reading(facts)
    if found is None:
        return facts, ExampleSet()
    return found.facts, found.shape.examples(found.facts)


def examples(facts: RequirementFacts) -> list[Example]:
    """Return the tests the requirement's own statements settle, in order."""
    read, own = _own(facts)
    return [*function_examples(read), *own.tests]


def examples_file(facts: RequirementFacts) -> ExampleTests | None:
    """Render the example tests as a pytest module (None when the requirement gives none).

    None too where the kind names no module: the tests import what they test
    from it (a service's routes read from prose may come without one).
    """
    read, own = _own(facts)
    if not read.module:
        return None
    return render(read, own)
