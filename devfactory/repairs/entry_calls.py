"""A command line's test that gives its runner the command's words, or its ``main`` a Namespace.

The factory writes a command line's module with two entries (``kinds/command_line.py``):
``main(argv: list[str] | None = None) -> int``, which parses the command's words, and
the runner, ``run(args: argparse.Namespace) -> int``, which does the work with what was
parsed. A test that gives the runner the words (``run(["a.txt"])``) fails inside the
code (``'list' object has no attribute 'files'``), where the code's team can do
nothing about it; one that gives ``main`` a parsed ``Namespace`` fails in argparse.
Each call goes to the entry that takes what it gives: ``main(["a.txt"])``,
``run(Namespace(...))``, importing that entry from the same module where the file binds
no name for it. A test that gives ``main`` the program's name first, as ``sys.argv``
holds it (``main(["counter", "a.txt"])``, ``main(["python", "-m", "counter", ...])``,
``main([sys.executable, "-m", "counter", ...])``),
fails in argparse (one positional too many); ``main`` parses the words after it, so
the program's words go. A test that calls ``main()`` with nothing means a command given
no words, but ``main`` then parses ``sys.argv``, which under pytest holds pytest's own
words (``-q --junitxml=...``: argparse exits 2); it is given ``[]``, unless the file
sets ``sys.argv`` (it names ``argv``) for ``main`` to read.

Only where nothing else is meant: the called name is imported from one of the project's
modules (``from counter import run``, or ``counter.run`` after ``import counter``)
that defines both entries, the runner with its first parameter annotated ``Namespace`` and
``main`` with one parameter at most; the call gives no keyword and one argument, a list
or tuple written out (to the runner) or a ``Namespace(...)`` call (to ``main``), or
none (``main()``).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from devfactory.repairs.missing_imports import insert_imports, replace_nodes
from devfactory.software.source import bound_names, last_name, syntax_tree


def entries(source: str) -> tuple[str, str] | None:
    """Return the names of a command line module's runner and ``main``, or None."""
    tree = syntax_tree(source)
    if tree is None:
        return None
    defined = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    main = next((f for f in defined if f.name == "main"), None)
    if main is None or len([*main.args.posonlyargs, *main.args.args]) > 1:
        return None
    runner = next((f.name for f in defined if _takes_namespace(f)), None)
    return (runner, main.name) if runner else None


def _takes_namespace(function: ast.FunctionDef) -> bool:
    """Say whether the function's first parameter is annotated ``Namespace``."""
    first = [*function.args.posonlyargs, *function.args.args][:1]
    annotation = first[0].annotation if first else None
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value.rsplit(".", 1)[-1] == "Namespace"  # "argparse.Namespace"
    return isinstance(annotation, ast.Name | ast.Attribute) and last_name(annotation) == "Namespace"


def send_to_entries(source: str, sources: Mapping[str, str]) -> tuple[str, list[str]]:
    """Return the tests file with each entry's call given what the other takes sent to it.

    Also a note for each kind of change, ``calls of `run -> main` ...`` (none: the file as
    it was).
    """
    pairs = {module: pair for module, text in sources.items() if (pair := entries(text))}
    tree = syntax_tree(source) if pairs else None
    if tree is None:
        return source, []
    imported: dict[str, tuple[str, str]] = {}  # the file's name -> (module, name)
    modules: dict[str, str] = {}  # the file's name for a module it imports whole
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and not node.level and node.module in pairs:
            for alias in node.names:
                imported[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name: a.name for a in node.names if a.name in pairs}
    bound = bound_names([tree])
    edits: list[tuple[ast.AST, str]] = []
    imports: list[str] = []
    changed: list[str] = []
    argv_set = "argv" in source  # sys.argv patched: main() reads what the test set
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        func = call.func
        if len(call.args) > 1 or call.keywords:
            continue
        if isinstance(func, ast.Name) and func.id in imported:
            module, name = imported[func.id]
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id not in modules:
                continue
            module, name = modules[func.value.id], func.attr
        else:
            continue
        runner, main = pairs[module]
        if not call.args:
            if name == main and not argv_set:
                edits.append((call, f"{ast.unparse(func)}([])"))
                changed.append(f"calls of `{main}()` given no words (not pytest's own)")
            continue
        given = call.args[0]
        if (
            name == main
            and isinstance(given, ast.List | ast.Tuple)
            and (k := _program(given, module))
        ):
            edits.append((given, ast.unparse(type(given)(elts=given.elts[k:], ctx=ast.Load()))))
            changed.append(f"calls of `{main}` given the program's name first: its words only")
            continue
        if name == runner and isinstance(given, ast.List | ast.Tuple):
            target = main
        elif name == main and isinstance(given, ast.Call) and last_name(given.func) == "Namespace":
            target = runner
        else:
            continue
        if isinstance(func, ast.Attribute):
            text = f"{last_name(func.value)}.{target}"
        else:
            text = next((n for n, of in imported.items() if of == (module, target)), "")
            if not text and target in bound:
                continue  # the file's own name for something else
            if not text:
                text = target
                imported[target] = (module, target)
                imports.append(f"from {module} import {target}")
        edits.append((func, text))
        changed.append(f"calls of `{name} -> {target}` (what the other entry takes)")
    if not edits:
        return source, []
    fixed = replace_nodes(source, edits)
    if imports:
        fixed = insert_imports(fixed, ast.parse(fixed), imports)
    return fixed, sorted(set(changed))


_LAUNCHER = frozenset({"python", "python3", "-m"})


def _program(words: ast.List | ast.Tuple, module: str) -> int:
    """Return how many of ``words`` name the program (``counter``, ``python -m counter``), or 0.

    The interpreter may be named as ``sys.executable`` (``[sys.executable, "-m", "counter"]``,
    the words of a subprocess, given to ``main``).
    """
    names = {module, module.rsplit(".", 1)[-1], module.split(".", 1)[0]}
    names |= {f"{n}.py" for n in names}
    for at, word in enumerate(words.elts):
        if at == 0 and ast.unparse(word) == "sys.executable":  # the interpreter, as a launcher
            continue
        if not isinstance(word, ast.Constant) or not isinstance(word.value, str):
            return 0
        if word.value in names:
            return at + 1
        if word.value not in _LAUNCHER:
            return 0
    return 0
