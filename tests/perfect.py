"""A scripted "perfect" model: every unit it writes is taken from a case's reference solution.

Used by ``tests/integration/test_perfect_model.py`` (never by the product). A unit
request names one definition of the module (``Call.path``); the reply holds that
definition as the reference writes it, with the imports and the module-level
helpers (constants, private functions) it needs, as a careful model would. A unit
the reference has no single definition of (a command line's ``run`` where the
reference wrote ``main``, a web service's whole module) is answered with the
whole reference module.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

from tests.fakes import Call, Script, always_good, good_report

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def fenced(code: str) -> str:
    """Return ``code`` in one ```python block, as the unit prompt asks."""
    return f"```python\n{code.rstrip()}\n```"


def _defined(node: ast.stmt) -> list[str]:
    """Return the top-level names ``node`` defines (definitions and simple assignments)."""
    if isinstance(node, _DEFINITIONS):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _segment(source: str, node: ast.stmt) -> str:
    lines = source.splitlines()
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "\n".join(lines[start - 1 : node.end_lineno]) + "\n"


def _body(tree: ast.Module) -> Iterator[ast.stmt]:
    """Yield the module's statements but its docstring and ``if __name__ == ...`` block."""
    for n, node in enumerate(tree.body):
        is_doc = (
            n == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        if not is_doc and not isinstance(node, ast.If):
            yield node


def unit_of(source: str, name: str) -> str | None:
    """Return ``name``'s definition in ``source`` with the imports and helpers it needs.

    None when ``source`` has no top-level function or class ``name``.
    """
    tree = ast.parse(source)
    nodes = list(_body(tree))
    by_name = {d: node for node in nodes for d in _defined(node)}
    target = by_name.get(name)
    if not isinstance(target, _DEFINITIONS):
        return None
    needed = {id(target)}
    todo = [target]
    while todo:  # the helpers it uses, and theirs (other units are kept: splice drops them)
        for used in _used(todo.pop()):
            node = by_name.get(used)
            if node is not None and id(node) not in needed:
                needed.add(id(node))
                todo.append(node)
    imports = [
        ast.unparse(n)
        for n in nodes
        if isinstance(n, ast.Import) or (isinstance(n, ast.ImportFrom) and n.module != "__future__")
    ]
    parts = [_segment(source, n) for n in nodes if id(n) in needed]
    return "\n".join(imports) + "\n\n\n" + "\n\n".join(parts)


def reference_module(reference: Path, module: str) -> str:
    """Return the reference solution's source of ``module``."""
    return (reference / f"{module}.py").read_text(encoding="utf-8")


def perfect_unit(source: str, call: Call) -> str:
    """Answer a unit request from the reference ``source``."""
    piece = unit_of(source, call.path)
    return fenced(piece if piece is not None else source)


def perfect_script(source: str, qa_tests: str) -> Script:
    """Answer units from the reference ``source``, QA's test file with ``qa_tests``.

    Every other call (the plan, reports, documents, governance) is answered as
    ``always_good`` answers it.
    """

    def script(call: Call) -> str:
        if call.kind == "unit":
            return perfect_unit(source, call)
        if call.kind == "draft" and call.path.startswith("tests/"):
            return qa_tests
        if call.kind == "report":
            return json.dumps(good_report(call.spec))
        return always_good(call)

    return script
