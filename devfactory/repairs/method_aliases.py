"""A planned function written as a class's method: ``parse`` planned, ``Version.parse`` written.

Small models put the functions a plan gives a module inside the class they
also define, as classmethods or staticmethods, so the module defines no
``parse`` and the gate refuses it. A classmethod or staticmethod is callable
from the class as it is, with the planned arguments, so the module gets the
planned name bound to it (``parse = Version.parse``) at its end, recorded.
An instance method is not aliased (it needs an instance), nor a name the
module binds already, nor one that two classes define; the checks judge the
rest, and the tests judge whether the method does what the plan says.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from devfactory.software.source import defined_names, syntax_tree

_BOUND_FREE = frozenset({"classmethod", "staticmethod"})


def alias_methods(source: str, planned: Iterable[str]) -> tuple[str, list[str]]:
    """Return ``source`` with each planned module-level name a class method provides bound.

    Returns the text and the lines added (``parse = Version.parse``); the text
    unchanged and ``[]`` when nothing is added or the file does not parse.
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []
    bound = defined_names(source)  # as the gate reads them: what it would call missing
    offers: dict[str, list[str]] = {}
    for node in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                isinstance(d, ast.Name) and d.id in _BOUND_FREE for d in item.decorator_list
            ):
                offers.setdefault(item.name, []).append(node.name)
    lines = [
        f"{name} = {offers[name][0]}.{name}"
        for name in dict.fromkeys(planned)
        if name.isidentifier() and name not in bound and len(offers.get(name, [])) == 1
    ]
    if not lines:
        return source, []
    return source.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", lines
