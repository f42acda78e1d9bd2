"""A bounded map of an existing repository: its tree, public names per module, its tests.

What a plan needs to know of a repository it changes, by tools: which files
exist (so that an existing file is planned as changed, never as new), which
public functions and classes each Python module defines (read from its
syntax tree, never run), which files are tests and how they run. Every part
is capped, so a large repository gives a map of the same size as a small one,
with what was left out counted.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

_TEST_FILE = re.compile(r"(?:^|/)(?:test_[^/]*|[^/]*_test)\.py$")
_SKIPPED = ("__pycache__/", ".venv/", "venv/", "node_modules/", ".tox/", ".mypy_cache/")
MAX_NAMES = 30  # public names listed per module


def is_test_file(path: str) -> bool:
    """Say whether ``path`` is a pytest test file (``test_*.py`` or ``*_test.py``)."""
    return bool(_TEST_FILE.search(path))


def public_definitions(source: str) -> list[str]:
    """Return a module's public top-level functions and classes, as ``def f(...)``/``class C``.

    Read from the syntax tree (nothing runs); a module that does not parse has none.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith(
            "_"
        ):
            names.append(f"def {node.name}({ast.unparse(node.args)})")
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            names.append(f"class {node.name}")
    return names


@dataclass(frozen=True)
class RepoMap:
    """What a plan is shown of a repository.

    Attributes:
        paths: the tree's paths, sorted, at most the cap.
        total: how many paths the tree has in all.
        modules: each Python module's public definitions, by path (tests left out).
        tests: the test files.
        test_command: how the tests run (empty when there are none).

    """

    paths: tuple[str, ...]
    total: int
    modules: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tests: tuple[str, ...] = ()
    test_command: str = ""

    def render(self, limit: int) -> str:
        """Render the map as a prompt block of at most ``limit`` characters."""
        lines = ["## The existing repository (the run changes it on a branch)"]
        more = self.total - len(self.paths)
        lines.append(f"Files ({self.total}{f', {more} not listed' if more else ''}):")
        lines += [f"- {p}" for p in self.paths]
        if self.modules:
            lines.append("Public names per module:")
            for path, names in self.modules.items():
                lines.append(f"- {path}: " + ("; ".join(names) or "(none)"))
        if self.tests:
            lines.append(f"Existing tests (they must still pass): {', '.join(self.tests)}")
            lines.append(f"They run with `{_clip(self.test_command, 200)}`.")
        lines.append(
            "Plan a file that exists under its path to change it (its team is shown its "
            "current text); keep what its tests use."
        )
        text = "\n".join(lines)
        if len(text) <= limit:
            return text
        cut = text[: max(0, limit - 40)].rsplit("\n", 1)[0]
        return cut + "\n(the map goes on: cut to fit)"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def map_repository(
    paths: Sequence[str], texts: Mapping[str, str], *, max_paths: int, max_modules: int = 200
) -> RepoMap:
    """Map a repository from its tree's ``paths`` and its text files' ``texts``, bounded.

    Args:
        paths: every path of the tree (files only).
        texts: the text of the files that could be read, by path.
        max_paths: the most paths listed (the rest are counted).
        max_modules: the most Python modules whose public names are listed.

    """
    kept = sorted(p for p in paths if not any(s in f"/{p}" for s in (f"/{x}" for x in _SKIPPED)))
    tests = tuple(p for p in kept if is_test_file(p))
    modules: dict[str, tuple[str, ...]] = {}
    for path in kept:
        if len(modules) >= max_modules:
            break
        if path.endswith(".py") and path not in tests and path in texts:
            modules[path] = tuple(public_definitions(texts[path])[:MAX_NAMES])
    command = "python -m pytest -q " + " ".join(tests) if tests else ""
    return RepoMap(tuple(kept[:max_paths]), len(kept), modules, tests, command.strip())
