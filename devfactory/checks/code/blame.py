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
team's stage BLOCKED, and the code's team never sees it. A command a tests file
runs at its top level that exits (pytest stops collecting: its internal error)
is the file's author's too (``ran_at_import``).
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
    if case.name == INTERNAL and not case.file:  # pytest stopped: SystemExit as it imported
        ran = ran_at_import(case.traceback, plan, workspace)
        if ran:  # a call the file made outside any test exited (a command's usage error)
            return ran, OUTSIDE_TESTS
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


INTERNAL = "internal"
"""The name pytest's JUnit report gives its internal error (an exit while collecting)."""

OUTSIDE_TESTS = (
    "pytest stopped as it imported this file: code it runs outside any test exited; "
    "call the code inside tests only: "
)

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
        name = _relative(match.group(1) or match.group(3) or "", workspace)
        if name in planned:
            found = name
    return found


def ran_at_import(text: str, plan: BuildPlan, workspace: Path) -> str:
    """Return the planned tests file whose top level the traceback runs through ("" if none).

    Only a line that is no import counts: a call left outside any test, run as
    pytest imported the file. Through an import line the imported code failed.
    """
    tests = {f.path for f in plan.files if f.role is FileRole.TESTS}
    for match in _FRAME.finditer(text):
        name = _relative(match.group(1) or match.group(3) or "", workspace)
        if name in tests and text.startswith((", in <module>", " in <module>"), match.end()):
            if not _imports_at(name, int(match.group(2) or match.group(4)), workspace):
                return name
    return ""


def _relative(name: str, workspace: Path) -> str:
    """Return a traceback's file name relative to the workspace ("": outside it)."""
    path = Path(name)
    if not path.is_absolute():
        return name
    try:
        return str(path.relative_to(workspace))
    except ValueError:
        return ""


def _imports_at(test_file: str, line: int, workspace: Path) -> bool:
    """Say whether the top-level statement of ``test_file`` at ``line`` imports (or is unread)."""
    try:  # read through runfiles, never through a link
        source = read_file(workspace, test_file, PARSED_BYTES)
        tree = ast.parse(source.decode("utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return True  # unread: the innermost frame decides, as before
    return any(
        isinstance(node, ast.Import | ast.ImportFrom)
        for node in tree.body
        if node.lineno <= line <= (node.end_lineno or node.lineno)
    )


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
