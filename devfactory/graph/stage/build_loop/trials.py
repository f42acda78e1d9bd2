"""Trials of one module's versions in the sandbox: run against the examples, scored, linted.

The build loop (``graph/stage/build_loop/build.py``) draws versions of a module from the
model; what it keeps is decided here, by execution alone: each version is
written to a fresh folder with the requirement's own examples
(``software/examples.py``), the examples run in the sandbox and the ones about
the unit being written are counted, the gate's lint is applied, and a
``Trial`` holds the score. ``TrialRunner.behaviour`` calls a function of a
version on the arguments of the model's tests, so that tied versions can be
judged by what they do (``graph/stage/build_loop/agreement.py``). Nothing here calls a model.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devfactory.checks.code import LintCheck, finding_text
from devfactory.runfiles import remove_tree, write_file
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.examples import ExampleTests
from devfactory.software.plan import BuildPlan
from devfactory.software.skeleton import Unit, UnitKind

if TYPE_CHECKING:
    from devfactory.sandbox.environments import Environment
    from devfactory.sandbox.runner import Sandbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trial:
    """One version of the module, run against the examples of one unit."""

    source: str
    passed: int = 0  # the unit's examples that passed
    total: int = 0  # the unit's examples
    others: int = 0  # every other example that passed (a tie-breaker)
    failures: tuple[str, ...] = ()  # the unit's failing assertions, for a repair
    problem: str = ""  # why it could not be run at all
    lint: tuple[str, ...] = ()  # undefined names and the like: the gate's lint would refuse it

    @property
    def score(self) -> tuple[int, int, int, int]:
        """Order trials: runnable, the unit's examples, fewest lint findings, the other examples."""
        return (0 if self.problem else 1, self.passed, -len(self.lint), self.others)

    @property
    def perfect(self) -> bool:
        """Say whether it passes every example of its unit (and there are some), lint clean."""
        return not self.problem and self.total > 0 and self.passed == self.total and not self.lint


class TrialRunner:
    """Runs versions of one module against the example tests in the sandbox (or runs nothing)."""

    def __init__(
        self,
        sandbox: Sandbox | None,
        env: Environment | None,
        tests: ExampleTests | None,
        module: str,
    ) -> None:
        self.sandbox, self.env, self.tests, self.module = sandbox, env, tests, module

    @classmethod
    def open(
        cls, sandbox: Sandbox | None, plan: BuildPlan | None, tests: ExampleTests | None
    ) -> TrialRunner:
        """Return the runner of ``plan``'s first module, its environment built once.

        Without a sandbox or a plan nothing runs; a plan whose dependencies are
        not plain requirements runs nothing either (said in the log).
        """
        env = None
        if sandbox is not None and plan is not None:
            try:
                env = sandbox.environment(plan.dependencies)
            except ValueError as exc:
                log.warning("the build loop runs nothing: %s", exc)
                sandbox = None
        module = plan.python_modules()[0] if plan and plan.python_modules() else ""
        return cls(sandbox, env, tests, module)

    @property
    def runs(self) -> bool:
        """Say whether versions run here (a sandbox and an environment), else nothing is judged."""
        return self.sandbox is not None and self.env is not None

    def close(self) -> None:
        """Nothing is held between trials (each runs in a folder of its own)."""

    def judges(self, unit: Unit) -> bool:
        """Say whether any example checks ``unit`` (else only splicing and importing judge it)."""
        return bool(self.tests and self._names(unit))

    def _names(self, unit: Unit) -> list[str]:
        """Return the examples that judge ``unit``: its own, the command's too, or all (a module).

        A command is judged by the command line's examples (``--help``, a usage
        error) and by its own: a filter's transform by the outputs the
        requirement shows.
        """
        if self.tests is None:
            return []
        if unit.kind == UnitKind.MODULE:
            return list(self.tests.about)
        if unit.kind == UnitKind.COMMAND:
            return [*self.tests.of("cli"), *self.tests.of(unit.name)]
        return self.tests.of(unit.name)

    def behaviour(self, source: str, function: str, arguments: list[str]) -> tuple[str, ...]:
        """Return what ``function`` gives on each argument tuple (empty: it could not run)."""
        if self.sandbox is None or self.env is None:
            return ()
        root = Path(tempfile.mkdtemp(prefix="devfactory-probe-"))
        try:
            write_file(root, f"{self.module}.py", source)
            found = self.sandbox.call(root, self.env, self.module, function, arguments)
        finally:
            remove_tree(root)
        return tuple(found)

    def trial(self, source: str, unit: Unit) -> Trial:
        """Run ``source`` against the examples; score it for ``unit``."""
        if self.sandbox is None or self.env is None:
            return Trial(source)
        root = Path(tempfile.mkdtemp(prefix="devfactory-build-"))
        try:
            write_file(root, f"{self.module}.py", source)
            if self.tests is None:
                done = self.sandbox.compile_and_import(root, self.env, [self.module])
                problem = "" if done.exit_code == 0 else f"it does not import: {done.output[-300:]}"
                return Trial(source, problem=problem, lint=self.lint(source))
            write_file(root, EXAMPLES_PATH, self.tests.source)
            result, report = self.sandbox.run_tests(
                root, self.env, f"python -m pytest -q -p no:cacheprovider {EXAMPLES_PATH}"
            )
        finally:
            remove_tree(root)
        lint = self.lint(source)
        if not report.cases:
            why = f"the examples did not run: {result.output[-300:]}"
            return Trial(source, problem=why, lint=lint)
        mine = set(self._names(unit))
        passed = total = others = 0
        failures: list[str] = []
        for case in report.cases:
            if case.name in mine:
                total += 1
                if case.outcome == "passed":
                    passed += 1
                else:
                    quote = (case.message or case.traceback)[-400:]
                    failures.append(f"{case.name}: {quote}")
            elif case.outcome == "passed":
                others += 1
        failures += [f"{self.module}.py {finding}" for finding in lint]  # a repair sees them too
        return Trial(source, passed, total, others, tuple(failures), lint=lint)

    def lint(self, source: str) -> tuple[str, ...]:
        """Return the gate's lint findings on ``source`` (nothing runs it; none without ruff)."""
        try:
            found = LintCheck(timeout=30).findings_in(f"{self.module}.py", source)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("lint of a candidate failed: %s", exc)
            return ()
        return tuple(finding_text(item) for item in found)
