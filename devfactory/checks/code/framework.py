"""The frame every code check fits: a ``CodeCheck``, what it reads and finds, and the runner.

A check has a ``name`` and a ``promise`` (every check's, ``checks.Check``), the
things it ``needs`` (a workspace, a sandbox, the installed environment, code,
tests files, an entry point) and ``run(context) -> CheckOutcome``.
``run_checks`` runs a list of them in order, each whose needs are met, passing
on the environment the install check made, and gathers a ``Verification``: the
commands run, the problems (each about one file, and so one owning team), the
test report, the acceptance criteria and a score. A new check is one class with
those four members, listed in ``catalogue.CHECKS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from devfactory.checks import Check
from devfactory.checks.code.plan_commands import smoke_for
from devfactory.contracts import CheckRun
from devfactory.software.plan import BuildPlan, FileRole, module_name
from devfactory.software.requirement import RequirementFacts

if TYPE_CHECKING:
    from devfactory.sandbox.environments import Environment
    from devfactory.sandbox.junit import TestReport
    from devfactory.sandbox.runner import Sandbox

PARSED_BYTES = 4 << 20  # a file of the workspace larger than this is not read to be parsed
LISTED_ENTRIES = 100_000  # entries of a workspace looked at when its files are not given
_T = TypeVar("_T")


@dataclass(frozen=True)
class Problem:
    """One objective problem, about one file (and so one owning team)."""

    path: str
    owner: str
    check: str
    text: str

    def line(self) -> str:
        """Render the problem as gate feedback."""
        return f"{self.path} [{self.check}]: {self.text}" if self.path else self.text


class Need(StrEnum):
    """What a check needs; ``run_checks`` leaves out a check whose needs are not met."""

    WORKSPACE = "workspace"  # the files laid out in a folder
    SANDBOX = "sandbox"  # somewhere to run generated code
    ENVIRONMENT = "environment"  # the plan's dependencies installed (by the install check)
    CODE = "code"  # a planned code module written (a ``__main__`` is not imported)
    TESTS = "tests"  # a planned tests file written
    ENTRY_POINT = "entry point"  # an entry point a smoke run knows how to start


def needed(value: _T | None, need: Need) -> _T:
    """Return ``value``, which a check's ``needs`` promised (``run_checks`` checked them)."""
    if value is None:
        raise RuntimeError(f"a check ran without its need: {need.value}")
    return value


def path_of(module: str, files: Mapping[str, str]) -> str:
    """Return the written file of a dotted module name (empty when none of ``files`` is it)."""
    for path in files:
        if path.endswith(".py") and module_name(path) == module:
            return path
    return ""


@dataclass
class CheckContext:
    """What the checks look at: the plan, the files, and where code runs.

    Attributes:
        plan: the run's build plan.
        files: the files written so far, by path.
        teams: the teams whose planned files must be present by now.
        workspace: a folder holding ``files``.
        sandbox: where generated code runs.
        criteria: the acceptance criteria ids to report on from the tests.
        environment: the installed environment, once the install check made it.
        requirement: the run's requirement, whose skeleton names the units the
            build loop writes (empty: only the plan's symbols are known).
        facts: what the run read of it, once (the model's facts where the parser
            left gaps); None: the checks read ``requirement`` with the parser.
        settled: the tests files their tests' team has kept (``blame.settled_tests``):
            a failure on one's assertion is the code's to fix.

    """

    plan: BuildPlan
    files: Mapping[str, str]
    teams: Sequence[str]
    workspace: Path | None = None
    sandbox: Sandbox | None = None
    criteria: Sequence[str] = ()
    environment: Environment | None = None
    requirement: str = ""
    facts: RequirementFacts | None = None
    settled: frozenset[str] = frozenset()

    def code_modules(self) -> list[str]:
        """Return the planned code modules written so far (a ``__main__`` runs when imported)."""
        return [
            name
            for f in self.plan.files
            if f.role is FileRole.CODE and f.path in self.files and f.path.endswith(".py")
            if (name := module_name(f.path)) and not name.endswith("__main__")
        ]

    def has(self, need: Need) -> bool:
        """Say whether ``need`` is met."""
        match need:
            case Need.WORKSPACE:
                return self.workspace is not None
            case Need.SANDBOX:
                return self.sandbox is not None
            case Need.ENVIRONMENT:
                return self.environment is not None and self.environment.ok
            case Need.CODE:
                return bool(self.code_modules())
            case Need.TESTS:
                return any(
                    f.role is FileRole.TESTS and f.path in self.files for f in self.plan.files
                )
            case Need.ENTRY_POINT:
                return smoke_for(self.plan) is not None

    def running(self) -> tuple[Sandbox, Path, Environment]:
        """Return the sandbox, the workspace and the environment that code runs with."""
        return (
            needed(self.sandbox, Need.SANDBOX),
            needed(self.workspace, Need.WORKSPACE),
            needed(self.environment, Need.ENVIRONMENT),
        )


@dataclass
class CheckOutcome:
    """What one check found: its records, its problems, and what later checks may use.

    Attributes:
        runs: the commands it ran, as the stage record keeps them (none for a
            check that runs nothing, such as plan coverage).
        problems: what it found, each about one file.
        tests: the test report, from the check that ran the tests.
        criteria: each acceptance criterion's status, from the tests.
        environment: the environment it installed, for the checks after it.

    """

    runs: list[CheckRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    tests: TestReport | None = None
    criteria: dict[str, str] = field(default_factory=dict)
    environment: Environment | None = None


class CodeCheck(Check, Protocol):
    """One objective check of the software: its name and promise, what it needs, how it runs.

    Its ``name`` is its records' and its problems' ``check``.
    """

    @property
    def needs(self) -> frozenset[Need]:
        """What must be there for it to run; without it, it is left out."""
        ...

    def run(self, context: CheckContext) -> CheckOutcome:
        """Check ``context`` and say what was found."""
        ...


@dataclass
class Verification:
    """What the code checks found in a workspace."""

    checks: list[CheckRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    tests: TestReport | None = None
    criteria: dict[str, str] = field(default_factory=dict)  # "AC-1" -> passed|failed|not covered

    def add(self, outcome: CheckOutcome) -> None:
        """Take in one check's outcome."""
        self.checks.extend(outcome.runs)
        self.problems.extend(outcome.problems)
        self.tests = outcome.tests if outcome.tests is not None else self.tests
        self.criteria.update(outcome.criteria)

    def of(self, team: str) -> list[Problem]:
        """Return the problems about ``team``'s files."""
        return [p for p in self.problems if p.owner == team]

    @property
    def score(self) -> float:
        """A 0..1 score: the share of checks that passed, times the share of tests passed."""
        if not self.checks:
            return 0.0
        share = sum(1 for c in self.checks if c.ok) / len(self.checks)
        if self.tests is not None:
            total = self.tests.passed + self.tests.failed + self.tests.errors
            share *= self.tests.passed / total if total else 0.0
        return round(share, 3)


def run_checks(context: CheckContext, checks: Sequence[CodeCheck]) -> Verification:
    """Run ``checks`` in order, each whose needs are met, and gather what they found.

    The environment a check installs is handed to the checks after it.
    """
    found = Verification()
    for check in checks:
        if all(context.has(need) for need in check.needs):
            outcome = check.run(context)
            context.environment = outcome.environment or context.environment
            found.add(outcome)
    return found
