"""A tests file's import of a project module nothing plans, taken out.

A small model's tests often import a helper of their own package that no one
writes (``from tests.common import make_file`` where no ``tests/common.py`` is
planned): collecting the file fails with ``ModuleNotFoundError`` and takes
every test with it, whatever the code does. Such an import is taken out
(``drop_absent_imports``); the names it bound are then imported from the
project where exactly one module defines them, and the tests still reading
them are dropped (``project-imports``, ``unbound-tests`` in ``repairs/repair.py``).
"""

from __future__ import annotations

import ast
from collections.abc import Collection

from devfactory.repairs.missing_imports import replace_nodes
from devfactory.software.source import syntax_tree


def _absent(node: ast.stmt, modules: Collection[str], tops: Collection[str]) -> str | None:
    """Return the module an import names under a project package (``tops``) and nothing plans."""

    def planned(name: str) -> bool:
        return name in modules or any(m.startswith(f"{name}.") for m in modules)

    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module in modules or not planned(node.module):
            names = [node.module]  # a module planned, or a package nothing in it is planned
        else:  # a package with no module of its own: what is imported from it are its modules
            names = [f"{node.module}.{a.name}" for a in node.names]
    else:
        return None
    absent = [n for n in names if n.partition(".")[0] in tops and not planned(n)]
    return absent[0] if absent and len(absent) == len(names) else None


def drop_absent_imports(source: str, modules: Collection[str]) -> tuple[str, list[str]]:
    """Take out a tests file's imports of project modules nothing plans; return it and each one.

    ``modules`` names every Python module of the plan and of what is written; an
    import is taken out when each module it names lies under one of their top
    packages (``tests``, ``checksum``) and is none of them nor a package of
    them. Only module-level imports are taken out, whole.
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []
    tops = {m.partition(".")[0] for m in modules}
    found = [(node, name) for node in tree.body if (name := _absent(node, modules, tops))]
    if not found:
        return source, []
    fixed = replace_nodes(source, [(node, "") for node, _ in found])
    return fixed, [
        f"`{ast.unparse(node)}` ({name} is no module of the project)" for node, name in found
    ]
