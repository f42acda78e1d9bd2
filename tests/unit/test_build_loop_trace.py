"""The build loop reads top to bottom: a trace from ``build_module`` hops between few files.

The trace follows the calls of ``graph/stage/build_loop/`` statically, as a reader
does: from ``build_module``, each function the first time it is called (a call's
arguments before the call, statements in order), a class's methods all at once
the first time one is called (a reader reads the class), depth first. A file is
entered each time the trace passes into it from another. Issue 61 measured
``build.py`` entered 12 times before the loop was one package; the cut into
``candidates.py`` and ``selection.py`` brought it to 2 (docs/architecture.md,
"Reshaping the house"); the questions about a module's source that the loop
asked of its own files (``top_level``, ``left_stub``, the agreed tests' file)
went to the modules they are about, and no file is entered more than twice.
A change that scatters the loop again fails.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import devfactory.graph.stage.build_loop as package

PACKAGE = "devfactory.graph.stage.build_loop."
Key = tuple[str, str]  # (file, function or Class.method)


class Trace:
    """The functions of one package and the calls between them, read from its source."""

    def __init__(self, root: Path) -> None:
        self.functions: dict[Key, ast.FunctionDef] = {}
        self.methods: dict[str, list[Key]] = {}  # a method's name -> where it is defined
        self.imported: dict[str, dict[str, str]] = {}  # file -> name -> the file it is from
        for path in sorted(root.glob("*.py")):
            tree = ast.parse(path.read_text())
            names = self.imported.setdefault(path.name, {})
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    self.functions[(path.name, node.name)] = node
                elif isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef):
                            key = (path.name, f"{node.name}.{item.name}")
                            self.functions[key] = item
                            self.methods.setdefault(item.name, []).append(key)
                elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                    source = str(node.module).rsplit(".", 1)[1] + ".py"
                    names.update({a.asname or a.name: source for a in node.names})

    def resolve(self, file: str, node: ast.expr) -> Key | None:
        """Return the function ``node`` names in ``file``: its own, imported, or a method."""
        if isinstance(node, ast.Name):
            for key in ((file, node.id), (self.imported[file].get(node.id, ""), node.id)):
                if key in self.functions:
                    return key
        if isinstance(node, ast.Attribute) and len(self.methods.get(node.attr, [])) == 1:
            return self.methods[node.attr][0]
        return None

    def calls(self, key: Key) -> list[Key]:
        """Return what ``key`` calls, in the order it runs (a function handed on counts too)."""
        found: list[tuple[int, int, Key]] = []
        for node in ast.walk(self.functions[key]):
            if not isinstance(node, ast.Call):
                continue
            for target in (node.func, *node.args[:1]):  # partial(f, ...) hands f on
                called = self.resolve(key[0], target)
                if called is not None:
                    found.append((node.end_lineno or 0, node.end_col_offset or 0, called))
        return [k for _, _, k in sorted(found, key=lambda f: (f[0], f[1]))]

    def follow(self, start: Key) -> list[Key]:
        """Return the functions in the order a reader meets them from ``start``."""
        order: list[Key] = []
        seen: set[Key] = set()

        def visit(key: Key) -> None:
            if key in seen:
                return
            if "." in key[1]:  # a method: its class is read whole
                cls = key[1].split(".")[0] + "."
                members = [k for k in self.functions if k[0] == key[0] and k[1].startswith(cls)]
            else:
                members = [key]
            seen.update(members)
            order.extend(members)
            for member in members:
                for called in self.calls(member):
                    visit(called)

        visit(start)
        return order


def entries(order: list[Key]) -> Counter[str]:
    """Count, for each file, how often the trace passes into it from another."""
    count: Counter[str] = Counter()
    before = ""
    for file, _ in order:
        if file != before:
            count[file] += 1
        before = file
    return count


ROOT = Path(package.__file__).parent


def test_the_trace_from_build_module_enters_each_file_of_the_loop_at_most_twice() -> None:
    order = Trace(ROOT).follow(("build.py", "build_module"))
    count = entries(order)
    assert max(count.values()) <= 2, count  # issue 61: each file at most twice
    # every module of the package is on the way: the trace follows the whole loop
    files = {p.name for p in ROOT.glob("*.py")} - {"__init__.py"}
    assert {f for f, _ in order} == files


def test_a_trace_counts_a_file_again_each_time_it_is_passed_into(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        f"from {PACKAGE}b import two\n\n\ndef one():\n    two()\n    three()\n\n\n"
        "def three():\n    pass\n"
    )
    (tmp_path / "b.py").write_text("def two():\n    pass\n")
    order = Trace(tmp_path).follow(("a.py", "one"))
    assert order == [("a.py", "one"), ("b.py", "two"), ("a.py", "three")]
    assert entries(order) == Counter({"a.py": 2, "b.py": 1})
