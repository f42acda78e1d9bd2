"""Put one unit a model wrote into its module, and nothing else of the reply.

A model asked for ``merge`` often answers with the whole module again, its own
tests, ``print`` calls or a second version of a function another unit owns.
``fragment`` keeps what the unit needs (the ``def``/``class`` of that name, the
helpers beside it that it uses, directly or through each other, its imports)
and ``splice`` replaces the unit's stub in the module with it; the other units,
the imports already there and the skeleton's wiring are left as they are. Both
work on the syntax tree, so a candidate that does not parse is refused, never
pasted.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from devfactory.software.skeleton import Skeleton, UnitKind

_BLOCK = re.compile(r"```(?:python|py|python3)?[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


class SpliceError(ValueError):
    """A reply holds no usable definition of the unit (the reason says why)."""


@dataclass(frozen=True)
class Fragment:
    """What a reply contributes: imports, helpers and the unit's own definition."""

    imports: tuple[str, ...]
    helpers: tuple[str, ...]
    unit: str


def code_of(reply: str) -> str:
    """Return the Python code of a reply: its longest fenced block, or all of it."""
    blocks = [b for b in _BLOCK.findall(reply) if b.strip()]
    return max(blocks, key=len) if blocks else reply


def _segment(source: str, node: ast.stmt) -> str:
    lines = source.splitlines()
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "\n".join(lines[start - 1 : node.end_lineno]) + "\n"


def _defines(node: ast.stmt) -> str | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def fragment(reply: str, unit: str, *, others: frozenset[str] = frozenset()) -> Fragment:
    """Return what ``reply`` contributes to ``unit``.

    ``others`` are the names the skeleton's other units (and its wiring) own:
    a reply's versions of them are dropped. Top-level statements that do
    something when imported (calls, prints, tests, ``if __name__``) are
    dropped too.

    Raises:
        SpliceError: the reply does not parse, or defines no ``unit``.

    """
    code = code_of(reply)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise SpliceError(f"the reply does not parse: line {exc.lineno}: {exc.msg}") from None
    imports: list[str] = []
    helpers: dict[str, ast.stmt] = {}
    found: ast.stmt | None = None
    for node in tree.body:
        name = _defines(node)
        if isinstance(node, ast.Import | ast.ImportFrom):
            if not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                imports.append(ast.unparse(node))
        elif name == unit and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            found = node
        elif name and name not in others and name != unit and not name.startswith("test"):
            helpers[name] = node
    if found is None:
        raise SpliceError(f"the reply defines no top-level `{unit}`")
    needed = _needed(found, helpers)
    kept = tuple(_segment(code, n) for name, n in helpers.items() if name in needed)
    return Fragment(tuple(dict.fromkeys(imports)), kept, _segment(code, found))


def _names_in(node: ast.AST) -> set[str]:
    """Return the names ``node`` reads (its decorators, defaults and body included)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _needed(unit: ast.stmt, helpers: dict[str, ast.stmt]) -> set[str]:
    """Return the helpers ``unit`` uses, and those they use in turn.

    A helper nothing of the unit's reaches (a second ``main``, a ``run`` of the
    model's own beside the skeleton's) is not what the unit needs: it is dropped.
    """
    needed: set[str] = set()
    waiting = [unit]
    while waiting:
        for name in _names_in(waiting.pop()) & helpers.keys() - needed:
            needed.add(name)
            waiting.append(helpers[name])
    return needed


def _import_end(tree: ast.Module) -> int:
    """Return the line after the module's docstring and imports (0-based index)."""
    end = 0
    for node in tree.body:
        is_doc = (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        if is_doc or isinstance(node, ast.Import | ast.ImportFrom):
            end = node.end_lineno or end
        else:
            break
    return end


def splice(module: str, piece: Fragment, unit: str) -> str:
    """Replace ``unit``'s definition in ``module`` with ``piece`` (helpers first, imports merged).

    Raises:
        SpliceError: the module defines no top-level ``unit``, or the result does not parse.

    """
    tree = ast.parse(module)
    defs = (
        n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )
    target = next((n for n in defs if n.name == unit), None)
    if target is None:
        raise SpliceError(f"the module defines no top-level `{unit}`")
    lines = module.splitlines(keepends=True)
    decorators = [d.lineno for d in getattr(target, "decorator_list", [])]
    start = min([target.lineno, *decorators]) - 1
    end = target.end_lineno or target.lineno
    skeleton_decorators = lines[start : target.lineno - 1]
    unit_text = piece.unit
    if routes_of("".join(lines[start:end])):  # a route's method, path and status are the spec's
        unit_text = _without_decorators(unit_text)
    # the skeleton's decorators (a route's) stay, unless the unit brings its own
    kept = "" if unit_text.lstrip().startswith("@") else "".join(skeleton_decorators)
    defined = {_defines(n) for n in tree.body} - {None, unit}
    helpers = [h for h in piece.helpers if _name_of(h) not in defined]
    replacement = "".join(f"{h.rstrip()}\n\n\n" for h in helpers) + kept + unit_text
    text = "".join(lines[:start]) + replacement + "".join(lines[end:])
    text = _merge_imports(text, piece.imports)
    try:
        ast.parse(text)
    except SyntaxError as exc:
        raise SpliceError(f"the module does not parse with it: {exc.msg}") from None
    return text


def _without_decorators(code: str) -> str:
    """Return a definition without the decorators it was written with."""
    node = ast.parse(code).body[0]
    return "\n".join(code.splitlines()[node.lineno - 1 :]) + "\n"


def _name_of(code: str) -> str | None:
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return None
    return _defines(body[0]) if body else None


def _merge_imports(text: str, imports: tuple[str, ...]) -> str:
    tree = ast.parse(text)
    have = {ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)}
    new = [i for i in imports if i not in have]
    if not new:
        return text
    lines = text.splitlines(keepends=True)
    at = _import_end(tree)
    block = "".join(f"{i}\n" for i in new)
    return "".join(lines[:at]) + block + "".join(lines[at:])


_PARAMETER = re.compile(r"\{[^}]*\}")
_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})


def routes_of(code: str) -> frozenset[tuple[str, str]]:
    """Return the (method, path) of every route a module's decorators declare.

    A path parameter's name is left out (``/items/{id}`` and ``/items/{item_id}``
    are one route), and so is how the path is quoted: routes are read from the
    syntax tree, never from the text. Code that does not parse declares none.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return frozenset()
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                continue
            first = decorator.args[0] if decorator.args else None
            if decorator.func.attr in _METHODS and isinstance(first, ast.Constant):
                if isinstance(first.value, str):
                    found.add((decorator.func.attr.upper(), _PARAMETER.sub("{}", first.value)))
    return frozenset(found)


def starting_point(made: Skeleton, earlier: str) -> str:
    """Start from the earlier version when it still has every unit of the skeleton."""
    if not earlier.strip():
        return made.source
    names = {u.name for u in made.units if u.kind != UnitKind.MODULE}
    try:
        for name in names:
            fragment(earlier, name)
    except SpliceError:
        return made.source
    return earlier
