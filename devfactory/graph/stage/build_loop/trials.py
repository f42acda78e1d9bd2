"""Trials of one module's versions in the sandbox: run against the examples, scored, linted.

The build loop (``graph/stage/build_loop/build.py``) draws versions of a module from the
model; what it keeps is decided here, by execution alone: each version is
written to a fresh folder with the requirement's own examples
(``software/examples.py``), the examples run in the sandbox and the ones about
the unit being written are counted, the gate's lint is applied, and a
``Trial`` holds the score. ``TrialRunner.behaviour`` calls a function of a
version on the arguments of the model's tests, so that tied versions can be
judged by what they do (``graph/stage/build_loop/agreement.py``). Nothing here calls a model.

In a fix round where kept tests go to the code (``kept_tests_to_code``), the tests a
tests' team kept (``checks/code/blame.settled_tests``) run beside the examples: a test is
about the units it calls by name (a test calling none of them, as a command line's
run in a subprocess, is the command's), and it judges only when it passes on the
version the round starts from or fails there on its assertion (``keep_judging``); one
that breaks before its assertion says nothing of the code and is left out.
"""

from __future__ import annotations

import ast
import logging
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from devfactory.checks.code import LintCheck, finding_text
from devfactory.checks.code.blame import asserted
from devfactory.runfiles import remove_tree, write_file
from devfactory.sandbox.junit import TestReport
from devfactory.software.disagreeing_tests import tests_in
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.examples import ExampleTests
from devfactory.software.plan import BuildPlan
from devfactory.software.skeleton import Unit, UnitKind
from devfactory.software.source import syntax_tree

if TYPE_CHECKING:
    from devfactory.sandbox.environments import Environment
    from devfactory.sandbox.junit import TestCase
    from devfactory.sandbox.runner import Sandbox

log = logging.getLogger(__name__)


@dataclass
class KeptTests:
    """The tests files a tests' team kept, and the names each of their tests calls."""

    files: dict[str, str] = field(default_factory=dict)  # path -> source
    calls: dict[str, frozenset[str]] = field(default_factory=dict)  # "path::test" -> names
    judging: set[str] = field(default_factory=set)  # the tests that judge (``keep_judging``)

    @classmethod
    def of(cls, files: Mapping[str, str]) -> KeptTests:
        """Read the test functions of ``files`` (a file that does not parse is left out)."""
        kept = cls()
        for path, source in files.items():
            tree = syntax_tree(source)
            if tree is None:
                continue
            kept.files[path] = source
            for test in tests_in(tree):
                called = {
                    n.func.id if isinstance(n.func, ast.Name) else n.func.attr
                    for n in ast.walk(test)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name | ast.Attribute)
                }
                kept.calls[f"{path}::{test.name}"] = frozenset(called)
        return kept

    def key(self, case: TestCase) -> str:
        """Return the name a trial knows a test by: a kept test's with its file, else its own."""
        if case.file in self.files:
            return f"{case.file}::{case.name.split('[', 1)[0]}"
        return case.name

    def about(self, unit: Unit, names: frozenset[str]) -> list[str]:
        """Return the judging tests about ``unit``; ``names`` are every unit's of the module."""
        if unit.kind == UnitKind.MODULE:
            return sorted(self.judging)
        mine = []
        for key in sorted(self.judging):
            called = self.calls[key] & names
            if unit.name in called or (unit.kind == UnitKind.COMMAND and not called):
                mine.append(key)
        return mine


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
    kept: int = 0  # the unit's kept tests that passed (a fix round's: ``KeptTests``)
    kept_total: int = 0  # the unit's kept tests

    @property
    def score(self) -> tuple[int, int, int, int, int]:
        """Order trials: runnable, the unit's examples, fewest lint, its kept tests, the rest.

        The requirement's own examples come before any test a team wrote.
        """
        return (0 if self.problem else 1, self.passed, -len(self.lint), self.kept, self.others)

    @property
    def perfect(self) -> bool:
        """Say whether it passes every example and kept test of its unit (some), lint clean."""
        every = self.passed == self.total and self.kept == self.kept_total
        return not self.problem and self.total + self.kept_total > 0 and every and not self.lint


class TrialRunner:
    """Runs versions of one module against the example tests in the sandbox (or runs nothing)."""

    def __init__(
        self,
        sandbox: Sandbox | None,
        env: Environment | None,
        tests: ExampleTests | None,
        module: str,
        kept: KeptTests | None = None,
    ) -> None:
        self.sandbox, self.env, self.tests, self.module = sandbox, env, tests, module
        self.kept = kept or KeptTests()
        self.units: frozenset[str] = frozenset()  # every unit's name (``keep_judging``)

    @classmethod
    def open(
        cls,
        sandbox: Sandbox | None,
        plan: BuildPlan | None,
        tests: ExampleTests | None,
        kept: Mapping[str, str] | None = None,
    ) -> TrialRunner:
        """Return the runner of ``plan``'s first module, its environment built once.

        Without a sandbox or a plan nothing runs; a plan whose dependencies are
        not plain requirements runs nothing either (said in the log). ``kept``
        are the tests files a tests' team kept (a fix round's; path -> source).
        """
        env = None
        if sandbox is not None and plan is not None:
            try:
                env = sandbox.environment(plan.dependencies)
            except ValueError as exc:
                log.warning("the build loop runs nothing: %s", exc)
                sandbox = None
        module = plan.python_modules()[0] if plan and plan.python_modules() else ""
        return cls(sandbox, env, tests, module, KeptTests.of(kept or {}))

    def keep_judging(self, source: str, units: Sequence[Unit]) -> list[str]:
        """Run the kept tests on ``source``; keep those that pass or fail on their assertion.

        Returns the kept tests that fail there: what the round is to fix.
        """
        self.units = frozenset(u.name for u in units if u.kind != UnitKind.MODULE)
        if not self.kept.files or not self.runs:
            return []
        _, report = self._run(source, kept=True)
        failing: list[str] = []
        for case in report.cases:
            key = self.kept.key(case)
            if key not in self.kept.calls:
                continue
            if case.outcome == "passed":
                self.kept.judging.add(key)
            elif asserted(case):
                self.kept.judging.add(key)
                failing.append(key)
        return sorted(set(failing))

    @property
    def runs(self) -> bool:
        """Say whether versions run here (a sandbox and an environment), else nothing is judged."""
        return self.sandbox is not None and self.env is not None

    def close(self) -> None:
        """Nothing is held between trials (each runs in a folder of its own)."""

    def judges(self, unit: Unit) -> bool:
        """Say whether an example or a kept test checks ``unit`` (else only splicing, importing)."""
        return bool(self._names(unit) or self.kept.about(unit, self.units))

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
        if self.tests is None and not self.kept.judging:
            root = Path(tempfile.mkdtemp(prefix="devfactory-build-"))
            try:
                write_file(root, f"{self.module}.py", source)
                done = self.sandbox.compile_and_import(root, self.env, [self.module])
            finally:
                remove_tree(root)
            problem = "" if done.exit_code == 0 else f"it does not import: {done.output[-300:]}"
            return Trial(source, problem=problem, lint=self.lint(source))
        output, ran = self._run(source, kept=bool(self.kept.judging))
        lint = self.lint(source)
        if not ran.cases:
            why = f"the examples did not run: {output[-300:]}"
            return Trial(source, problem=why, lint=lint)
        mine, kept = set(self._names(unit)), set(self.kept.about(unit, self.units))
        passed = total = others = kept_passed = kept_total = 0
        failures: list[str] = []
        for case in ran.cases:
            key = self.kept.key(case)
            if key in kept:
                kept_total += 1
                kept_passed += case.outcome == "passed"
            elif key in mine:
                total += 1
                passed += case.outcome == "passed"
            elif case.outcome == "passed":
                others += 1
            if (key in kept or key in mine) and case.outcome != "passed":
                # a kept test's traceback shows its call and what it expects
                said = case.traceback if key in kept else ""
                quote = (said or case.message or case.traceback)[-400:]
                failures.append(f"{case.name}: {quote}")
        failures += [f"{self.module}.py {finding}" for finding in lint]  # a repair sees them too
        return Trial(
            source, passed, total, others, tuple(failures), lint=lint, kept=kept_passed,
            kept_total=kept_total,
        )  # fmt: skip

    def _run(self, source: str, *, kept: bool) -> tuple[str, TestReport]:
        """Run the examples, and the kept tests when ``kept``, on ``source`` in a fresh folder.

        Returns the run's output and its report (no cases: nothing ran).
        """
        paths = [EXAMPLES_PATH] if self.tests is not None else []
        paths += sorted(self.kept.files) if kept else []
        if self.sandbox is None or self.env is None or not paths:
            return "", TestReport()
        root = Path(tempfile.mkdtemp(prefix="devfactory-build-"))
        try:
            write_file(root, f"{self.module}.py", source)
            if self.tests is not None:
                write_file(root, EXAMPLES_PATH, self.tests.source)
            for path, content in self.kept.files.items() if kept else ():
                write_file(root, path, content)
            command = "python -m pytest -q -p no:cacheprovider " + " ".join(paths)
            result, report = self.sandbox.run_tests(root, self.env, command)
        finally:
            remove_tree(root)
        return result.output, report

    def lint(self, source: str) -> tuple[str, ...]:
        """Return the gate's lint findings on ``source`` (nothing runs it; none without ruff)."""
        try:
            found = LintCheck(timeout=30).findings_in(f"{self.module}.py", source)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("lint of a candidate failed: %s", exc)
            return ()
        return tuple(finding_text(item) for item in found)
