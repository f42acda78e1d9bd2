"""The import a Python draft uses and forgot: ``re.sub(...)`` with no ``import re``.

Small models often use a standard-library module by name and never import
it (ruff's F821, a NameError when it runs). Only that case is repaired: a
name used as ``name.attribute`` that is a standard-library module with
those attributes and is bound nowhere in the file gets ``import name`` after the docstring and
``from __future__`` imports. Anything else (a name from a third-party
package, ``Path`` without ``from pathlib import Path``) is left to the checks.
"""

from __future__ import annotations

import ast
import importlib
import sys


def bound_names(tree: ast.AST) -> set[str]:
    """Return every name the module binds anywhere: assigned, defined, imported, caught."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound |= set(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
    return bound


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


def add_missing_imports(source: str) -> tuple[str, list[str]]:
    """Return ``source`` with the standard-library imports it forgot, and their names."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source, []  # the syntax check reports it
    bound = bound_names(tree)
    used: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            used.setdefault(node.value.id, set()).add(node.attr)
    missing = sorted(
        name for name, attrs in used.items() if name not in bound and _offers(name, attrs)
    )
    if not missing:
        return source, []
    after = 0  # the line after the docstring and the __future__ imports
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (docstring and after == 0 and node is tree.body[0]) and not future:
            break
        after = node.end_lineno or after
    lines = source.splitlines(keepends=True)
    if after and not lines[after - 1].endswith("\n"):
        lines[after - 1] += "\n"
    lines[after:after] = [f"import {name}\n" for name in missing]
    return "".join(lines), missing
