"""The mechanical repairs of model output, as one layer: ``repair(kind, content, context)``.

A repair fixes what small models get wrong the same way every time, never
invents anything, and says what it did: each one that fires adds a note
(``Repaired.notes``) ending with its name in brackets (``... [quotes]``, the name
``repairs_off`` takes), which reaches the stage record's ``repairs`` (``python -m
eval.teams`` counts them by name). Each kind of output has one registry, applied
in this order (each entry sees the one before it's result):

``python``, a Python file as the model wrote it (``draft_file``, the build loop's candidates):
  1. ``quotes``: quotes left unescaped inside a string literal (``repairs/quotes.py``)
  2. ``stdlib-imports``: a standard-library module used, never imported
     (``repairs/missing_imports.py``)
  3. ``cut-marks``: a line that is only the mark a file shown to the model was cut with
     (``[...]``, which parses as a list), copied from its previous version
  4. ``except-names``: the name of ``except E as e:`` read after the block (Python unbinds
     it there: a NameError) kept bound, ``e = e_caught`` first in the handler

``python-tests``, a tests file as the model wrote it (``draft_file``, a path under ``tests/``
or named ``test_*.py``):
  1. ``quotes``: as for ``python``
  2. ``stdlib-imports``: as for ``python``
  3. ``pytest-import``: ``pytest.raises`` and the like with no ``import pytest``
  4. ``mock-imports``: ``MagicMock``, ``patch.object`` or ``@patch(...)`` with no import from
     ``unittest.mock``
  5. ``app-calls``: a route requested from the app itself (``app.post("/items", json=...)``,
     which declares a route) sent through its test client (``repairs/app_calls.py``)
  6. ``self-fixtures``: a fixture named as an import it returns (``def app(): return app``
     returns itself), or named as the module's app and returning a new ``FastAPI()``,
     made to return the import (``return shop.app``; ``repairs/missing_imports.py``)
  7. ``cut-marks``: as for ``python``
  8. ``broken-tests``: a file that still does not parse keeps its complete tests; the
     statements that break it (a test cut off at the token limit, an unterminated
     string) are dropped and named (``software/salvage.py``)
  9. ``module-checks``: an ``assert`` outside any test (run at import: one that fails stops
     the whole file's collection) made a test of its own, with the statements right before
     it that feed it and nothing else reads (a call of the code that exits goes in too)
  10. ``except-names``: as for ``python``

``python-in-project``, a drafted module among the project's written files (``bind_project_names``;
context: ``ProjectNames``):
  1. ``relative-imports``: in a tests file, a project module imported relatively
     (``from .checksum import digest``, which fails where the tests are no package)
     imported absolutely (``repairs/missing_imports.py``)
  2. ``absent-imports``: in a tests file, an import of a project module nothing plans
     (``from tests.common import make_file``) taken out (``repairs/absent_imports.py``)
  3. ``project-imports``: a project name used, never imported (``repairs/missing_imports.py``)
  4. ``handler-calls``: in a tests file, a route's handler called and its result read as a
     response (``post_items({...}).status_code``) sent as the request through the app's
     test client (``TestClient(app).post("/items", json={...})``; ``repairs/app_calls.py``)
  5. ``entry-calls``: in a tests file, a command line's runner given the command's words
     (``run(["a.txt"])``) sent to ``main``, ``main`` given a parsed ``Namespace`` sent to
     the runner, the program's name taken out of the words a test gives ``main``, and
     ``main()`` given ``[]`` where the file sets no ``sys.argv`` (``repairs/entry_calls.py``)
  6. ``method-aliases``: a planned function written as a class's method
     (``repairs/method_aliases.py``)
  7. ``unbound-tests``: in a tests file, the tests that read a name bound nowhere (a
     variable another test assigned), and the checks at module level that do, dropped and
     named, while another test stays (``software/salvage.py``)
  8. ``unknown-fixtures``: in a tests file, the tests asking for a fixture that neither pytest,
     the file nor the project's ``conftest.py`` defines, nor a ``parametrize`` mark gives,
     dropped and named, while another test stays (``software/salvage.py``)

``plan``, the build plan reply's JSON object (``plan_normaliser``; context:
``plan_repair.PlanContext``), all in ``repairs/plan_repair.py``:
  1. ``starting-plan``: fields left out taken from the plan pre-filled from the requirement
  2. ``plan-shape``: ``normalise_plan`` (enum case, bare strings for lists, object paths,
     repeated files, cyclic and dangling ``depends_on``, endpoint paths, repeated entries)
  3. ``unwritten-files``: files of a kind no team of the pipeline writes dropped
  4. ``tests-by-name``: a tests file planned as code planned as tests
  5. ``module-files``: a module the plan describes but leaves out of its files planned
  6. ``python-m-main``: the ``__main__.py`` that ``python -m pkg`` needs planned
  7. ``missing-tests``: a tests file planned when none is
  8. ``owners``: a file given to the one team that writes its kind

``report``, a ``TaskResult`` reply's JSON object (its normaliser in
``graph/model_io/structured.py``):
  1. ``unknown-fields``: top-level keys the contract does not know dropped
  2. ``confidence``: a confidence given as text or a percentage read as a fraction
  3. ``lists``: a bare string or object where a list belongs wrapped in one
  4. ``no-question``: an empty ``clarification_needed`` read as none

``diagram``, a stage's drafts, for a team whose checks want a mermaid diagram
(context: the run's ``BuildPlan`` or None):
  1. ``diagram``: an untyped block typed, a missing or copied diagram drawn from the plan
     (``repairs/diagram.py``)

``openapi``, a stage's drafts, for a team whose checks want an OpenAPI document:
  1. ``openapi-required``: ``required: true`` on a property's schema (Swagger 2's or JSON
     Schema draft 3's form), or the ``required`` list written among the properties, moved
     into its object's ``required`` list, where OpenAPI 3 keeps it; a boolean ``required``
     anywhere else dropped; a property given no schema (``title:`` and nothing after it)
     given the empty schema ``{}``, which accepts anything, as the blank said

Three more are made outside the registry, where what they need is at hand, and named in
``NAMES`` beside its own: ``repeats`` (a reply cut off at the token limit in a loop,
``models/loops.py``, cut after the loop's first copy, in ``structured.draft_file``);
``cut-tests`` (a tests file cut off at the token limit kept to its complete tests,
``software/salvage.salvage_cut``, there too); ``refuted-tests`` (a test that fails on any
code, examples or not: a mock's ``called`` read from a function, an option added to the
parser the code built, a request sent through the app's route decorator; taken out in
``graph/stage/verify.py`` by ``software/disagreeing_tests.py``).

Each name is unique across the kinds (``RepairName`` in ``settings/generation.py``); the
``repairs_off`` setting leaves the named ones out everywhere, so what one does for the
model a run serves is measured with it on and off. Below this layer, ``models/io.py``
repairs what any structured answer may need (JSON syntax, enum case) before a kind's
registry sees it: ``models/`` never imports the graph. Not a repair: reading a BLOCKED
report whose blockers only repeat the request as COMPLETE is the gate's policy
(``graph/gate.py``, ``settle_echoed_block``).

Why one module: the registry is the one place where a repair is named, ordered and
switched off (``repairs_off``), so the short repairs live beside their entries; the
long ones (the plan's, the diagram, quotes, imports, salvage) have modules of their own.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml

from devfactory.contracts import MAX_ARTIFACT_CHARS, Artifact, TaskResult
from devfactory.memory.packing import CUT_MARK
from devfactory.repairs import plan_repair
from devfactory.repairs.absent_imports import drop_absent_imports
from devfactory.repairs.app_calls import project_handlers, request_handlers, send_through_client
from devfactory.repairs.diagram import repair_diagram
from devfactory.repairs.entry_calls import send_to_entries
from devfactory.repairs.method_aliases import alias_methods
from devfactory.repairs.missing_imports import (
    absolute_project_imports,
    add_missing_imports,
    add_mock_imports,
    add_project_imports,
    add_pytest_import,
    return_imports,
)
from devfactory.repairs.quotes import escape_inner_quotes
from devfactory.software.disagreeing_tests import REFUTED
from devfactory.software.plan import BuildPlan, FileRole
from devfactory.software.salvage import (
    Salvaged,
    drop_unbound_tests,
    drop_unfixtured_tests,
    salvage_tests,
)
from devfactory.software.source import bound_by, bound_names, shallow, syntax_tree


class RepairKind(StrEnum):
    """The kinds of model output the repairs know, one registry each."""

    PYTHON = "python"
    PYTHON_TESTS = "python-tests"
    PYTHON_IN_PROJECT = "python-in-project"
    PLAN = "plan"
    REPORT = "report"
    DIAGRAM = "diagram"
    OPENAPI = "openapi"


@dataclass(frozen=True)
class Repaired:
    """The content after the repairs, and one note for each repair that fired."""

    content: Any
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Repair:
    """One registered repair: its name, the kind of output it applies to, and what it does."""

    name: str
    kind: RepairKind
    apply: Callable[[Any, Any], Repaired]  # (content, context) -> Repaired


@dataclass(frozen=True)
class ProjectNames:
    """What a drafted module is repaired against: the project's written modules, its plan.

    Attributes:
        modules: each written module of the project (``chessmoves``) with its public names.
        planned: the names the plan gives this module.
        tests: whether the module is a tests file.
        fixtures: the fixtures the project's written ``conftest.py`` files define.
        sources: the source of each written code module of the project, by module name.
        every: every Python module the plan names or the project has written (tests too).

    """

    modules: Mapping[str, Sequence[str]]
    planned: Sequence[str]
    tests: bool = False
    fixtures: frozenset[str] = frozenset()
    sources: Mapping[str, str] = field(default_factory=dict)
    every: frozenset[str] = frozenset()


def _quotes(source: str, _: object) -> Repaired:
    fixed, rows = escape_inner_quotes(source)
    if not rows:
        return Repaired(source)
    return Repaired(fixed, (f"quotes inside a string escaped (line {', '.join(map(str, rows))})",))


def _imported(fixed: str, lines: Iterable[str]) -> Repaired:
    """Return ``fixed`` with a note for each import line added."""
    return Repaired(fixed, tuple(f"`{line}` added (used, never imported)" for line in lines))


def _stdlib_imports(source: str, _: object) -> Repaired:
    fixed, added = add_missing_imports(source)
    return _imported(fixed, (f"import {name}" for name in added))


def _pytest_import(source: str, _: object) -> Repaired:
    fixed, added = add_pytest_import(source)
    return _imported(fixed, (f"import {name}" for name in added))


def _mock_imports(source: str, _: object) -> Repaired:
    return _imported(*add_mock_imports(source))


def _app_calls(source: str, _: object) -> Repaired:
    fixed, apps = send_through_client(source)
    sent = ", ".join(f"`{app}`" for app in apps)
    return Repaired(fixed, (f"route requests on {sent} sent through TestClient",) if apps else ())


def _self_fixtures(source: str, _: object) -> Repaired:
    fixed, names = return_imports(source)
    made = ", ".join(f"`{name}`" for name in names)
    return Repaired(
        fixed,
        (f"fixtures returning themselves (or a new FastAPI()) made to return their import: {made}",)
        if names
        else (),
    )


def _broken_tests(source: str, _: object) -> Repaired:
    saved = salvage_tests(source)
    if saved is None:
        return Repaired(source)
    dropped = ", ".join(f"`{name}`" for name in saved.dropped) or "nothing"
    return Repaired(
        saved.source, (f"the file did not parse: kept its complete tests, dropped {dropped}",)
    )


def _spans_lines(node: ast.AST) -> bool:
    """Say whether ``node`` holds a string written across lines (indenting it would change it)."""
    return any(
        isinstance(part, ast.Constant | ast.JoinedStr) and part.lineno != part.end_lineno
        for part in ast.walk(node)
    )


def _module_checks(source: str, _: object) -> Repaired:
    """Make each ``assert`` at a tests file's top level a test of its own.

    A check written outside any test runs when pytest imports the file: one that
    fails is a collection error, and not one test of the file runs. As a test of
    its own (``test_check_line_12``) it is one failure among the others. The plain
    statements right before it that feed it (``result = main([...])``) go into its
    test with it (``_feeding``): left at the top level, a call of the code that
    exits or raises would still stop the whole file as pytest imports it.
    """
    tree = syntax_tree(source)
    if tree is None:
        return Repaired(source)
    taken = bound_names([tree])
    lines = source.splitlines(keepends=True)
    body = tree.body
    moved = []
    for at in reversed(range(len(body))):
        node = body[at]
        name = f"test_check_line_{node.lineno}"
        if not isinstance(node, ast.Assert) or _spans_lines(node) or name in taken:
            continue
        first = body[_feeding(body, at)].lineno - 1
        last = (node.end_lineno or node.lineno) - 1
        test = ["    " + line if line.strip() else line for line in lines[first : last + 1]]
        test[-1] = test[-1] if test[-1].endswith("\n") else test[-1] + "\n"
        lines[first : last + 1] = [f"\n\ndef {name}():\n", *test, "\n\n"]
        moved.append(node.lineno)
    if not moved:
        return Repaired(source)
    where = ", ".join(map(str, sorted(moved)))
    return Repaired("".join(lines), (f"checks outside any test made tests (line {where})",))


_FEEDS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.With)


def _feeding(body: list[ast.stmt], at: int) -> int:
    """Return where the statements that feed the top-level check ``body[at]`` begin.

    An assignment, a call or a ``with`` right before it moves with it, nearest
    first, while each is alone on its lines and what it binds is read nowhere
    else: in no function or class (they run after the import, and would find it
    gone) and at the top level by no statement after the check before one binds
    it again. Nor may a moved statement read a name it or a statement moved after
    it binds (``count += 1``: in the test the name is a local, not bound yet), or
    one bound again after the check (in the test it would read the later value).
    """
    later = bound_names(body[at + 1 :], deep=False)
    start = at
    while start > 0:
        node = body[start - 1]
        if not isinstance(node, _FEEDS) or _spans_lines(node) or node.col_offset:
            break
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            break  # the module's docstring, or a string left alone
        if start > 1 and (body[start - 2].end_lineno or 0) >= node.lineno:
            break  # it shares a line with the statement before it
        binds = bound_names([node])
        if _reads(node) & (binds | bound_names(body[start:at]) | later):
            break  # in a function such a name is its local, not bound yet, or bound again
        if not all(_read_only_here(body, at, name) for name in binds):
            break
        start -= 1
    return start


def _reads(node: ast.AST) -> set[str]:
    """Return the names read anywhere in ``node`` (``count += 1`` reads ``count``)."""
    read = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
            read.add(inner.id)
        elif isinstance(inner, ast.AugAssign) and isinstance(inner.target, ast.Name):
            read.add(inner.target.id)
    return read


def _read_only_here(body: list[ast.stmt], at: int, name: str) -> bool:
    """Say whether ``name`` is read by no definition, nor after ``body[at]`` until bound again."""
    defines = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    if any(name in _reads(d) - bound_names(d.body) for d in body if isinstance(d, defines)):
        return False
    for node in body[at + 1 :]:
        if isinstance(node, defines):
            continue
        if name in _reads(node):
            return False
        if name in bound_names([node], deep=False):
            return True
    return True


def _cut_marks(source: str, _: object) -> Repaired:
    """Drop the lines that are only the mark a shown file was cut with (``[...]``).

    In a file that parses, only a statement that is the mark and nothing else
    (a list holding an ellipsis, alone on its line); in one that does not, every
    such line, before the file's complete tests are salvaged.
    """
    lines = source.splitlines(keepends=True)
    tree = syntax_tree(source)
    if tree is None:
        rows = [n for n, line in enumerate(lines, 1) if line.strip() == CUT_MARK]
    else:
        rows = sorted(
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr)
            and ast.unparse(node) == CUT_MARK
            and lines[node.lineno - 1].strip() == CUT_MARK
        )
    if not rows:
        return Repaired(source)
    fixed = "".join(line for n, line in enumerate(lines, 1) if n not in rows)
    if tree is not None and syntax_tree(fixed) is None:
        return Repaired(source)  # a body that was only the mark
    where = ", ".join(map(str, rows))
    return Repaired(fixed, (f"`{CUT_MARK}` copied from a file shown cut dropped (line {where})",))


def _except_names(source: str, _: object) -> Repaired:
    """Keep a caught exception's name bound where the code reads it after its handler.

    Python unbinds ``e`` when ``except E as e:`` ends, so ``assert e.code == 2``
    after the block is a NameError (ruff's F821). Each handler of that name in the
    scope catches as ``e_caught`` and starts with ``e = e_caught``: ``e`` outlives
    the block, as the writer meant. Only a name its scope binds nowhere else.
    """
    tree = syntax_tree(source)
    if tree is None:
        return Repaired(source)
    scopes = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)),
    ]
    kept: list[tuple[ast.ExceptHandler, str]] = []
    for scope in scopes:
        nodes = [n for top in scope.body for n in (top, *shallow(top))]
        for name in {h.name for h in nodes if isinstance(h, ast.ExceptHandler) and h.name}:
            handlers = [h for h in nodes if isinstance(h, ast.ExceptHandler) and h.name == name]
            if any(name in bound_by(n) for n in nodes if not isinstance(n, ast.ExceptHandler)):
                continue
            if any(_read_after(n, name, handlers) for n in nodes):
                kept += [(h, name) for h in handlers]
    if not kept:
        return Repaired(source)
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | bound_names([tree])
    lines = source.splitlines(keepends=True)
    for handler, name in sorted(kept, key=lambda k: k[0].lineno, reverse=True):
        new = next(
            f"{name}_caught{n or ''}" for n in range(100) if f"{name}_caught{n or ''}" not in taken
        )
        _rebind(lines, handler, name, new)
    fixed = "".join(lines)
    if syntax_tree(fixed) is None:
        return Repaired(source)
    rows: dict[str, list[int]] = {}
    for handler, name in sorted(kept, key=lambda k: k[0].lineno):
        rows.setdefault(name, []).append(handler.lineno)
    notes = tuple(
        f"`{name}` of `except ... as {name}` kept bound for its read after the block "
        f"(line {', '.join(map(str, rows[name]))})"
        for name in sorted(rows)
    )
    return Repaired(fixed, notes)


def _read_after(node: ast.AST, name: str, handlers: Sequence[ast.ExceptHandler]) -> bool:
    """Say whether ``node`` reads ``name`` after one of ``handlers`` and inside none of them."""
    if not (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)):
        return False
    at = (node.lineno, node.col_offset)
    inside = any(
        (h.lineno, h.col_offset) <= at <= (h.end_lineno or 0, h.end_col_offset or 0)
        for h in handlers
    )
    return not inside and any(at > (h.end_lineno or 0, h.end_col_offset or 0) for h in handlers)


def _rebind(lines: list[str], handler: ast.ExceptHandler, name: str, new: str) -> None:
    """Make ``except E as name:`` catch as ``new`` and bind ``name = new`` first, in ``lines``."""
    first = handler.body[0]
    row = first.lineno - 1
    column = len(lines[row].encode()[: first.col_offset].decode(errors="replace"))
    if first.lineno == handler.lineno or lines[row][:column].strip():  # `except E as e: pass`
        lines[row] = f"{lines[row][:column]}{name} = {new}; {lines[row][column:]}"
    else:
        lines.insert(row, f"{lines[row][:column]}{name} = {new}\n")
    for at in range(handler.lineno - 1, first.lineno):
        fixed = re.sub(rf"\bas(\s+){re.escape(name)}\b", rf"as\g<1>{new}", lines[at], count=1)
        if fixed != lines[at]:
            lines[at] = fixed
            return


def is_tests_file(path: str) -> bool:
    """Say whether a drafted Python file is a tests file (under ``tests/`` or ``test_*.py``)."""
    name = path.rsplit("/", 1)[-1]
    return path.startswith("tests/") or "/tests/" in path or name.startswith("test_")


def _relative_imports(source: str, names: ProjectNames) -> Repaired:
    if not names.tests:
        return Repaired(source)
    fixed, changed = absolute_project_imports(source, list(names.modules))
    return Repaired(fixed, tuple(f"`{old}` -> `{new}` (a relative import)" for old, new in changed))


def _absent_imports(source: str, names: ProjectNames) -> Repaired:
    fixed, taken = drop_absent_imports(source, names.every) if names.tests else (source, [])
    return Repaired(fixed, tuple(f"{line} taken out" for line in taken))


def _project_imports(source: str, names: ProjectNames) -> Repaired:
    return _imported(*add_project_imports(source, names.modules))


def _handler_calls(source: str, names: ProjectNames) -> Repaired:
    handlers = project_handlers(names.sources) if names.tests else {}
    fixed, called = request_handlers(source, handlers)
    sent = ", ".join(f"`{name}`" for name in called)
    return Repaired(
        fixed, (f"calls of {sent} read as responses sent as requests",) if called else ()
    )


def _entry_calls(source: str, names: ProjectNames) -> Repaired:
    fixed, changed = send_to_entries(source, names.sources) if names.tests else (source, [])
    return Repaired(fixed, tuple(changed))


def _method_aliases(source: str, names: ProjectNames) -> Repaired:
    fixed, lines = alias_methods(source, names.planned)
    return Repaired(fixed, tuple(f"`{a}` added (planned here, written as a method)" for a in lines))


def _dropped(source: str, saved: Salvaged | None, why: str) -> Repaired:
    """Return the tests ``saved`` kept, the note naming those dropped for ``why``."""
    if saved is None:
        return Repaired(source)
    return Repaired(saved.source, (f"{why} dropped: {', '.join(saved.dropped)}",))


def _unbound_tests(source: str, names: ProjectNames) -> Repaired:
    saved = drop_unbound_tests(source) if names.tests else None
    return _dropped(source, saved, "tests reading a name bound nowhere")


def _unknown_fixtures(source: str, names: ProjectNames) -> Repaired:
    saved = drop_unfixtured_tests(source, names.fixtures) if names.tests else None
    return _dropped(source, saved, "tests asking for a fixture nothing defines")


PlanStep = Callable[[dict[str, Any], plan_repair.PlanContext, list[str]], dict[str, Any]]


def _plan(step: PlanStep) -> Callable[[Any, Any], Repaired]:
    """Return a plan step (``data, context, repairs -> data``) as a registry entry."""

    def apply(data: dict[str, Any], context: plan_repair.PlanContext) -> Repaired:
        notes: list[str] = []
        data = step(data, context, notes)
        return Repaired(data, tuple(notes))

    return apply


_LIST_FIELDS = ("blockers", "assumptions_made", "verified_facts", "artifacts")


def _unknown_fields(data: dict[str, Any], _: object) -> Repaired:
    extra = sorted(set(data) - set(TaskResult.model_fields))
    if not extra:
        return Repaired(data)
    kept = {k: v for k, v in data.items() if k in TaskResult.model_fields}
    return Repaired(kept, (f"dropped unknown fields {extra}",))


def _confidence(data: dict[str, Any], _: object) -> Repaired:
    notes = []
    conf = data.get("confidence")
    if isinstance(conf, str):
        try:
            conf = float(conf.strip().rstrip("%")) / (100 if conf.strip().endswith("%") else 1)
            notes.append("confidence parsed from text")
        except ValueError:
            pass
    if isinstance(conf, int | float) and 1 < conf <= 100:
        notes.append(f"confidence {conf} read as a percentage")
        conf = conf / 100
    if conf is not None:
        data["confidence"] = conf
    return Repaired(data, tuple(notes))


def _lists(data: dict[str, Any], _: object) -> Repaired:
    notes = []
    for key in _LIST_FIELDS:
        if isinstance(data.get(key), str | dict):
            notes.append(f"{key} wrapped in a list")
            data[key] = [data[key]] if data[key] else []
        elif data.get(key) is None and key in data:
            data[key] = []
    return Repaired(data, tuple(notes))


def _no_question(data: dict[str, Any], _: object) -> Repaired:
    if data.get("clarification_needed") in ("", {}, "null", "none", "None"):
        data["clarification_needed"] = None
    return Repaired(data)


def _diagram(drafts: Sequence[Artifact], plan: BuildPlan | None) -> Repaired:
    copied = [d.model_dump(mode="json") for d in drafts]  # the caller's drafts stay as they were
    notes = tuple(repair_diagram(copied, plan))
    fixed = [d.with_content(c["content"]) for d, c in zip(drafts, copied, strict=True)]
    return Repaired(fixed, notes)


_SCHEMA_ONE = ("items", "not", "additionalProperties", "contains", "propertyNames")
_SCHEMA_MANY = ("allOf", "anyOf", "oneOf", "prefixItems")


def _mend_schema(schema: Any, where: str, notes: list[str]) -> None:
    """Mend one schema object in place (``openapi-required``) and every schema inside it."""
    if not isinstance(schema, dict):
        return
    properties = schema.get("properties")
    if isinstance(properties, dict):
        moved: list[str] = []
        inside = properties.get("required")
        if isinstance(inside, list) and all(isinstance(n, str) for n in inside):
            moved = properties.pop("required")  # a list is no property's schema
            notes.append(f"{where}: the required list written among the properties moved out")
        flagged: list[str] = []
        for name, prop in properties.items():
            if prop is None:
                properties[name] = {}
                notes.append(f"{where}.properties.{name}: no schema, given the empty one {{}}")
            elif isinstance(prop, dict) and isinstance(prop.get("required"), bool):
                if prop.pop("required"):
                    flagged.append(str(name))
        if flagged:
            notes.append(
                f"{where}: `required: true` on {', '.join(flagged)} moved into the object's "
                "required list"
            )
        if moved or flagged:
            listed = schema.get("required")
            listed = list(listed) if isinstance(listed, list) else []
            added = (n for n in dict.fromkeys([*moved, *flagged]) if n not in listed)
            schema["required"] = [*listed, *added]
        for name, prop in properties.items():
            _mend_schema(prop, f"{where}.properties.{name}", notes)
    if isinstance(schema.get("required"), bool):
        schema.pop("required")
        notes.append(f"{where}: a boolean `required` dropped (a schema lists its required names)")
    for key in _SCHEMA_ONE:
        _mend_schema(schema.get(key), f"{where}.{key}", notes)
    for key in _SCHEMA_MANY:
        inners = schema.get(key)
        for n, inner in enumerate(inners if isinstance(inners, list) else ()):
            _mend_schema(inner, f"{where}.{key}[{n}]", notes)


def _mend_document(node: Any, where: str, notes: list[str]) -> None:
    """Find each schema of an OpenAPI document (a ``schema`` value, a component) and mend it."""
    if isinstance(node, dict):
        for key, value in node.items():
            at = f"{where}.{key}" if where else str(key)
            if key == "schema":
                _mend_schema(value, at, notes)
            elif key == "schemas" and where == "components" and isinstance(value, dict):
                for name, schema in value.items():
                    _mend_schema(schema, f"{at}.{name}", notes)
            else:
                _mend_document(value, at, notes)
    elif isinstance(node, list):
        for n, item in enumerate(node):
            _mend_document(item, f"{where}[{n}]", notes)


def _openapi_required(drafts: Sequence[Artifact], _: object) -> Repaired:
    fixed: list[Artifact] = []
    notes: list[str] = []
    for draft in drafts:
        doc = _openapi_document(draft)
        found: list[str] = []
        if doc is not None:
            _mend_document(doc, "", found)
        if not found:
            fixed.append(draft)
            continue
        if draft.path.endswith(".json"):
            content = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        else:
            content = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
        if len(content) > MAX_ARTIFACT_CHARS:
            fixed.append(draft)
            continue
        fixed.append(draft.with_content(content))
        shown = "; ".join(found[:4]) + (f"; {len(found) - 4} more" if len(found) > 4 else "")
        notes.append(f"{draft.path}: {shown}")
    return Repaired(fixed, tuple(notes))


def _openapi_document(draft: Artifact) -> dict[Any, Any] | None:
    """Return the draft read as an OpenAPI document (YAML keys: `200:` is an int), or None."""
    if not draft.path.endswith((".yaml", ".yml", ".json")):
        return None
    try:
        doc = yaml.safe_load(draft.content)  # JSON is YAML
    except yaml.YAMLError:
        return None
    return doc if isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) else None


Apply = Callable[[Any, Any], Repaired]
_ENTRIES: dict[RepairKind, list[tuple[str, Apply]]] = {
    RepairKind.PYTHON: [
        ("quotes", _quotes),
        ("stdlib-imports", _stdlib_imports),
        ("cut-marks", _cut_marks),
        ("except-names", _except_names),
    ],
    RepairKind.PYTHON_TESTS: [
        ("quotes", _quotes),
        ("stdlib-imports", _stdlib_imports),
        ("pytest-import", _pytest_import),
        ("mock-imports", _mock_imports),
        ("app-calls", _app_calls),
        ("self-fixtures", _self_fixtures),
        ("cut-marks", _cut_marks),
        ("broken-tests", _broken_tests),
        ("module-checks", _module_checks),
        ("except-names", _except_names),
    ],
    RepairKind.PYTHON_IN_PROJECT: [
        ("relative-imports", _relative_imports),
        ("absent-imports", _absent_imports),
        ("project-imports", _project_imports),
        ("handler-calls", _handler_calls),
        ("entry-calls", _entry_calls),
        ("method-aliases", _method_aliases),
        ("unbound-tests", _unbound_tests),
        ("unknown-fixtures", _unknown_fixtures),
    ],
    RepairKind.PLAN: [
        ("starting-plan", _plan(plan_repair.take_start)),
        ("plan-shape", _plan(lambda data, _, notes: plan_repair.normalise_plan(data, notes))),
        ("unwritten-files", _plan(plan_repair.drop_unwritten)),
        ("tests-by-name", _plan(plan_repair.retag_tests)),
        ("module-files", _plan(plan_repair.add_module_files)),
        ("python-m-main", _plan(plan_repair.add_main)),
        ("missing-tests", _plan(plan_repair.add_missing_tests)),
        ("owners", _plan(plan_repair.assign_owners)),
    ],
    RepairKind.REPORT: [
        ("unknown-fields", _unknown_fields),
        ("confidence", _confidence),
        ("lists", _lists),
        ("no-question", _no_question),
    ],
    RepairKind.DIAGRAM: [("diagram", _diagram)],
    RepairKind.OPENAPI: [("openapi-required", _openapi_required)],
}
REGISTRY: dict[RepairKind, tuple[Repair, ...]] = {
    kind: tuple(Repair(name, kind, apply) for name, apply in entries)
    for kind, entries in _ENTRIES.items()
}
REPEATS = "repeats"
"""The name of the repair that drops a looping reply's repeats (``draft_file``)."""
CUT_TESTS = "cut-tests"
"""The name of the repair that keeps a cut-off tests file's complete tests (``draft_file``)."""
NAMES: tuple[str, ...] = (
    *dict.fromkeys(entry.name for entries in REGISTRY.values() for entry in entries),
    REPEATS,
    CUT_TESTS,
    REFUTED,
)
"""Every repair's name, the registry's and those the stage makes over a test report."""


def repair(
    kind: RepairKind, content: Any, context: Any = None, off: Collection[str] = ()
) -> Repaired:
    """Apply ``kind``'s repairs to ``content`` in the registry's order; return it and the notes.

    Each note ends with the name of the repair that made it (``[quotes]``).
    ``context`` is what the kind's repairs need (see the module's docstring);
    ``content`` that needs no repair comes back as it is, with no notes. The
    repairs named in ``off`` are left out (the ``repairs_off`` setting: what
    one does for a model is measured with it on and off).
    """
    notes: list[str] = []
    for entry in REGISTRY[kind]:
        if entry.name in off:
            continue
        done = entry.apply(content, context)
        content = done.content
        notes += [f"{note} [{entry.name}]" for note in done.notes]
    return Repaired(content, tuple(notes))


def plan_normaliser(
    owners: Mapping[str, Sequence[FileRole]],
    start: Mapping[str, Any] | None = None,
    off: Collection[str] = (),
) -> Callable[[dict[str, Any], list[str]], dict[str, Any]]:
    """Return the ``plan`` repairs as ``ask_structured``'s normaliser.

    ``owners`` maps each team of the pipeline to the kinds of file it writes;
    ``start`` is the plan pre-filled from the requirement's names
    (``plan_start``), where the fields the reply leaves out are taken from;
    ``off`` names repairs left out (``repair``).
    """
    context = plan_repair.PlanContext(owners, start)

    def normalise(data: dict[str, Any], repairs: list[str]) -> dict[str, Any]:
        fixed = repair(RepairKind.PLAN, data, context, off)
        repairs.extend(fixed.notes)
        return fixed.content

    return normalise
