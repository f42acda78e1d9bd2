"""A model's tests that fail on code passing every example: taken out, and the rest judged.

The requirement's own examples are trusted (``checks/blame.py``): a model's test
that fails on code passing every one of them asks for something the examples do
not show, and goes back to its author with that reason. A small model seldom mends
such a test in the attempts it has; the stage would then end BLOCKED over tests
that are more likely wrong than the code, and the run fail though its code does
what the requirement shows. AlphaCodium keeps the tests the code is known to pass
as anchors and never trusts a model's test over them; here the anchors are the
examples that show behaviour (a function's result, a route's reply; a command
line's ``--help`` shows none, so it anchors nothing). From the stage attempt the
``disagreeing_tests_attempt`` setting names (the first; 0: the last, each attempt
before asking the team to mend them), those tests are taken out of their files
(each named, with why, in the stage's repairs) and the checks run again on what
is left. A test file that would be left with no test, or that does not parse, is
kept as it is: its stage is judged on it.

A small model often writes one test function holding every check, so one wrong
assertion would take the right ones out with it. Before the pruning, a disagreeing
test with several assertions at its top level is split into one test per assertion
(``split_assertions``), each after the statements that came before it (its setup),
and judged again: only the pieces that fail go.

A small model's attempts are draws, not steady progress: a later attempt can
write a file whose every test is wrong where an earlier one wrote several right.
After each attempt, the tests of a file that passed on code the examples vouch
for are kept (``agreeing``); when tests are taken out, an earlier attempt's kept
tests replace this attempt's file when more of them agreed (``best_kept``), and the
checks judge them again on the code as it now stands.

A parametrized test is many tests under one name: where some of its cases pass on
code the examples vouch for and others fail, only the failing cases' values are
taken out of its ``parametrize`` list (``without_cases``), matched by the ids
pytest gave them, so a test that checks one right value and one wrong keeps the
right one instead of going whole (and, when it is the file's only test, keeping
the file blocked).

Some tests fail on any code, whatever the examples say (``refuted``; ``why_refuted``
says which): they are taken out the same way, examples or not, each note ending
``[refuted-tests]``, the name ``repairs_off`` takes. A test whose failure some
code could mend is never one of them.

Why one module: taking tests out, splitting them, narrowing their parameters and
keeping the agreeing ones are one decision over one report, edited in one way
(by the syntax tree, checked to parse after).
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.salvage import is_test
from devfactory.software.source import syntax_tree

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


REFUTED: Final = "refuted-tests"
"""The name ``repairs_off`` takes to keep the tests that fail on any code (``refuted``)."""

MOCK_ONLY: Final = frozenset(
    {
        "called",
        "call_count",
        "call_args",
        "call_args_list",
        "mock_calls",
        "method_calls",
        "assert_called",
        "assert_called_once",
        "assert_called_with",
        "assert_called_once_with",
        "assert_any_call",
        "assert_has_calls",
        "assert_not_called",
        "await_count",
        "await_args",
        "await_args_list",
        "assert_awaited",
        "assert_awaited_once",
        "assert_awaited_with",
        "assert_awaited_once_with",
        "assert_any_await",
        "assert_has_awaits",
        "assert_not_awaited",
    }
)
"""What only a ``unittest.mock`` object has: read from anything else, an AttributeError."""

_NO_ATTRIBUTE = re.compile(r"AttributeError: '(\w+)' object has no attribute '(\w+)'")
_CONFLICT = re.compile(
    r"argparse\.ArgumentError: argument [^:]+: conflicting option strings?: (?P<options>[^\n]+)"
)
_LOCATION = re.compile(r"^(?P<path>[^\s:][^:\n]*):\d+: [\w.]+\s*$", re.MULTILINE)
_ROUTE_CALLED = re.compile(
    r"TypeError: (FastAPI|APIRouter)\.(get|post|put|patch|delete|head|options)\(\) "
    r"got an unexpected keyword argument '(\w+)'"
)

Node = ast.FunctionDef | ast.AsyncFunctionDef


def _calls_of(test: Node, method: str) -> list[ast.Call]:
    """Return the calls ``test`` itself makes of a ``method`` attribute (``x.method(...)``)."""
    return [
        n
        for n in ast.walk(test)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == method
    ]


def _adds_option(test: Node, options: Collection[str]) -> bool:
    """Say whether ``test`` calls ``add_argument`` itself with one of ``options``."""
    return any(
        isinstance(a, ast.Constant) and a.value in options
        for c in _calls_of(test, "add_argument")
        for a in c.args
    )


def _raised_in_test(case: TestCase) -> bool:
    """Say whether the error was raised in the test's own file (its traceback's last place)."""
    places = [m["path"] for m in _LOCATION.finditer(case.traceback)]
    return bool(places) and (places[-1] == case.file or places[-1].endswith(f"/{case.file}"))


def _calls_with(test: Node, method: str, keyword: str) -> bool:
    """Say whether ``test`` calls a ``method`` attribute itself with ``keyword`` given."""
    return any(k.arg == keyword for c in _calls_of(test, method) for k in c.keywords)


def why_refuted(case: TestCase, test: Node | None) -> str:
    """Say why ``case`` fails on any code ("" when some code could make it pass).

    A mock's attribute (``MOCK_ONLY``) read, in the test's own file, from what
    is no mock (a mock's own message has no quoted type) fails whatever the code
    returns; an option the test adds to a parser that has it (``test``, its
    syntax tree, calls ``add_argument`` with that option) fails because the code
    added it; a request sent, in the test's own file, through the app's route
    decorator (``app.post("/x", json=...)``, a test client's call made on the
    FastAPI app itself, which ``test`` makes) never reaches a route. The same
    error raised in the code is the code's.
    """
    if case.outcome not in ("failed", "error"):
        return ""
    message = case.message.strip()
    found = _NO_ATTRIBUTE.match(message)
    mine = _raised_in_test(case)
    if found and found[2] in MOCK_ONLY and not found[1].endswith("Mock") and mine:
        return (
            f"it reads {found[2]}, which only a mock has, from a {found[1]} that is no mock: "
            "it fails whatever the code does"
        )
    conflict = _CONFLICT.match(message)
    options = {o.strip() for o in conflict["options"].split(",")} if conflict else set()
    if conflict and test is not None and _adds_option(test, options):
        return (
            "it adds to the parser the code built an option the parser has already, which "
            "argparse refuses: it tests argparse, not the code"
        )
    route = _ROUTE_CALLED.match(message)
    if route and mine and test is not None and _calls_with(test, route[2], route[3]):
        return (
            f"it sends a request through the app's route decorator ({route[1]}.{route[2]}, "
            f"given {route[3]}=), not a test client (TestClient(app).{route[2]}): it fails "
            "whatever the code does"
        )
    return ""


def _named_tests(tree: ast.Module) -> list[tuple[Test, Node]]:
    """Return the test functions of ``tree`` with their names (after their class's), in order."""
    found: list[tuple[Test, Node]] = []
    for node in tree.body:
        if is_test(node):
            found.append(((node.name,), node))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found += [((node.name, m.name), m) for m in node.body if is_test(m)]
    return found


def _test_nodes(source: str) -> dict[Test, Node]:
    """Return the test functions of ``source`` by name (after their class's); none unparsed."""
    tree = syntax_tree(source)
    return dict(_named_tests(tree)) if tree is not None else {}


def refuted(report: TestReport, files: Mapping[str, str]) -> dict[str, dict[Test, str]]:
    """Return, by file of ``files``, the tests that fail on any code, each with why.

    Examples or not (``why_refuted``); each why ends ``[refuted-tests]``.
    """
    judged = set(files) - {EXAMPLES_PATH}
    nodes = {path: _test_nodes(files[path]) for path in judged}
    found: dict[str, dict[Test, str]] = {}
    for case in report.cases:
        test = named_by(case.nodeid)
        if case.file not in judged or not test:
            continue
        why = why_refuted(case, nodes[case.file].get(test))
        if why:
            found.setdefault(case.file, {})[test] = f"{why} [{REFUTED}]"
    return found


def to_take(
    report: TestReport, files: Mapping[str, str], anchors: Collection[str], *, refute: bool
) -> dict[str, dict[Test, str]]:
    """Return, by file, the tests to take out with why: refuted (with ``refute``), disagreeing."""
    found = refuted(report, files) if refute else {}
    for path, tests in disagreeing(report, files, anchors).items():
        for test in tests:
            found.setdefault(path, {}).setdefault(test, WHY)
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


def without_tests(source: str, tests: set[Test]) -> tuple[str, list[Test]] | None:
    """Return ``source`` without ``tests``, and the tests taken out.

    None when it does not parse, holds none of them, or would hold no test
    after: a file is pruned only while something of it is left to judge.
    """
    tree = syntax_tree(source)
    if tree is None:
        return None
    lines = source.splitlines(keepends=True)
    spans: list[tuple[int, int]] = []
    taken: list[Test] = []
    left = 0
    for node in tree.body:
        if is_test(node):
            if (node.name,) in tests:
                spans.append(_whole(lines, node, blanks=True))
                taken.append((node.name,))
            else:
                left += 1
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            methods = [m for m in node.body if is_test(m)]
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
    pruned = _replaced(lines, [(first, last, "") for first, last in spans])
    return (pruned, taken) if pruned is not None else None


Outcomes = dict[Test, dict[str, str]]
"""By parametrized test, the outcome of each of its cases by the id pytest gave it."""


def outcomes_by_case(cases: Iterable[TestCase], path: str) -> Outcomes:
    """Return the outcome of each parametrized case of ``path`` (``test_x[a-b]``: id ``a-b``)."""
    found: Outcomes = {}
    for c in cases:
        last = c.nodeid.split("::")[-1]
        if c.file == path and "[" in last and last.endswith("]"):
            found.setdefault(named_by(c.nodeid), {})[last.split("[", 1)[1][:-1]] = c.outcome
    return found


def _value_id(node: ast.expr, argname: str, index: int) -> str:
    """Return the id pytest gives one value: a plain literal's text, else its name and index."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return f"{argname}{index}"
    if isinstance(value, str):
        return value.encode("unicode_escape").decode("ascii")
    if isinstance(value, bytes):
        return value.decode("ascii", "backslashreplace")
    if value is None or isinstance(value, int | float | complex):  # bool is an int
        return str(value)
    return f"{argname}{index}"


def _parametrize(node: Node) -> tuple[int, ast.Call] | None:
    """Return a test's one ``parametrize`` decorator with literal names and values, and its place.

    None for anything whose case ids cannot be told from the source alone: no
    such decorator or several (their cases multiply), ``ids=``, values that are
    no list or tuple written out.
    """
    found = [
        (i, d)
        for i, d in enumerate(node.decorator_list)
        if isinstance(d, ast.Call)
        and isinstance(d.func, ast.Attribute)
        and d.func.attr == "parametrize"
    ]
    if len(found) != 1:
        return None
    at, call = found[0]
    keywords = {k.arg for k in call.keywords}
    if "ids" in keywords or None in keywords or len(call.args) != 2 or keywords - {"indirect"}:
        return None
    if not isinstance(call.args[1], ast.List | ast.Tuple):
        return None
    return at, call


def _argnames(call: ast.Call) -> list[str] | None:
    """Return the names a ``parametrize`` call gives: ``"a, b"`` or ``["a", "b"]``."""
    names = call.args[0]
    if isinstance(names, ast.Constant) and isinstance(names.value, str):
        return [n.strip() for n in names.value.split(",") if n.strip()]
    if isinstance(names, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in names.elts
    ):
        return [str(e.value) for e in names.elts if isinstance(e, ast.Constant)]
    return None


def _case_ids(call: ast.Call) -> list[str] | None:
    """Return the id pytest gives each value set of ``call``, in order (None: not told here)."""
    names, values = _argnames(call), call.args[1]
    if not names or not isinstance(values, ast.List | ast.Tuple):
        return None
    ids: list[str] = []
    for index, value in enumerate(values.elts):
        if len(names) == 1:
            ids.append(_value_id(value, names[0], index))
        elif isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(names):
            ids.append(
                "-".join(_value_id(v, n, index) for v, n in zip(value.elts, names, strict=True))
            )
        else:
            return None
    return ids if len(set(ids)) == len(ids) else None  # pytest renames repeated ids


def _replaced(lines: list[str], edits: list[tuple[int, int, str]]) -> str | None:
    """Return ``lines`` with each (first, last, text) edit made; None if it does not parse."""
    for first, last, text in sorted(edits, reverse=True):
        lines[first - 1 : last] = [text]
    result = "".join(lines)
    return result if syntax_tree(result) is not None else None


def without_cases(source: str, outcomes: Outcomes) -> tuple[str, list[tuple[Test, str]]] | None:
    """Return ``source`` with the failing cases of its partly passing parametrized tests taken out.

    A test is narrowed where at least one of its cases passed and one failed,
    and the ids its ``parametrize`` values get are exactly the ids reported:
    the failing values leave the list, the rest stay as written. Returns the new
    source and each (test, id) taken; None when nothing is narrowed or it does
    not parse.
    """
    tree = syntax_tree(source)
    if tree is None:
        return None
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    taken: list[tuple[Test, str]] = []
    for test, node in _named_tests(tree):
        seen = outcomes.get(test, {})
        failing = {i for i, outcome in seen.items() if outcome in ("failed", "error")}
        if not failing or "passed" not in seen.values():
            continue
        found = _parametrize(node)
        ids = _case_ids(found[1]) if found else None
        if found is None or ids is None or set(ids) != set(seen):
            continue
        at, call = found
        values = call.args[1]
        assert isinstance(values, ast.List | ast.Tuple)  # _parametrize made sure
        narrowed = copy.deepcopy(call)
        kept = [v for v, i in zip(values.elts, ids, strict=True) if i not in failing]
        narrowed.args[1] = type(values)(elts=kept, ctx=ast.Load())
        decorator = node.decorator_list[at]
        indent = " " * node.col_offset
        text = f"{indent}@{ast.unparse(narrowed)}\n"
        edits.append((decorator.lineno, decorator.end_lineno or decorator.lineno, text))
        taken.extend((test, i) for i in ids if i in failing)
    edited = _replaced(lines, edits) if taken else None
    return (edited, taken) if edited is not None else None


def _cut(
    source: str, tests: set[Test], outcomes: Outcomes
) -> tuple[str, list[tuple[Test, str]]] | None:
    """Return ``source`` without ``tests``, a partly passing parametrized one cut to its cases.

    Each thing taken is (test, the case's id, or "" for the whole test); None:
    nothing taken (``without_tests``, ``without_cases``).
    """
    taken: list[tuple[Test, str]] = []
    narrowed = without_cases(source, outcomes)
    if narrowed is not None:
        source, taken = narrowed
        tests = tests - {t for t, _ in taken}
    whole = without_tests(source, tests) if tests else None
    if whole is not None:
        source = whole[0]
        taken += [(t, "") for t in whole[1]]
    return (source, sorted(taken)) if taken else None


def prune(
    report: TestReport | None,
    files: Mapping[str, str],
    anchors: Collection[str],
    *,
    refute: bool = True,
) -> Pruned:
    """Take the tests that disagree with example-passing code out of ``files`` (path -> source).

    ``anchors``: the example tests that show behaviour (``disagreeing``). A
    parametrized test whose other cases passed loses only its failing cases.
    With ``refute``, the tests that fail on any code go too (``refuted``).
    """
    done = Pruned()
    if report is None:
        return done
    for path, whys in sorted(to_take(report, files, anchors, refute=refute).items()):
        found = _cut(files[path], set(whys), outcomes_by_case(report.cases, path))
        if found is None:
            continue
        done.files[path], taken = found
        done.notes.extend(
            f"{path}: took out {'.'.join(t)}{f'[{i}]' if i else ''}: {whys[t]}" for t, i in taken
        )
    return done


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
            cut = _cut(source, failing[path], outcomes_by_case(cases, path))
            if cut is None:
                continue
            source = cut[0]
        kept[path] = source
    return kept


def tests_in(tree: ast.Module) -> list[Node]:
    """Return the test functions a module defines, at its top level and in its test classes."""
    return [node for _, node in _named_tests(tree)]


def count_tests(source: str) -> int:
    """Return how many test functions ``source`` defines, at its top level and in its classes."""
    tree = syntax_tree(source)
    return len(tests_in(tree)) if tree is not None else 0


def best_kept(earlier: Mapping[str, str], now: Mapping[str, str]) -> dict[str, str]:
    """Return, by path, the version with the most agreeing tests: ``now``'s where it ties."""
    best = dict(earlier)
    for path, source in now.items():
        if count_tests(source) >= count_tests(best.get(path, "")):
            best[path] = source
    return best


SPLIT_MAX = 20  # pieces one test is split into, at most: a longer test is kept whole
_RAISES = ("raises", "warns")  # pytest's checks written as a ``with`` block


def _is_assertion(node: ast.stmt) -> bool:
    """Say whether a test's statement checks something: it asserts, or is ``pytest.raises``."""
    if any(isinstance(n, ast.Assert) for n in ast.walk(node)):
        return True
    calls = [item.context_expr for item in node.items] if isinstance(node, ast.With) else []
    return any(
        isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr in _RAISES
        for c in calls
    )


def _pieces(node: Node, taken: set[str]) -> list[ast.stmt]:
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
    tree = syntax_tree(source)
    if tree is None:
        return None
    names = {n.name for n in ast.walk(tree) if isinstance(n, Node)}
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    split: list[Test] = []
    for test, node in _named_tests(tree):
        pieces = _pieces(node, names) if test in tests else []
        if not pieces:
            continue
        indent = " " * node.col_offset  # a method's, inside its class
        first, last = _whole(lines, node, blanks=False)  # unparsed: its comments go
        text = ("\n\n" if indent else "\n\n\n").join(ast.unparse(p) for p in pieces)
        indented = [f"{indent}{line}" if line else "" for line in text.splitlines()]
        edits.append((first, last, "\n".join(indented) + "\n"))
        split.append(test)
    edited = _replaced(lines, edits) if split else None
    return (edited, split) if edited is not None else None


def split_disagreeing(
    report: TestReport | None,
    files: Mapping[str, str],
    anchors: Collection[str],
    *,
    refute: bool = True,
) -> Pruned:
    """Split each test of ``files`` that disagrees with vouched code into one per assertion.

    With ``refute``, each test that fails on any code too (``refuted``): its
    other assertions may hold.
    """
    done = Pruned()
    if report is None:
        return done
    for path, whys in sorted(to_take(report, files, anchors, refute=refute).items()):
        found = split_assertions(files[path], set(whys))
        if found is None:
            continue
        done.files[path], split = found
        done.notes.extend(
            f"{path}: split {'.'.join(t)} into one test per assertion, to take out only "
            "the assertions that disagree"
            for t in sorted(split)
        )
    return done
