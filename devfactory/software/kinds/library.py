"""A library: a module of public functions (and the types they name) that callers import.

Asked for when the requirement gives typed signatures and no command line or
routes. Its skeleton is the functions' stubs; its examples are the functions'
(every kind's); nothing smoke-runs it. It is also what a plan of a kind no
module here builds is told and checked as (``FALLBACK`` in the registry).
"""

from __future__ import annotations

from devfactory.sandbox.commands import Smoke
from devfactory.software.examples import ExampleSet
from devfactory.software.kinds.shape import Comparison, PlanPart, StartPart
from devfactory.software.plan import BuildPlan, Named, SoftwareKind
from devfactory.software.requirement import RequirementFacts
from devfactory.software.skeleton import Skeleton, header, stubs, tidy


class Library:
    """The library kind (``SoftwareShape``)."""

    name = "library"
    plan_kinds: tuple[SoftwareKind, ...] = (SoftwareKind.LIBRARY,)
    whole = "whole_library"
    serves = False
    contained = False
    user = "caller[calling code]"
    flow = (
        "The caller imports the module and calls its functions with plain "
        "values; each returns its result or raises the error the requirement names."
    )

    def read(self, facts: RequirementFacts) -> RequirementFacts | None:
        """Take a requirement that gives its functions' signatures."""
        return facts if facts.functions else None

    def planned(self, facts: RequirementFacts) -> PlanPart | None:
        """Plan one module of the public functions; it has no entry point."""
        return PlanPart(SoftwareKind.LIBRARY, f"{facts.module}.py", "the public functions")

    def starting(self, named: Named, package: str) -> StartPart | None:
        """Start any named package as a library: its public functions, no entry point."""
        return StartPart(SoftwareKind.LIBRARY, "the public functions")

    def skeleton(self, facts: RequirementFacts, summary: str) -> Skeleton:
        """Return the module's docstring and the stubs of its types and functions."""
        lines, units = stubs(facts)
        return Skeleton(f"{facts.module}.py", tidy(header(facts, summary) + lines), tuple(units))

    def examples(self, facts: RequirementFacts) -> ExampleSet:
        """Add nothing to the functions' examples."""
        return ExampleSet()

    def compared(self, facts: RequirementFacts, unit: str) -> Comparison | None:
        """Compare no unit on samples: a function's inputs come from its annotations."""
        return None

    def smoke(self, plan: BuildPlan) -> Smoke | None:
        """Smoke-run nothing: a library has no entry point to start."""
        return None

    def packages(self, plan: BuildPlan) -> tuple[str, ...]:
        """Need nothing beyond the plan's dependencies."""
        return ()


LIBRARY = Library()
