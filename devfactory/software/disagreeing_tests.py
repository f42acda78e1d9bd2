"""A model's tests that fail on code passing every example: taken out on the stage's last attempt.

The requirement's own examples are trusted (``checks/blame.py``): a model's test
that fails on code passing every one of them asks for something the examples do
not show, and goes back to its author with that reason. A small model seldom mends
such a test in the attempts it has; the stage would then end BLOCKED over tests
that are more likely wrong than the code, and the run fail though its code does
what the requirement shows. AlphaCodium keeps the tests the code is known to pass
as anchors and never trusts a model's test over them; here the anchors are the
examples that show behaviour (a function's result, a route's reply; a command
line's ``--help`` shows none, so it anchors nothing). On a stage's last attempt,
those tests are taken out of their files (each named, with why, in the stage's
repairs) and the checks run again on what is left. A test file that would be left
with no test, or that does not parse, is kept as it is: its stage is judged on it.

A small model often writes one test function holding every check, so one wrong
assertion would take the right ones out with it. Before the last attempt's
pruning, a disagreeing test with several assertions at its top level is split
into one test per assertion (``split_assertions``), each after the statements
that came before it (its setup), and judged again: only the pieces that fail go.

A small model's attempts are draws, not steady progress: a later attempt can
write a file whose every test is wrong where an earlier one wrote several right.
After each attempt, the tests of a file that passed on code the examples vouch
for are kept (``agreeing``); on the last attempt, an earlier attempt's kept tests
replace this attempt's file when more of them agreed (``best_kept``), and the
checks judge them again on the code as it now stands.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard

from devfactory.software.examples import PATH as EXAMPLES_PATH

if TYPE_CHECKING:
    from devfactory.sandbox.junit import TestCase, TestReport

WHY = "it failed on code that passes every one of the requirement's own examples"

Test = tuple[str, ...]  # a test function's name, after its class's when it has one


@dataclass
class Pruned:
    """The test files with the disagreeing tests taken out, and a note for each test taken."""

    files: dict[str, str] = field(default_factory=dict)  # path -> its new source
    notes: list[str] = field(default_factory=list)


def named_by(nodeid: str) -> Test:
    """Return the test a pytest node id names: ``f.py::T::test_x[1]`` is ``("T", "test_x")``."""
    parts = nodeid.split("::")[1:]
    if not parts:
        return ()
    return (*parts[:-1], parts[-1].split("[", 1)[0])


def examples_vouch(cases: Iterable[TestCase], anchors: Collection[str]) -> bool:
    """Say whether the examples vouch for the code: every one passed, one showing behaviour.

    ``anchors`` name the example tests that show behaviour (a function's result, a
    route's reply), not only an interface (``--help``, a usage error), which code
    that does nothing passes.
    """
    examples = [c for c in cases if c.file == EXAMPLES_PATH]
    if not examples or any(c.outcome != "passed" for c in examples):
        return False
    return any(named_by(c.nodeid)[-1:] and named_by(c.nodeid)[-1] in anchors for c in examples)


def disagreeing(
    report: TestReport, files: Iterable[str], anchors: Collection[str]
) -> dict[str, set[Test]]:
    """Return, by file of ``files``, the tests that failed while the examples vouch for the code.

    Nothing is returned unless they do (``examples_vouch``: every example passed,
    one of the ``anchors`` among them): else the code is not known to be right,
    and the failures stay the gate's.
    """
    if not examples_vouch(report.cases, anchors):
        return {}
    judged = set(files) - {EXAMPLES_PATH}
    found: dict[str, set[Test]] = {}
    for case in report.cases:
        if case.file in judged and case.outcome in ("failed", "error"):
            test = named_by(case.nodeid)
            if test:
                found.setdefault(case.file, set()).add(test)
    return found


def _span(node: ast.stmt) -> tuple[int, int]:
    """Return the first and last line of a definition, its decorators included."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return first, node.end_lineno or node.lineno


def _whole(lines: list[str], node: ast.stmt, *, blanks: bool) -> tuple[int, int]:
    """Return the lines a definition takes up, to take it out or replace it.

    Its span, then the comments indented under it that follow its last
    statement (they belong to its body, and would be left orphaned); with
    ``blanks``, also the blank lines that separate it from what comes before,
    so that taking out many tests leaves no runs of blank lines.
    """
    first, last = _span(node)
    below = last
    while below < len(lines):
        text = lines[below]
        indent = len(text) - len(text.lstrip())
        if text.strip() and not (text.lstrip().startswith("#") and indent > node.col_offset):
            break
        below += 1
        if text.strip():
            last = below
    while blanks and first > 1 and not lines[first - 2].strip():
        first -= 1
    return first, last


def _is_test(node: ast.stmt) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Whether ``node`` defines a test function (its name begins with ``test``)."""
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def without_tests(source: str, tests: set[Test]) -> tuple[str, list[Test]] | None:
    """Return ``source`` without ``tests``, and the tests taken out.

    None when it does not parse, holds none of them, or would hold no test
    after: a file is pruned only while something of it is left to judge.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    lines = source.splitlines(keepends=True)
    spans: list[tuple[int, int]] = []
    taken: list[Test] = []
    left = 0
    for node in tree.body:
        if _is_test(node):
            if (node.name,) in tests:
                spans.append(_whole(lines, node, blanks=True))
                taken.append((node.name,))
            else:
                left += 1
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            methods = [m for m in node.body if _is_test(m)]
            names = [(node.name, m.name) for m in methods]
            dropped = [i for i, name in enumerate(names) if name in tests]
            if dropped and len(dropped) == len(methods):
                spans.append(_whole(lines, node, blanks=True))  # nothing of it is left
            else:
                spans.extend(_whole(lines, methods[i], blanks=True) for i in dropped)
            taken.extend(names[i] for i in dropped)
            left += len(methods) - len(dropped)
    if not taken or not left:
        return None
    for first, last in sorted(spans, reverse=True):
        del lines[first - 1 : last]
    pruned = "".join(lines)
    try:
        ast.parse(pruned)
    except SyntaxError:
        return None
    return pruned, taken


def _edited(
    report: TestReport | None,
    files: Mapping[str, str],
    anchors: Collection[str],
    edit: Callable[[str, set[Test]], tuple[str, list[Test]] | None],
    note: Callable[[str, Test], str],
) -> Pruned:
    """Apply ``edit`` to each file of ``files`` holding tests that disagree, with a note a test."""
    done = Pruned()
    if report is None:
        return done
    for path, tests in sorted(disagreeing(report, files, anchors).items()):
        found = edit(files[path], tests)
        if found is None:
            continue
        done.files[path], edited = found
        done.notes.extend(note(path, t) for t in sorted(edited))
    return done


def prune(report: TestReport | None, files: Mapping[str, str], anchors: Collection[str]) -> Pruned:
    """Take the tests that disagree with example-passing code out of ``files`` (path -> source).

    ``anchors``: the example tests that show behaviour (``disagreeing``).
    """
    return _edited(
        report, files, anchors, without_tests, lambda p, t: f"{p}: took out {'.'.join(t)}: {WHY}"
    )


def _module_errors(cases: Iterable[TestCase]) -> bool:
    """Say whether a file's cases include an error of the file itself (an import, a collection)."""
    return any(not named_by(c.nodeid) and c.outcome != "passed" for c in cases)


def agreeing(
    report: TestReport | None, files: Mapping[str, str], anchors: Collection[str]
) -> dict[str, str]:
    """Return, by path of ``files``, its source cut to the tests that agree with vouched code.

    A file is returned when the examples vouch for the code (``examples_vouch``),
    at least one of its tests passed, and nothing failed in the file itself (an
    import error fails every test it holds, so none of them is known to agree).
    Its failing tests are taken out (``without_tests``); a file that cannot be cut
    is not returned.
    """
    if report is None or not examples_vouch(report.cases, anchors):
        return {}
    failing = disagreeing(report, files, anchors)
    kept: dict[str, str] = {}
    for path, source in sorted(files.items()):
        cases = [c for c in report.cases if c.file == path]
        if path == EXAMPLES_PATH or _module_errors(cases):
            continue
        if not any(c.outcome == "passed" for c in cases):
            continue
        if path in failing:
            cut = without_tests(source, failing[path])
            if cut is None:
                continue
            source = cut[0]
        kept[path] = source
    return kept


def count_tests(source: str) -> int:
    """Return how many test functions ``source`` defines, at its top level and in its classes."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0
    count = 0
    for node in tree.body:
        if _is_test(node):
            count += 1
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            count += sum(1 for m in node.body if _is_test(m))
    return count


def best_kept(earlier: Mapping[str, str], now: Mapping[str, str]) -> dict[str, str]:
    """Return, by path, the version with the most agreeing tests: ``now``'s where it ties."""
    best = dict(earlier)
    for path, source in now.items():
        if count_tests(source) >= count_tests(best.get(path, "")):
            best[path] = source
    return best


SPLIT_MAX = 20  # pieces one test is split into, at most: a longer test is kept whole


def _is_assertion(node: ast.stmt) -> bool:
    """Say whether a test's statement checks something: it asserts, or is ``pytest.raises``."""
    if any(isinstance(n, ast.Assert) for n in ast.walk(node)):
        return True
    if isinstance(node, ast.With):
        for item in node.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
                if call.func.attr in ("raises", "warns"):
                    return True
    return False


def _pieces(node: ast.FunctionDef | ast.AsyncFunctionDef, taken: set[str]) -> list[ast.stmt]:
    """Return ``node`` as one function per top-level assertion (none: fewer than two)."""
    body = list(node.body)
    doc = body[:1] if body and ast.get_docstring(node, clean=False) is not None else []
    body = body[len(doc) :]
    checks = [i for i, stmt in enumerate(body) if _is_assertion(stmt)]
    if not 2 <= len(checks) <= SPLIT_MAX:
        return []
    pieces: list[ast.stmt] = []
    for number, index in enumerate(checks, 1):
        setup = [stmt for stmt in body[:index] if not _is_assertion(stmt)]
        name = f"{node.name}_{number}"
        while name in taken:
            name += "_"
        taken.add(name)
        piece = copy.copy(node)  # its decorators, parameters and annotations
        piece.name = name
        after = body[index + 1 :] if number == len(checks) else []  # what checks nothing
        piece.body = [*doc, *setup, body[index], *after]
        pieces.append(piece)
    return pieces


def split_assertions(source: str, tests: set[Test]) -> tuple[str, list[Test]] | None:
    """Return ``source`` with each of ``tests`` split into one test per top-level assertion.

    Each piece keeps the statements before its assertion that check nothing (its
    setup), the test's decorators and its parameters, and is named after the test
    (``test_x_1``, ``test_x_2``); the last keeps what follows its assertion. A
    statement with an ``assert`` anywhere inside it (a ``with open(...)`` block,
    a loop) is one assertion. Returns the new source and the tests split; None
    when it does not parse or none of ``tests`` has two assertions or more.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names = {
        n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    split: list[Test] = []

    def consider(node: ast.stmt, owner: tuple[str, ...], indent: str) -> None:
        if not _is_test(node) or (*owner, node.name) not in tests:
            return
        pieces = _pieces(node, names)
        if not pieces:
            return
        first, last = _whole(lines, node, blanks=False)  # unparsed: its comments go
        text = ("\n\n" if indent else "\n\n\n").join(ast.unparse(p) for p in pieces)
        indented = [f"{indent}{line}" if line else "" for line in text.splitlines()]
        edits.append((first, last, "\n".join(indented) + "\n"))
        split.append((*owner, node.name))

    for node in tree.body:
        consider(node, (), "")
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for method in node.body:
                consider(method, (node.name,), " " * method.col_offset)
    if not split:
        return None
    for first, last, text in sorted(edits, reverse=True):
        lines[first - 1 : last] = [text]
    result = "".join(lines)
    try:
        ast.parse(result)
    except SyntaxError:
        return None
    return result, split


def split_disagreeing(
    report: TestReport | None, files: Mapping[str, str], anchors: Collection[str]
) -> Pruned:
    """Split each test of ``files`` that disagrees with vouched code into one per assertion."""
    return _edited(
        report,
        files,
        anchors,
        split_assertions,
        lambda p, t: (
            f"{p}: split {'.'.join(t)} into one test per assertion, to take out only "
            "the assertions that disagree"
        ),
    )
