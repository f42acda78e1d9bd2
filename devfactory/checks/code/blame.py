"""Whose a failing test is: the file its traceback ends in, the code it imports, or its author.

A problem goes back to the team that owns its file, so a failing test must be
laid at one file's door: the requirement's own examples are trusted, a model's
test that fails on code passing them goes back to its author, and a
repository's own test that fails on its assertion blames the planned module it imports.

A tests' team's test is first its author's to check against the requirement.
Where the run hands kept tests to the code (the ``kept_tests_to_code``
setting, off by default: docs/quality.md), once the team has had its attempts
and kept it (``settled``: its last attempt, and every later check of the run),
a failure on the test's own assertion is the code's: the code returned what
the test says is wrong, and the code's team is asked to fix it, shown the test.
A test that fails before its assertion (it calls the code wrongly, misuses a
fixture) stays its author's. Otherwise a right test the code fails ends its
team's stage BLOCKED, and the code's team never sees it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from devfactory.checks.code.framework import PARSED_BYTES
from devfactory.runfiles import read_file
from devfactory.software.disagreeing_tests import examples_vouch
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.plan import BuildPlan, FileRole, module_name

if TYPE_CHECKING:
    from devfactory.sandbox.junit import TestCase

_FRAME = re.compile(r'File "([^"]+)", line (\d+)|^([\w./-]+\.py):(\d+):', re.M)


def arbitrate(
    case: TestCase,
    cases: list[TestCase],
    plan: BuildPlan,
    workspace: Path,
    anchors: Collection[str] = (),
    settled: Collection[str] = (),
) -> tuple[str, str]:
    """Say whose a failing test is: the code's or the test's author's, and why.

    The requirement's own examples (``examples.PATH``) are trusted: one that
    fails is the code's fault, whatever frame the traceback ends in. A model's
    test that fails on code passing every example, one of them showing
    behaviour (``anchors``: a function's result, a command's output; not only
    ``--help``), goes back to the test's author, with the reason: it asks for
    something the examples do not show, so the test is checked against the
    requirement before the code is. Other failures (some example fails, or
    none vouches for what the code does) go to the file the traceback ends in,
    except a ``settled`` test file's failure on its own assertion, which goes to
    the planned module the test imports (``asserted``).
    """
    code = next((f.path for f in plan.files if f.role is FileRole.CODE), "")
    if case.file == EXAMPLES_PATH:
        found = blame(case.traceback, plan, workspace)
        owned = found if found and found != EXAMPLES_PATH else code
        return owned or case.file, "the requirement's own example fails: "
    if examples_vouch(cases, anchors):
        return case.file, (
            "the code passes every one of the requirement's own examples, and this test "
            "fails on it: check the test against the requirement sentence it tests: "
        )
    found = blame(case.traceback, plan, workspace) or case.file
    if case.file in settled and found == case.file and asserted(case):
        tested = planned_import(case.file, plan, workspace) or code
        if tested:
            return tested, KEPT
    return found, ""


KEPT = (
    "the tests' team kept this test after checking it against the requirement, and the code "
    "fails its assertion: make the code return what the test expects: "
)


def asserted(case: TestCase) -> bool:
    """Say whether ``case`` failed on an assertion (not on an error raised before one)."""
    return case.outcome == "failed" and case.message.lstrip().startswith(
        ("AssertionError", "assert ")
    )


def settled_tests(plan: BuildPlan, teams: Collection[str]) -> frozenset[str]:
    """Return the tests files of ``teams`` whose team writes no code: tests kept by their author.

    A team that writes the code and its tests fixes either; only a tests'
    team's test can be right where the code is wrong with no one else told.
    """
    coders = {f.owner for f in plan.files if f.role is FileRole.CODE}
    return frozenset(
        f.path
        for f in plan.files
        if f.role is FileRole.TESTS and f.owner in teams and f.owner not in coders
    )


def blame(text: str, plan: BuildPlan, workspace: Path) -> str:
    """Return the planned file in which a traceback ends (its innermost project frame)."""
    planned = {f.path for f in plan.files}
    found = ""
    for match in _FRAME.finditer(text):
        name = match.group(1) or match.group(3) or ""
        path = Path(name)
        if path.is_absolute():
            try:
                name = str(path.relative_to(workspace))
            except ValueError:
                continue
        if name in planned:
            found = name
    return found


def imported_planned(test_file: str, plan: BuildPlan, workspace: Path) -> str:
    """Return the planned code file a test file that the plan does not list imports ("" if none).

    A repository's own test fails where the run changed the code it tests; when
    its traceback ends in the test itself (a wrong result, not a crash), the
    planned module it imports is the file to blame, not the test.
    """
    if plan.owner_of(test_file):
        return ""
    return planned_import(test_file, plan, workspace)


def planned_import(test_file: str, plan: BuildPlan, workspace: Path) -> str:
    """Return the planned code file ``test_file`` imports, the first by module name ("" if none)."""
    if not test_file.endswith(".py"):
        return ""
    try:  # the code under test ran in this folder: read through runfiles, never through a link
        source = read_file(workspace, test_file, PARSED_BYTES)
        tree = ast.parse(source.decode("utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return ""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    planned = {
        module_name(f.path): f.path
        for f in plan.files
        if f.role is FileRole.CODE and f.path.endswith(".py")
    }
    return next((planned[name] for name in sorted(names) if name in planned), "")
