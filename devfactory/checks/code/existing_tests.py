"""The existing tests check: a repository's old tests still pass on what the run changed."""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devfactory.checks.code.blame import blame, imported_planned
from devfactory.checks.code.framework import CheckContext, CheckOutcome, Need, Problem
from devfactory.contracts import CheckRun
from devfactory.runfiles import open_within, relative_parts, remove_tree

if TYPE_CHECKING:
    from devfactory.sandbox.environments import Environment
    from devfactory.sandbox.runner import Sandbox


@dataclass(frozen=True)
class ExistingTestsCheck:
    """The tests a repository had before the run still pass on what the run changed.

    A run that delivers into an existing repository lays its files over the
    base branch's; these are the test files that existed there
    (``repos/repomap.py``), run as they were, once on the base branch alone
    (the baseline) and once on the run's files. A test that passed on the base
    branch and fails now is a problem for the team whose file its traceback
    ends in (or that the test imports), else for the run: the final checks
    fail, so such a run cannot pass its gate. A test that already failed on
    the base branch (a dependency the sandbox lacks, say) is not the run's.
    """

    __test__ = False  # not a pytest class, though its name says so
    base: Mapping[str, str]  # the base branch's text files, by path
    tests: tuple[str, ...]  # the old test files among them
    name = "existing_tests"
    promise = "The tests a repository had before the run still pass on what the run changed."
    needs = frozenset({Need.WORKSPACE, Need.ENVIRONMENT})

    def originals(self) -> dict[str, str]:
        """Return each old test file's text on the base branch, by path."""
        return {path: self.base[path] for path in self.tests if path in self.base}

    def command(self) -> str:
        """Return the test command: pytest on each old test file."""
        paths = (shlex.quote(f"./{path}") for path in sorted(self.originals()))
        return " ".join(["python", "-m", "pytest", "-q", *paths])

    def run(self, context: CheckContext) -> CheckOutcome:
        """Run the old tests on the base branch, then on the run's files; compare.

        Each old test file is written back as it was on the base branch (a run
        that changed one is still held to the old one's assertions); this check
        runs last, so no other check sees them.
        """
        sandbox, workspace, env = context.running()
        if not self.originals():
            skipped = CheckRun(name=self.name, command="", summary="no existing tests to run")
            return CheckOutcome(runs=[skipped])
        try:
            for path, text in self.originals().items():
                write_text_in(workspace, path, text)
            passed_before = self.baseline(sandbox, env)
        except (OSError, ValueError) as exc:
            why = f"the old tests could not be laid out: {exc}"
            return CheckOutcome(
                runs=[CheckRun(name=self.name, command=self.command(), summary=why, ran=False)],
                problems=[Problem("", "", self.name, why)],
            )
        result, report = sandbox.run_tests(workspace, env, self.command())
        record = result.record(report)
        already = [c for c in report.cases if c.outcome in ("failed", "error")]
        broken = [c for c in already if c.nodeid in passed_before]
        if len(broken) < len(already):
            note = f"{len(already) - len(broken)} failed on the base branch too"
            record = record.model_copy(update={"summary": f"{record.summary}; {note}"})
        outcome = CheckOutcome(runs=[record.model_copy(update={"name": self.name})])
        for case in broken:
            path = blame(case.traceback, context.plan, workspace) or imported_planned(
                case.file, context.plan, workspace
            )
            text = f"an existing test broke: {case.name} {case.outcome}: {case.message}"
            text = f"{text}\n{case.traceback}"[:1500]
            outcome.problems.append(
                Problem(path or case.file, context.plan.owner_of(path), self.name, text)
            )
        if not report.cases and passed_before and result.exit_code not in (0, None):
            text = f"the existing tests no longer run (exit {result.exit_code}): "
            outcome.problems.append(Problem("", "", self.name, text + result.output[-800:]))
        return outcome

    def baseline(self, sandbox: Sandbox, env: Environment) -> set[str]:
        """Run the old tests on the base branch alone; return the ids of those that passed."""
        root = Path(tempfile.mkdtemp(prefix="devfactory-base-"))
        try:
            for path, text in self.base.items():
                write_text_in(root, path, text)
            _, report = sandbox.run_tests(root, env, self.command())
        finally:
            remove_tree(root)
        return {case.nodeid for case in report.cases if case.outcome == "passed"}


def write_text_in(root: Path, relative: str, text: str) -> None:
    """Write ``text`` at ``relative`` in ``root``, replacing what is there, following no link.

    Raises ``OSError`` (a link or a file where a folder belongs, a folder where
    the file belongs) or ``ValueError`` (a path that leaves ``root``).
    """
    parts = relative_parts(relative)
    fd = open_within(root, parts[:-1], make=True)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(parts[-1], dir_fd=fd)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(parts[-1], flags, 0o644, dir_fd=fd), "w", encoding="utf-8") as out:
            out.write(text)
    finally:
        os.close(fd)
