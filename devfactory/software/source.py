"""Read a Python module's syntax tree: the names it defines, its public names and signatures.

The code checks ask whether a planned name is defined (``defined_names``); the
planner and the repairs show other teams a module's public signatures and names
(``signatures``, ``public_names``). Each reads only the source text, never runs
it, and a module that does not parse defines nothing (its signatures are its
first characters).
"""

from __future__ import annotations

import ast


def defined_names(source: str) -> set[str]:
    """Return the top-level names and ``Class.method`` names a module defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names.update(
                    f"{node.name}.{item.name}"
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                )
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def signatures(source: str, *, limit: int = 2000) -> str:
    """Return a module's public signatures (def/class lines and first docstring lines)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
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
    try:
        tree = ast.parse(source)
    except SyntaxError:
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
