"""Read a Python module's syntax tree: the names it defines, its public names and signatures.

The code checks ask whether a planned name is defined (``defined_names``) and
whether it is still a stub (``unwritten``: the build loop refuses a candidate
that is, and the gate a module that keeps one); the planner and the repairs
show other teams a module's public signatures and names (``signatures``,
``public_names``). Each reads only the source text, never runs it, and a
module that does not parse defines nothing (its signatures are its first
characters). ``syntax_tree`` parses a text, None for one that is not Python. The
repairs ask what names a tree binds (``bound_names``): a name used and bound
nowhere is imported, or the test reading it dropped.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable


def syntax_tree(source: str) -> ast.Module | None:
    """Return ``source`` parsed, or None when it is not Python (or holds a null byte)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def bound_names(nodes: Iterable[ast.AST], *, deep: bool = True) -> set[str]:
    """Return the names ``nodes`` bind, at any depth, or (not ``deep``) at their own level.

    Assigned or deleted, defined, imported, caught, matched, declared ``global``
    or ``nonlocal``, and parameters. At their own level, a statement binds its
    targets, never the locals of a function or class it defines.
    """
    walked = (n for top in nodes for n in (ast.walk(top) if deep else [top, *shallow(top)]))
    return {name for node in walked for name in bound_by(node)}


def last_name(node: ast.AST) -> str:
    """Return the name an expression ends with (``fastapi.FastAPI``: ``FastAPI``; else "")."""
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def bound_by(node: ast.AST) -> set[str]:
    """Return the names one node binds itself (``bound_names``'s kinds), not its children's."""
    if isinstance(node, ast.Name):
        return set() if isinstance(node.ctx, ast.Load) else {node.id}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.Global | ast.Nonlocal):
        return set(node.names)
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return {node.name} if node.name else set()
    if isinstance(node, ast.MatchMapping):
        return {node.rest} if node.rest else set()
    return {node.arg} if isinstance(node, ast.arg) else set()


def shallow(node: ast.AST) -> list[ast.AST]:
    """Return the nodes inside a statement in its own scope: not a body it defines.

    A function, class or lambda is its name only (``[]``): what is inside is its own
    scope; a compound statement (``if``, ``try``, ``with``) is every node it holds.
    """
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
        return []  # its name only; what is inside is its own scope
    out: list[ast.AST] = []
    for child in ast.iter_child_nodes(node):
        out.append(child)
        out += shallow(child)
    return out


def defined_names(source: str) -> set[str]:
    """Return the top-level names and ``Class.method`` names a module defines."""
    tree = syntax_tree(source)
    if tree is None:
        return set()
    names = set(_definitions(tree))
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def top_level(source: str) -> frozenset[str]:
    """Return the names ``source`` defines at its top level (functions and classes)."""
    return frozenset(
        n.name
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )


def signatures(source: str, *, limit: int = 2000) -> str:
    """Return a module's public signatures (def/class lines and first docstring lines)."""
    tree = syntax_tree(source)
    if tree is None:
        return source[:limit]
    lines = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name.startswith("_"):
                continue
            head = ast.get_source_segment(source, node) or ""
            lines.append(head.split(":\n", 1)[0].split("\n")[0].rstrip(":") + ": ...")
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and not item.name.startswith("__"):
                        seg = ast.get_source_segment(source, item) or ""
                        lines.append("    " + seg.split("\n")[0].strip().rstrip(":") + ": ...")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            lines.append((ast.get_source_segment(source, node) or "")[:120])
    return "\n".join(lines)[:limit]


def public_names(source: str) -> list[str]:
    """Return the public top-level functions, classes and assigned names of a module."""
    tree = syntax_tree(source)
    if tree is None:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in dict.fromkeys(names) if not n.startswith("_")]


_PLACEHOLDER_ERRORS = frozenset({"NotImplementedError", "NotImplemented"})


def _placeholder(statement: ast.stmt) -> bool:
    """Say whether a statement only holds a place: ``pass``, ``...``, a string, the stub's raise."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return statement.value.value is Ellipsis or isinstance(statement.value.value, str)
    if isinstance(statement, ast.Raise) and statement.cause is None:
        error = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        return isinstance(error, ast.Name) and error.id in _PLACEHOLDER_ERRORS
    return False


def stub_body(body: list[ast.stmt]) -> bool:
    """Say whether a body does nothing yet.

    That is a docstring alone, ``pass``, ``...``, ``raise NotImplementedError``
    (with or without a call or a message), or a docstring with any of them.
    """
    return all(_placeholder(statement) for statement in body)


_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_INTERFACES = frozenset({"Protocol", "ABC"})


def _name_of(node: ast.expr) -> str:
    """Return the last name of ``Name``, ``a.Name`` or ``Name[...]`` (empty for anything else)."""
    node = node.value if isinstance(node, ast.Subscript) else node
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _stub_definition(node: _Definition, skeleton: _Definition | None) -> bool:
    """Say whether a definition is still a stub (``skeleton``: the skeleton's one of that name).

    A function is one when its body does nothing (``stub_body``) or is the
    skeleton's own body. A class is one when its body does nothing and it
    derives from nothing, or when it defines methods and every one is a stub: a
    class with a base and a docstring alone (an exception, a subclass) is
    written as it is, as the skeleton writes an error class. An interface's
    methods (a ``Protocol``'s, an ``ABC``'s, an ``abstractmethod``) are meant
    to have no body.
    """
    if isinstance(node, ast.ClassDef):
        if any(_name_of(base) in _INTERFACES for base in node.bases):
            return False  # an interface's methods are meant to have no body
        methods = [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        others = [n for n in node.body if n not in methods]
        if methods:
            return stub_body(others) and all(_stub_definition(m, None) for m in methods)
        return stub_body(node.body) and not (node.bases or node.keywords)
    if any(_name_of(d) == "abstractmethod" for d in node.decorator_list):
        return False
    if stub_body(node.body):
        return True
    if not isinstance(skeleton, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    return ast.dump(ast.Module(node.body, [])) == ast.dump(ast.Module(skeleton.body, []))


def _definitions(tree: ast.Module | None) -> dict[str, _Definition]:
    """Return a module's top-level definitions and its classes' methods (``Class.method``)."""
    found: dict[str, _Definition] = {}
    for node in tree.body if tree is not None else ():
        if isinstance(node, _Definition):
            found[node.name] = node
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        found[f"{node.name}.{item.name}"] = item
    return found


def unwritten(source: str, names: Iterable[str], *, skeleton: str = "") -> list[str]:
    """Return those of ``names`` that ``source`` still defines as stubs, in order.

    ``names`` are top-level functions and classes, or ``Class.method``; one
    ``source`` does not define is not listed (that it is missing is another
    check's news), nor is anything of a module that does not parse.
    ``skeleton`` is the module's skeleton: a function whose body is still the
    one it wrote is unwritten whatever that body is.
    """
    defined, stubs = _definitions(syntax_tree(source)), _definitions(syntax_tree(skeleton))
    return [
        name
        for name in dict.fromkeys(names)
        if name in defined and _stub_definition(defined[name], stubs.get(name))
    ]


def stubbed_names(skeleton: str) -> list[str]:
    """Return the top-level definitions a skeleton leaves to be written: its stubs, in order."""
    tree = syntax_tree(skeleton)
    if tree is None:
        return []
    return [
        node.name
        for node in tree.body
        if isinstance(node, _Definition) and _stub_definition(node, None)
    ]
