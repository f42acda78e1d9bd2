"""The import a Python draft uses and forgot: ``re.sub(...)`` with no ``import re``.

Small models often use a standard-library module by name and never import
it (ruff's F821, a NameError when it runs). Only that case is repaired (and, in
a tests file, ``pytest`` (``add_pytest_import``) and ``unittest.mock``'s names
where nothing else could be meant (``add_mock_imports``)): a
name used as ``name.attribute`` that is a standard-library module with
those attributes and is bound nowhere in the file gets ``import name`` after the docstring and
``from __future__`` imports. Anything else (a name from a third-party
package, ``Path`` without ``from pathlib import Path``) is left to the checks.

The same holds for the project's own names: a tests file that calls
``parse_move`` and never imports it gets ``from chessmoves import parse_move`` when
exactly one written module of the plan defines ``parse_move``
(``add_project_imports``). A tests file that imports a project module
relatively (``from .checksum import digest``), where the tests are no package
of the project's modules, gets the absolute import (``from checksum import
digest``, ``absolute_project_imports``): run as pytest runs it, the relative one
fails with "attempted relative import with no known parent package".
"""

from __future__ import annotations

import ast
import builtins
import importlib
import sys
from collections.abc import Collection, Mapping, Sequence

from devfactory.software.plan import BuildPlan, FileRole, module_name
from devfactory.software.salvage import fixture_name
from devfactory.software.source import bound_names, last_name, public_names, syntax_tree

_NEVER = frozenset({"this", "antigravity"})  # importing them acts (prints, opens a browser)


def _offers(name: str, attrs: set[str]) -> bool:
    """Say whether ``name`` is a standard-library module that has every one of ``attrs``.

    ``datetime.now()`` with no import meant ``from datetime import datetime``:
    ``import datetime`` would not fix it, so it is not added.
    """
    if name not in sys.stdlib_module_names or name.startswith("_") or name in _NEVER:
        return False
    try:
        module = sys.modules.get(name) or importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a module this platform lacks
        return False
    return all(hasattr(module, attr) for attr in attrs)


_BY_NAME = frozenset({"setattr", "delattr", "getattr", "hasattr", "object"})


def _patched(node: ast.AST) -> tuple[str, str] | None:
    """Return the module and attribute a call names as a value and a string, if it does.

    ``monkeypatch.setattr(hashlib, "sha256", ...)``, ``patch.object(hashlib, "md5")``
    and the built-in ``setattr``/``getattr`` use ``hashlib.sha256`` though the text
    holds no such attribute: the module is passed bare, its attribute by name.
    """
    if not isinstance(node, ast.Call) or len(node.args) < 2:
        return None
    target, attr = node.args[0], node.args[1]
    if last_name(node.func) not in _BY_NAME or not isinstance(target, ast.Name):
        return None
    if not isinstance(attr, ast.Constant) or not isinstance(attr.value, str):
        return None
    return target.id, attr.value


def add_missing_imports(source: str) -> tuple[str, list[str]]:
    """Return ``source`` with the standard-library imports it forgot, and their names.

    A module counts as used where an attribute of it is read (``re.sub``) or
    named beside it as a string (``monkeypatch.setattr(hashlib, "md5", ...)``),
    and is imported when the standard library's module of that name has each.
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []  # the syntax check reports it
    bound = bound_names([tree])
    used: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            used.setdefault(node.value.id, set()).add(node.attr)
        elif patched := _patched(node):
            used.setdefault(patched[0], set()).add(patched[1])
    missing = sorted(
        name for name, attrs in used.items() if name not in bound and _offers(name, attrs)
    )
    if not missing:
        return source, []
    return insert_imports(source, tree, [f"import {name}" for name in missing]), missing


def add_pytest_import(source: str) -> tuple[str, list[str]]:
    """Return a tests file with ``import pytest`` when it uses ``pytest.x`` and never binds it.

    pytest is in every environment tests run in, so the import is always right.
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []
    used = any(
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "pytest"
        for node in ast.walk(tree)
    )
    if not used or "pytest" in bound_names([tree]):
        return source, []
    return insert_imports(source, tree, ["import pytest"]), ["pytest"]


def return_imports(source: str) -> tuple[str, list[str]]:
    """Return a tests file whose fixtures named as an import they return return that import.

    After ``from shop import app``, a fixture ``def app(): return app`` binds ``app``
    again with its ``def``: it returns itself (the fixture function), never the app, and
    every test asking for it gets a function. One that returns a new ``FastAPI()`` gives
    every test an app with no route (404 on every path) under the name of the module's
    app. Such a fixture returns ``shop.app``, with ``import shop`` where the file binds
    no ``shop``. Also the fixtures' names.
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []
    imported = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
        for alias in node.names
    }
    whole = {
        a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names if not a.asname
    }
    bound = bound_names([tree])
    edits: list[tuple[ast.AST, str]] = []
    imports: list[str] = []
    names: list[str] = []
    for node in tree.body:
        name = fixture_name(node)
        body = [s for s in getattr(node, "body", []) if not _is_docstring(s)]
        if not name or name not in imported or len(body) != 1:
            continue
        given = body[0].value if isinstance(body[0], ast.Return) else None
        module = imported[name].rsplit(".", 1)[0]
        top = module.split(".")[0]
        itself = isinstance(given, ast.Name) and given.id == name
        empty_app = (
            isinstance(given, ast.Call)
            and last_name(given.func) == "FastAPI"
            and top not in _WEB_FRAMEWORKS
        )
        if given is None or not (itself or empty_app):
            continue  # it returns something of its own
        if top in bound and module not in whole:
            continue  # the module's name is the file's for something else
        edits.append((given, imported[name]))
        names.append(name)
        if module not in whole and f"import {module}" not in imports:
            imports.append(f"import {module}")
    if not edits:
        return source, []
    fixed = replace_nodes(source, edits)
    fixed = insert_imports(fixed, ast.parse(fixed), imports) if imports else fixed
    return fixed, names


_WEB_FRAMEWORKS = frozenset({"fastapi", "starlette"})  # their FastAPI is the class itself


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


MOCK_CLASSES = frozenset(
    {"MagicMock", "Mock", "AsyncMock", "PropertyMock", "NonCallableMock", "mock_open"}
)
_PATCH_ATTRS = frozenset({"object", "dict", "multiple", "stopall"})


def add_mock_imports(source: str) -> tuple[str, list[str]]:
    """Return a tests file with ``from unittest.mock import ...`` for the mock names it forgot.

    Only names nothing else offers a test: the mock classes (``MOCK_CLASSES``),
    and ``patch`` where it can only be ``unittest.mock``'s: ``patch.object(...)``
    and its other attributes, or ``patch(...)`` as a decorator or in a ``with``
    (a project's own ``patch``, a version's, is called plainly). Each only when
    bound nowhere in the file.
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []
    used: set[str] = set()
    places = [
        *(d for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef
          | ast.ClassDef) for d in n.decorator_list),
        *(i.context_expr for n in ast.walk(tree) if isinstance(n, ast.With | ast.AsyncWith)
          for i in n.items),
    ]  # fmt: skip
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in MOCK_CLASSES:
            used.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "patch"
            and node.attr in _PATCH_ATTRS
        ):
            used.add("patch")
    for place in places:
        call = place.func if isinstance(place, ast.Call) else place
        if isinstance(call, ast.Name) and call.id == "patch":
            used.add("patch")
    missing = sorted(used - bound_names([tree]))
    if not missing:
        return source, []
    line = f"from unittest.mock import {', '.join(missing)}"
    return insert_imports(source, tree, [line]), [line]


def add_project_imports(source: str, modules: Mapping[str, Sequence[str]]) -> tuple[str, list[str]]:
    """Import the project's own names a file uses and never binds; return it and the lines.

    ``modules`` maps each written module of the project (``chessmoves``) to its
    public names; a name is imported only from the one module that defines it.
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []
    unbound = (
        {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        - bound_names([tree])
        - set(dir(builtins))
    )
    found: dict[str, list[str]] = {}
    for module, names in modules.items():
        for name in set(names) & unbound:
            found.setdefault(name, []).append(module)
    wanted: dict[str, list[str]] = {}
    for name, where in sorted(found.items()):
        if len(where) == 1:
            wanted.setdefault(where[0], []).append(name)
    lines = [f"from {module} import {', '.join(names)}" for module, names in wanted.items()]
    return (insert_imports(source, tree, lines), lines) if lines else (source, [])


def _project_module(relative: str, modules: Collection[str]) -> str | None:
    """Return the one project module ``relative`` (the text after the dots) names, if one does."""
    found = [m for m in modules if m == relative or m.endswith(f".{relative}")]
    return found[0] if len(found) == 1 else None


def _absolute(node: ast.ImportFrom, modules: Collection[str]) -> ast.stmt | None:
    """Return ``node``, a relative import of project modules, as an absolute one, if it is one."""
    if node.module is not None:
        full = _project_module(node.module, modules)
        return None if full is None else ast.ImportFrom(full, node.names, 0)
    named = {a.name: _project_module(a.name, modules) for a in node.names}
    fulls = [full for full in named.values() if full is not None]
    if not fulls or len(fulls) < len(named):
        return None
    packages = {full.rpartition(".")[0] for full in fulls}
    if packages == {""}:
        return ast.Import([ast.alias(named[a.name] or a.name, a.asname) for a in node.names])
    return ast.ImportFrom(packages.pop(), node.names, 0) if len(packages) == 1 else None


def absolute_project_imports(
    source: str, modules: Collection[str]
) -> tuple[str, list[tuple[str, str]]]:
    """Write a tests file's relative imports of project ``modules`` absolute; return each change.

    ``from .checksum import digest`` becomes ``from checksum import digest`` when
    exactly one written module of the project is ``checksum`` or ends in
    ``.checksum``; ``from . import checksum`` becomes ``import checksum``. A relative
    import naming no project module (a helper of the tests' own package) is left.
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []
    relative = (n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0)
    made = [(node, _absolute(node, modules)) for node in relative]
    changes = [(node, ast.unparse(absolute)) for node, absolute in made if absolute is not None]
    ordered = sorted(changes, key=lambda c: c[0].lineno)
    return replace_nodes(source, changes), [(ast.unparse(node), text) for node, text in ordered]


def replace_nodes(source: str, changes: Sequence[tuple[ast.AST, str]]) -> str:
    """Return ``source`` with each node's text replaced (of two that overlap, the later)."""
    lines = source.splitlines(keepends=True)
    done = (len(lines) + 1, 0)
    for node, text in sorted(changes, key=lambda c: _span(c[0])[:2], reverse=True):
        row, column, end_row, end_column = _span(node)
        if (end_row, end_column) > done:
            continue
        head = lines[row - 1].encode()[:column].decode()  # the offsets count UTF-8 bytes
        tail = lines[end_row - 1].encode()[end_column:].decode()
        lines[row - 1 : end_row] = [head + text + tail]
        done = (row, column)
    return "".join(lines)


def _span(node: ast.AST) -> tuple[int, int, int, int]:
    row, column = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
    return (
        row,
        column,
        getattr(node, "end_lineno", None) or row,
        getattr(node, "end_col_offset", None) or column,
    )


def project_modules(plan: BuildPlan, written: Mapping[str, str], path: str) -> dict[str, list[str]]:
    """Return each written Python code module of the plan but ``path``, with its public names."""
    modules = {}
    for item in plan.files:
        name = module_name(item.path) if item.path.endswith(".py") else ""
        if item.role is FileRole.CODE and item.path != path and item.path in written and name:
            if not name.endswith("__main__"):
                modules[name] = public_names(written[item.path])
    return modules


def project_sources(plan: BuildPlan, written: Mapping[str, str]) -> dict[str, str]:
    """Return the source of each written Python code module of the plan, by module name."""
    return {
        module_name(item.path): written[item.path]
        for item in plan.files
        if item.role is FileRole.CODE and item.path.endswith(".py") and item.path in written
    }


def insert_imports(source: str, tree: ast.Module, imports: Sequence[str]) -> str:
    """Put ``imports`` after the module's docstring and ``from __future__`` imports."""
    after = 0
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (docstring and after == 0 and node is tree.body[0]) and not future:
            break
        after = node.end_lineno or after
    lines = source.splitlines(keepends=True)
    if after and not lines[after - 1].endswith("\n"):
        lines[after - 1] += "\n"
    lines[after:after] = [f"{line}\n" for line in imports]
    return "".join(lines)
