"""SoftwareShape: what one kind of software knows, from the requirement to the smoke run.

A kind of software (a library, a command line, a filter, a web service) is
one module of this package with one object that meets this protocol; the
registry (``software/kinds/__init__.py``) picks the first whose ``read`` takes
the requirement's facts. Everything a kind changes is asked of it here (each
member's docstring or comment says what), so adding one is a module and a line
in the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from devfactory.sandbox.commands import Smoke
from devfactory.software.examples import ExampleSet
from devfactory.software.plan import BuildPlan, Named, SoftwareKind
from devfactory.software.requirement import RequirementFacts
from devfactory.software.skeleton import Skeleton


@dataclass(frozen=True)
class PlanPart:
    """What a kind adds to a plan made by tools: its code file and how the software runs."""

    kind: SoftwareKind
    path: str  # the one code file, written from the kind's skeleton
    purpose: str  # what the code file holds, as the plan says it
    entry_point: str = ""
    symbols: tuple[tuple[str, str], ...] = ()  # (name, signature) beside the functions


@dataclass(frozen=True)
class StartPart:
    """What a kind adds to a starting plan: the package's ``__init__.py`` is every kind's."""

    kind: SoftwareKind
    purpose: str  # what the package's ``__init__.py`` holds, as the plan says it
    files: tuple[tuple[str, str], ...] = ()  # (path, purpose) of its code files beside it
    symbols: tuple[tuple[str, str], ...] = ()  # (name, signature) beside the functions
    dependencies: tuple[str, ...] = ()
    entry_point: str = ""


@dataclass(frozen=True)
class Comparison:
    """How a unit of a kind that is no planned function is called and its outcomes compared.

    The build loop calls such a unit (a filter's transform) on the arguments of
    the tests the model writes of it, and compares each outcome with the
    expected one as the program writes it out (a filter adds a final newline).
    """

    written: Callable[[str], str]  # an outcome (a literal, or a raise) as the program writes it


class SoftwareShape(Protocol):
    """One kind of software the build loop builds (see the module's docstring)."""

    name: str  # what the kind is called in notes and docs ("command line")
    # the values of ``BuildPlan.kind`` whose checks and overview it answers for, when only a
    # plan is known (a plan a model wrote)
    plan_kinds: tuple[SoftwareKind, ...]
    user: str  # the overview diagram's first node: who uses it ("user[user at a terminal]")
    flow: str  # the overview's data flow; ``{entry}`` is the plan's entry point
    whole: str  # how its module written whole is run: graph/prompts/<whole>.md
    serves: bool  # a network service: an OpenAPI document and a runbook, served by uvicorn
    contained: bool  # a program run in a container image (a library is imported, not run)

    def read(self, facts: RequirementFacts) -> RequirementFacts | None:
        """Return the facts as this kind builds from them, or None when it is not this kind."""
        ...

    def planned(self, facts: RequirementFacts) -> PlanPart | None:
        """Return what it adds to a plan by tools (None: tools cannot plan it)."""
        ...

    def starting(self, named: Named, package: str) -> StartPart | None:
        """Return what it adds to a starting plan of ``package`` (None: the names show another).

        The starting plan is shown to the model when the names the requirement gives
        (routes, ``python -m`` lines) show this kind.
        """
        ...

    def skeleton(self, facts: RequirementFacts, summary: str) -> Skeleton:
        """Return its module's skeleton (``summary`` is the module's docstring)."""
        ...

    def examples(self, facts: RequirementFacts) -> ExampleSet:
        """Return its own example tests (the functions' are every kind's)."""
        ...

    def compared(self, facts: RequirementFacts, unit: str) -> Comparison | None:
        """Return how its unit ``unit``'s outcomes are compared when called (None: not called)."""
        ...

    def smoke(self, plan: BuildPlan) -> Smoke | None:
        """Return how to smoke-run a plan of it with an entry point (None: nothing runs)."""
        ...

    def packages(self, plan: BuildPlan) -> tuple[str, ...]:
        """Return the packages the checks need beyond the plan's dependencies."""
        ...
