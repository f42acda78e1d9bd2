"""Keep the complete tests of a tests file that does not parse, and say which were dropped.

A small model's tests file is often cut off at the token limit, or has one
test with an unterminated string: one bad test then makes the whole file a
syntax error, and every good test in it is lost with it (the file cannot be
collected, the stage is asked again, and the run may end on it). Tools before
models: the file is cut into its top-level statements (a decorated function is
one statement with its decorators), and the statements are taken in order,
each one only if the file so far still parses with it. What is dropped is
named, so the stage's record says which tests were lost and why. A test that
breaks the file is cut the same way one level down before it is dropped: a
small model writes every check in one function, and one assertion with an
unterminated string would lose them all; its statements that parse are kept
when one of them still checks something (``assert``, ``pytest.raises``).

Only a file that already fails to parse is touched, and only when what is kept
still has a test: a file that parses is returned as written. A tests file the
reply was cut off in (``salvage_cut``) loses the statement it stopped in too,
even when what came before the cut happens to parse: that test was not finished.
Only where it is the file's one test (every check written in one function until
the limit) is it kept, cut to its complete statements.

A file that parses can still hold a test that cannot pass: one reading a name
bound nowhere, most often a variable another test assigned (``drop_unbound_tests``,
the ``unbound-tests`` repair). Such tests are dropped and named the same way, while
another test stays; so are the tests that ask for a fixture nothing defines
(``drop_unfixtured_tests``, the ``unknown-fixtures`` repair), which pytest reports
as an error before the test starts.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from typing import TypeGuard

from devfactory.software.source import bound_names, last_name, syntax_tree

# a line that continues the statement above it although it starts at column 0
_CONTINUES = re.compile(r"^(?:[)\]}]|else\b|elif\b|except\b|finally\b|case\b)")
# a function or class defined at the start of a line (the text read, as a file that may not parse)
DEFINED = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.MULTILINE)
_STRINGS = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|#.*")
# a line that starts one of these can never continue an open bracket: a bracket still
# open there was left open by a broken line (keywords that cannot occur in an expression)
_STARTS = re.compile(r"^(?:async\s+def|def|class|assert|with|return|raise|import|del|pass)\b|^@")
_ASSERTS = re.compile(r"^[ \t]+assert\b", re.MULTILINE)
_CHECKS = re.compile(r"^\s*(?:assert\b|with\s+pytest\.raises\b)", re.MULTILINE)
_TEST_DEF = re.compile(r"^(?:async\s+)?def\s+test\w*\s*\(.*\)\s*(?:->[^:]*)?:\s*(?:#.*)?$")
TEST = re.compile(r"^(?:async\s+)?def\s+test\w*|^class\s+Test\w*", re.MULTILINE)


Test = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Salvaged:
    """A tests file with its broken statements dropped."""

    source: str
    dropped: tuple[str, ...]  # what each dropped statement was: a test's name, or its first line


def _parses(source: str) -> bool:
    return syntax_tree(source) is not None


def statements(source: str) -> list[str]:
    """Cut ``source`` into its top-level statements, as text, comments going with the next one."""
    chunks: list[list[str]] = []
    pending: list[str] = []  # blank lines, comments and decorators wait for their statement
    depth = 0  # brackets left open (strings and comments on one line left out)
    for line in source.splitlines(keepends=True):
        if _STARTS.match(line):
            depth = 0
        starts = depth <= 0 and bool(line[:1].strip()) and not _CONTINUES.match(line)
        bare = _STRINGS.sub("", line)
        depth = max(
            0, depth + sum(bare.count(c) for c in "([{") - sum(bare.count(c) for c in ")]}")
        )
        if starts and (line.startswith("#") or line.startswith("@")):
            pending.append(line)
            continue
        if starts or not chunks:
            chunks.append([*pending, line])
            pending = []
        elif pending:
            chunks[-1].extend(pending)
            chunks[-1].append(line)
            pending = []
        else:
            chunks[-1].append(line)
    if pending:
        chunks.append(pending)
    return ["".join(chunk) for chunk in chunks]


def _label(chunk: str) -> str:
    for line in chunk.splitlines():
        if match := DEFINED.match(line):
            return match.group(1)
    written = [ln.strip() for ln in chunk.splitlines() if ln.strip()]
    code = [ln for ln in written if not ln.startswith("#")]  # a comment above it says less
    return (code or written or [""])[0][:60]


def salvage_tests(source: str) -> Salvaged | None:
    """Return ``source`` with the statements that break it dropped, or None to leave it alone.

    None when the file parses as written, or when nothing that parses and still
    holds a test can be kept.
    """
    if _parses(source):
        return None
    kept: list[str] = []
    dropped: list[str] = []
    for chunk in statements(source):
        if _parses("".join([*kept, chunk])):
            kept.append(chunk)
        elif (inner := _inside(chunk)) is not None and _parses("".join([*kept, inner.source])):
            kept.append(inner.source)
            dropped.extend(inner.dropped)
        elif chunk.strip():
            dropped.append(_label(chunk))
    text = "".join(kept).rstrip() + "\n"
    if not TEST.search(text) or not _parses(text):
        return None
    return Salvaged(text, tuple(dropped))


def _inside(chunk: str) -> Salvaged | None:
    """Return a test function that does not parse with its broken statements dropped.

    Only a top-level ``def test...():`` on one line (with its decorators and
    comments), its body cut into statements like a file; None when it is no
    such test, when a string in it spans lines (its text could be read as
    statements), or when nothing left in it checks anything. What is kept is
    the test's own lines, unchanged: statements are only ever dropped.
    """
    lines = chunk.splitlines(keepends=True)
    at = next((n for n, line in enumerate(lines) if _TEST_DEF.match(line.rstrip())), None)
    if at is None or any(_spans(line) for line in lines):
        return None
    head, body = "".join(lines[: at + 1]), lines[at + 1 :]
    indent = next((ln[: len(ln) - len(ln.lstrip())] for ln in body if ln.strip()), "")
    if not indent:
        return None
    flat = "".join(ln[len(indent) :] if ln.startswith(indent) else ln.lstrip(" \t") for ln in body)
    kept: list[str] = []  # the test's own lines of each statement kept
    dropped: list[str] = []
    start = 0
    for statement in statements(flat):
        own = body[start : start + len(statement.splitlines())]
        start += len(own)
        if _parses(head + "".join([*kept, *own])):
            kept.extend(own)
        elif statement.strip():
            dropped.append(f"{_label(statement)} (in {_label(chunk)})")
    text = head + "".join(kept)
    if not dropped or not _CHECKS.search("".join(kept)) or not _parses(text):
        return None
    return Salvaged(text, tuple(dropped))


def _spans(line: str) -> bool:
    """Say whether a triple-quoted string opens or closes on ``line``, and not both."""
    return (line.count('"' * 3) + line.count("'" * 3)) % 2 == 1


def salvage_cut(source: str) -> Salvaged | None:
    """Return a tests file cut off at the token limit without the statement it stopped in.

    The last statement was being written when the reply stopped, so it goes;
    so does any earlier one that breaks the file. None when no complete test
    would be left (the file is then refused as cut off).
    """
    chunks = [chunk for chunk in statements(source) if chunk.strip()]
    if not chunks:
        return None
    stopped = chunks.pop()
    last = _label(stopped)
    before = "".join(chunks)
    saved = salvage_tests(before)
    text = (before if saved is None else saved.source).rstrip() + "\n"
    if not _parses(text):
        return None
    if not TEST.search(text):  # the test it stopped in was the file's one test
        return _head_of(text, stopped)
    return Salvaged(text, (*(saved.dropped if saved else ()), last))


def _head_of(before: str, stopped: str) -> Salvaged | None:
    """Return ``before`` with the test it stopped in cut to its complete statements.

    Only for a file whose one test (a function, or a ``Test`` class) is the one
    cut off (a small model writes every check in one function until the limit):
    the lines before the cut that still parse are kept while they hold an
    ``assert``; each check in them is complete. None when no assertion is.
    """
    if not TEST.search(stopped):  # a test function, or a class of them
        return None
    lines = stopped.splitlines(keepends=True)
    kept = before.rstrip() + "\n\n\n" if before.strip() else ""
    for end in range(len(lines) - 1, 1, -1):
        head = "".join(lines[:end])
        if not _ASSERTS.search(head):
            return None
        if lines[end - 1].lstrip().startswith("#") or not lines[end - 1].strip():
            continue  # a comment or a blank line ends no check
        if _parses(kept + head.rstrip() + "\n"):
            return Salvaged(kept + head.rstrip() + "\n", (f"the rest of {_label(stopped)}",))
    return None


def drop_unbound_tests(source: str) -> Salvaged | None:
    """Return a tests file without the tests that use a name bound nowhere, or None.

    A model's test often reads a variable another test assigned (``recipe``
    made in the test that creates it, read in the one that gets it): the name
    is bound nowhere the test can see, ruff refuses the file (F821), and the
    gate sends the whole file back. Such a test can never pass, so it is
    dropped and named, like a test that does not parse; so is a check written
    at module level (an ``assert`` or a bare call, which binds nothing) that
    reads such a name, as the whole file would fail at import. Bound means
    anywhere: at module level, in the test (its parameters, what it assigns,
    imports, catches or defines, at any depth), as a builtin, or declared
    ``global`` anywhere. None when the file does not parse, imports ``*``, has
    nothing to drop, or would keep no test: a file whose every test reads the
    name (a client never made) is for the model to fix.
    """
    tree = syntax_tree(source)
    if tree is None:
        return None
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
           for n in ast.walk(tree)):  # fmt: skip
        return None
    bound = set(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__path__"}
    bound |= {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}
    tests: list[tuple[Test, str]] = []  # each test, and how the note names it
    checks: list[ast.stmt] = []  # module-level statements that bind nothing
    for node in tree.body:
        if is_test(node):
            tests.append((node, node.name))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            bound |= bound_names(node.body, deep=False)  # its attributes, read through the class
            tests += [(m, f"{node.name}.{m.name}") for m in node.body if is_test(m)]
        elif isinstance(node, (ast.Assert, ast.Expr)):
            checks.append(node)
        bound |= bound_names([node], deep=False)
    read = [(test, label, _unbound_read(test, bound)) for test, label in tests]
    unbound: list[tuple[ast.stmt, str]] = [
        (test, f"{label} (reads `{name}`)") for test, label, name in read if name
    ]
    if len(unbound) == len(tests):
        return None  # no test would be left
    lines = source.splitlines(keepends=True)
    for check in checks:
        if name := _unbound_read(check, bound):
            unbound.append((check, f"line {check.lineno}: `{_label(lines[check.lineno - 1])}` "
                            f"(reads `{name}`)"))  # fmt: skip
    if not unbound:
        return None
    return _without(source, unbound)


PYTEST_FIXTURES = frozenset(
    {
        "request", "cache", "capsys", "capsysbinary", "capfd", "capfdbinary", "capteesys",
        "caplog", "doctest_namespace", "monkeypatch", "pytestconfig", "record_property",
        "record_testsuite_property", "record_xml_attribute", "recwarn", "subtests", "tmp_path",
        "tmp_path_factory", "tmpdir", "tmpdir_factory",
        # plugins a project's dependencies may bring (anyio with httpx, pytest-asyncio,
        # pytest-mock): a test asking for them is left for pytest to judge
        "anyio_backend", "anyio_backend_name", "anyio_backend_options", "event_loop", "mocker",
    }
)  # fmt: skip
"""The fixtures pytest itself gives (``pytest --fixtures``), and common plugins' ones."""


def fixture_name(node: ast.stmt) -> str:
    """Return the name of the fixture ``node`` defines (``@pytest.fixture``), or ""."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ""
    for decorator in node.decorator_list:
        called = decorator.func if isinstance(decorator, ast.Call) else decorator
        if last_name(called) == "fixture":
            for word in decorator.keywords if isinstance(decorator, ast.Call) else []:
                if word.arg == "name" and isinstance(word.value, ast.Constant):
                    return str(word.value.value)
            return node.name
    return ""


def fixtures_defined(source: str) -> set[str]:
    """Return the fixtures a Python file defines at its top level (a ``conftest.py``'s)."""
    tree = syntax_tree(source)
    if tree is None:
        return set()
    return {name for node in tree.body if (name := fixture_name(node))}


def _parametrized(test: Test) -> set[str] | None:
    """Return the argument names ``test``'s decorators give it, or None when one cannot be read.

    ``@pytest.mark.parametrize("a, b", ...)`` gives ``a`` and ``b``; a mark that
    gives nothing (``skip``, ``slow``) gives nothing; any other decorator (a
    ``patch``, hypothesis's ``given``) may give anything, so None.
    """
    given: set[str] = set()
    for decorator in test.decorator_list:
        called = decorator.func if isinstance(decorator, ast.Call) else decorator
        text = ast.unparse(called)
        if not text.startswith("pytest.mark."):
            return None
        if text.endswith((".parametrize", ".usefixtures")):
            if text.endswith(".usefixtures") or not isinstance(decorator, ast.Call):
                continue
            names = decorator.args[0] if decorator.args else None
            if isinstance(names, ast.Constant) and isinstance(names.value, str):
                given |= {n.strip() for n in names.value.split(",") if n.strip()}
            elif isinstance(names, (ast.List, ast.Tuple)):
                given |= {str(e.value) for e in names.elts if isinstance(e, ast.Constant)}
            else:
                return None
    return given


def drop_unfixtured_tests(
    source: str, fixtures: set[str] | frozenset[str] = frozenset()
) -> Salvaged | None:
    """Return a tests file without the tests that ask for a fixture nothing defines, or None.

    A test's parameter is a fixture pytest must find: one it gives itself
    (``PYTEST_FIXTURES``), one the file defines, one of ``fixtures`` (the
    project's ``conftest.py``), or an argument its ``parametrize`` mark gives.
    A model often writes a test's cases as parameters and forgets the mark:
    pytest reports "fixture 'bill' not found" and the test never starts. Such a
    test is dropped and named while another test stays; a test with another
    decorator, or in a class, is left to pytest. None when the file does not
    parse, has nothing to drop, or would keep no test.
    """
    tree = syntax_tree(source)
    if tree is None:
        return None
    known = PYTEST_FIXTURES | fixtures | fixtures_defined(source)
    tests = [node for node in tree.body if is_test(node)]
    lost: list[tuple[ast.stmt, str]] = []
    for test in tests:
        given = _parametrized(test)
        if given is None:
            continue
        positional = [*test.args.posonlyargs, *test.args.args]
        needed = positional[: len(positional) - len(test.args.defaults)] + [
            a
            for a, default in zip(test.args.kwonlyargs, test.args.kw_defaults, strict=True)
            if default is None
        ]  # an argument with a default is no fixture to pytest
        missing = [a.arg for a in needed if a.arg not in known | given]
        if missing:
            lost.append((test, f"{test.name} (asks for `{missing[0]}`)"))
    if not lost or len(lost) == len(tests):
        return None
    return _without(source, lost)


def _without(source: str, dropped: list[tuple[ast.stmt, str]]) -> Salvaged | None:
    """Return ``source`` without the ``dropped`` statements (decorators and all), or None."""
    lines = source.splitlines(keepends=True)
    cut: set[int] = set()
    for node, _ in dropped:
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno, *(d.lineno for d in decorators)])
        cut.update(range(first - 1, node.end_lineno or node.lineno))
    text = "".join(line for n, line in enumerate(lines) if n not in cut).rstrip() + "\n"
    if not _parses(text) or not TEST.search(text):  # a class left empty: the model's to fix
        return None
    return Salvaged(text, tuple(label for _, label in sorted(dropped, key=lambda u: u[0].lineno)))


def is_test(node: ast.AST) -> TypeGuard[Test]:
    """Say whether ``node`` defines a test function (its name begins with ``test``)."""
    return isinstance(node, Test) and node.name.startswith("test")


def _unbound_read(node: ast.stmt, bound: set[str]) -> str:
    """Return the first name ``node`` reads that is bound neither in it nor in ``bound``."""
    own = bound | bound_names([node])
    reads = (n for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))
    return next((n.id for n in reads if n.id not in own), "")
