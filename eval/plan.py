"""Read a run's build plan (``architecture/plan.json``) as the evaluation needs it.

The file format is the contract between the factory and the evaluation, so it is
read leniently here (unknown fields are ignored) rather than through the factory's
own model: a plan the factory accepted is measured, not re-judged.
"""

from __future__ import annotations

import errno
import json
import keyword
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from devfactory.runfiles import RefusedFileError, is_regular_file, read_file

PLAN_PATH = "architecture/plan.json"
PLAN_BYTES = 2 << 20  # a plan is a few kilobytes; a larger file is not one the factory wrote
TEST_ROLES = frozenset({"tests", "test"})


class PlanError(ValueError):
    """The run's folder has no usable build plan; the message says why."""


@dataclass(frozen=True)
class PlannedFile:
    """One file of the plan."""

    path: str
    owner: str
    role: str

    @property
    def is_test(self) -> bool:
        """Whether the file is a test module or pytest configuration, not product code."""
        name = PurePosixPath(self.path).name
        return (
            self.role in TEST_ROLES
            or name == "conftest.py"
            or name.startswith("test_")
            or name.endswith("_test.py")
        )


@dataclass(frozen=True)
class Plan:
    """The parts of a build plan the evaluation uses."""

    kind: str
    entry_point: str
    dependencies: tuple[str, ...]
    test_command: str
    files: tuple[PlannedFile, ...]
    symbols: tuple[tuple[str, tuple[str, ...]], ...] = ()  # each module's planned names

    def missing(self, root: Path) -> list[str]:
        """Return the planned files that ``root`` does not hold (as regular files, not links)."""
        return [f.path for f in self.files if not is_regular_file(root, f.path)]

    def modules(self) -> list[str]:
        """Return the dotted names of the planned Python code modules, to import."""
        names = [
            module_name(f.path) for f in self.files if f.path.endswith(".py") and not f.is_test
        ]
        return [n for n in dict.fromkeys(names) if n and n.rsplit(".", 1)[-1] != "__main__"]


def module_name(path: str) -> str:
    """Return the dotted module name of ``path`` (``src/pkg/__init__.py`` is ``pkg``)."""
    parts = list(PurePosixPath(path.removesuffix(".py")).parts)
    if parts[:1] == ["src"]:
        parts = parts[1:]
    if parts[-1:] == ["__init__"]:
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return ""
    return ".".join(parts)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise PlanError(f"{PLAN_PATH}: {key} must be a string, not {type(value).__name__}")
    return value


def _file(item: Any) -> PlannedFile:
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        raise PlanError(f"{PLAN_PATH}: each file needs a path: {item!r}"[:300])
    path = item["path"]
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts:
        raise PlanError(f"{PLAN_PATH}: file path {path!r} is not inside the project")
    return PlannedFile(path, str(item.get("owner", "")), str(item.get("role", "")))


def _symbols(modules: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Return each module's path and planned names; what is not shaped so is left out."""
    found = []
    for module in modules if isinstance(modules, list) else []:
        if not isinstance(module, dict) or not isinstance(module.get("path"), str):
            continue
        symbols = module.get("symbols")
        names = [
            s["name"]
            for s in (symbols if isinstance(symbols, list) else [])
            if isinstance(s, dict) and isinstance(s.get("name"), str)
        ]
        found.append((module["path"], tuple(names)))
    return tuple(found)


def read_plan(root: Path) -> Plan:
    """Read ``root/architecture/plan.json``.

    Raises:
        PlanError: if it is missing, not JSON, or lacks the files list.

    """
    try:  # the run's folder is the run's: read through runfiles, never through a link
        data = json.loads(read_file(root, PLAN_PATH, PLAN_BYTES))
    except RefusedFileError as exc:
        if exc.errno == errno.ENOENT:
            raise PlanError(f"no {PLAN_PATH} in the run's folder") from None
        raise PlanError(f"{PLAN_PATH} was not read: it {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"{PLAN_PATH} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PlanError(f"{PLAN_PATH} is not a JSON object")
    files = data.get("files")
    if not isinstance(files, list) or not files:
        raise PlanError(f"{PLAN_PATH} lists no files")
    deps = data.get("dependencies") or []
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise PlanError(f"{PLAN_PATH}: dependencies must be a list of strings")
    return Plan(
        kind=_text(data, "kind"),
        entry_point=_text(data, "entry_point"),
        dependencies=tuple(deps),
        test_command=_text(data, "test_command"),
        files=tuple(_file(item) for item in files),
        symbols=_symbols(data.get("modules")),
    )
