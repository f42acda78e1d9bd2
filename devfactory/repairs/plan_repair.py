"""Mechanical repairs of a build plan reply, before it is validated and checked.

Each step is an entry of the ``plan`` registry (``repairs/repair.py``, whose
docstring lists them in the order it applies them); ``repairs.plan_normaliser``
hands that registry to ``ask_structured`` as the plan's normaliser. Each repair
is recorded (it reaches the stage record's ``repairs``), and ``check_plan`` still
judges the result: nothing here relaxes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devfactory.software.plan import BUILT_AS, FileRole

_ROLES = frozenset(r.value for r in FileRole)
_TEST_FILE = re.compile(r"(^|/)(test_\w+|\w+_test|conftest)\.py$")
_RUN_MODULE = re.compile(r"^python3? -m ([A-Za-z_][\w.]*)$")


@dataclass(frozen=True)
class PlanContext:
    """What the plan's repairs know of the run: who writes what, the starting plan if any."""

    owners: Mapping[str, Sequence[FileRole]]
    start: Mapping[str, Any] | None = None

    @property
    def writers(self) -> dict[str, list[str]]:
        """Map each kind of file (a role's value) to the teams that write it."""
        writers: dict[str, list[str]] = {}
        for team, roles in self.owners.items():
            for role in roles:
                writers.setdefault(role.value, []).append(team)
        return writers


def take_start(data: dict[str, Any], plan: PlanContext, repairs: list[str]) -> dict[str, Any]:
    """Take the fields the reply leaves out or empty from the starting plan, when there is one."""
    start = plan.start
    missing = [k for k in (start or {}) if k not in data or data[k] in (None, "")]
    if start and not data.get("files"):  # no files: the starting plan's, with its modules
        missing += ["files"] + ([] if data.get("modules") else ["modules"])
    missing = list(dict.fromkeys(missing))
    if start and missing and any(k in data for k in start):
        data = {**data, **{k: start[k] for k in missing}}
        repairs.append(f"{', '.join(missing)} taken from the starting plan")
    return data


def drop_unwritten(data: dict[str, Any], plan: PlanContext, repairs: list[str]) -> dict[str, Any]:
    """Drop the files of a kind no team of the pipeline writes, and what depended on them."""
    files, writers = data.get("files"), plan.writers
    if not isinstance(files, list):
        return data
    unwritten = {
        i["path"]
        for i in files
        if isinstance(i, dict) and isinstance(i.get("path"), str)
        and str(i.get("role")) in _ROLES and str(i["role"]) not in writers
    }  # fmt: skip
    if unwritten:
        repairs.append(f"{sorted(unwritten)} dropped: no team of this pipeline writes them")
        for key in ("files", "modules"):
            if isinstance(data.get(key), list):
                data[key] = [
                    i for i in data[key] if not (isinstance(i, dict) and i.get("path") in unwritten)
                ]
        _merge_repeated_files(data, repairs)  # and drop what depended on them
    return data


def assign_owners(data: dict[str, Any], plan: PlanContext, repairs: list[str]) -> dict[str, Any]:
    """Give a file whose owner does not write its kind to the one team that does, if one does."""
    writers = plan.writers
    for item in data.get("files") or []:
        if not isinstance(item, dict):
            continue
        who = writers.get(str(item.get("role")), [])
        if item.get("owner") not in who and len(who) == 1:
            repairs.append(f"{item.get('path')}: owner {item.get('owner')!r} -> {who[0]!r}")
            item["owner"] = who[0]
    return data


def add_module_files(data: dict[str, Any], plan: PlanContext, repairs: list[str]) -> dict[str, Any]:
    """Plan the file of each module the plan describes but leaves out of its files.

    Only when the pipeline has one team that writes code, so the owner is not a guess.
    """
    coders = plan.writers.get(FileRole.CODE.value, [])
    files, modules = data.get("files"), data.get("modules")
    if len(coders) != 1 or not isinstance(files, list) or not isinstance(modules, list):
        return data
    planned = {f.get("path") for f in files if isinstance(f, dict)}
    for module in modules:
        path = module.get("path") if isinstance(module, dict) else None
        if isinstance(path, str) and path.endswith(".py") and path not in planned:
            planned.add(path)
            files.insert(
                0,
                {"path": path, "role": "code", "owner": coders[0], "depends_on": [],
                 "purpose": "the module's public functions and classes"},
            )  # fmt: skip
            repairs.append(f"{path}: planned for {coders[0]} (a module missing from the files)")
    return data


def retag_tests(data: dict[str, Any], plan: PlanContext, repairs: list[str]) -> dict[str, Any]:
    """Plan a file named as pytest collects tests (``tests/test_x.py``) as tests, not code."""
    for item in data.get("files") or []:
        path = item.get("path") if isinstance(item, dict) else None
        if item.get("role") == "code" and isinstance(path, str) and _TEST_FILE.search(path):
            item["role"] = FileRole.TESTS.value
            repairs.append(f"{path}: role code -> tests (a tests file by its name)")
    return data


def add_main(data: dict[str, Any], plan: PlanContext, repairs: list[str]) -> dict[str, Any]:
    """Plan ``pkg/__main__.py`` when the entry point runs ``python -m pkg`` on a package."""
    coders = plan.writers.get(FileRole.CODE.value, [])
    found = _RUN_MODULE.match(str(data.get("entry_point") or "").strip())
    files = data.get("files")
    if not found or len(coders) != 1 or not isinstance(files, list):
        return data
    base = found.group(1).replace(".", "/")
    paths = {f.get("path") for f in files if isinstance(f, dict)}
    for root in ("", "src/"):
        init, main = f"{root}{base}/__init__.py", f"{root}{base}/__main__.py"
        if init in paths and main not in paths and f"{root}{base}.py" not in paths:
            files.append(
                {"path": main, "role": "code", "owner": coders[0], "depends_on": [init],
                 "purpose": f"the command line run as `python -m {found.group(1)}`"}
            )  # fmt: skip
            repairs.append(f"{main}: planned for {coders[0]} (`python -m` runs a package)")
            return data
    return data


def add_missing_tests(
    data: dict[str, Any], plan: PlanContext, repairs: list[str]
) -> dict[str, Any]:
    """Plan a tests file when the pipeline has one team that writes tests and none is planned."""
    testers = plan.writers.get(FileRole.TESTS.value, [])
    files = data.get("files")
    if len(testers) != 1 or not isinstance(files, list):
        return data
    planned = [f for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]
    code = [f["path"] for f in planned if f.get("role") == "code" and f["path"].endswith(".py")]
    if not code or any(f.get("role") == "tests" for f in planned):
        return data
    name = code[0].split("/")[0].removesuffix(".py")
    path = f"tests/test_{name}.py"
    if any(f["path"] == path for f in planned):
        return data
    files.append(
        {"path": path, "role": "tests", "owner": testers[0], "depends_on": code[:8],
         "purpose": "tests of every behaviour the requirement names"}
    )  # fmt: skip
    repairs.append(f"{path}: planned for {testers[0]} (the plan had no tests file)")
    return data


def normalise_plan(data: dict[str, Any], repairs: list[str]) -> dict[str, Any]:
    """Repair a plan mechanically: the case of enum values, a bare string for a list."""
    for key in ("kind", "language"):
        if isinstance(data.get(key), str) and data[key] != data[key].strip().lower():
            data[key] = data[key].strip().lower().replace(" ", "-").replace("_", "-")
            repairs.append(f"{key} lower-cased")
    if data.get("kind") in BUILT_AS:
        built = BUILT_AS[data["kind"]].value
        repairs.append(f"kind {data['kind']} read as {built} (what builds it)")
        data["kind"] = built
    for item in data.get("files") or []:
        if isinstance(item, dict):
            if isinstance(item.get("role"), str):
                item["role"] = item["role"].strip().lower()
            if isinstance(item.get("depends_on"), str):
                item["depends_on"] = [item["depends_on"]] if item["depends_on"] else []
                repairs.append("depends_on wrapped in a list")
    _object_paths(data, repairs)
    _merge_repeated_files(data, repairs)
    _break_cycles(data, repairs)
    _tidy_endpoints(data, repairs)
    _drop_repeated_entries(data, repairs)
    if isinstance(data.get("dependencies"), str):
        data["dependencies"] = [d.strip() for d in data["dependencies"].split(",") if d.strip()]
        repairs.append("dependencies split into a list")
    if data.get("entry_point") is None:
        data["entry_point"] = ""
    return data


_OBJECT = re.compile(r"^([A-Za-z_][\w.]*):[A-Za-z_]\w*$")  # bakery:app, as uvicorn names it


def _object_paths(data: dict[str, Any], repairs: list[str]) -> None:
    """Plan the module's file where a file path names an object in it (``bakery:app``).

    The file is the module's as the plan gives it elsewhere (its files or
    modules, ``src/`` layout included), else ``<module>.py``; ``depends_on``
    entries follow. A file listed twice after this is merged as usual.
    """
    files = data.get("files")
    if not isinstance(files, list):
        return
    known = [
        str(i["path"])
        for key in ("files", "modules")
        for i in data.get(key) or []
        if isinstance(i, dict) and isinstance(i.get("path"), str)
    ]
    moved: dict[str, str] = {}
    for item in files:
        found = _OBJECT.match(str(item.get("path"))) if isinstance(item, dict) else None
        if found is None:
            continue
        base = found.group(1).replace(".", "/")
        options = [f"{root}{base}{end}" for root in ("", "src/") for end in ("/__init__.py", ".py")]
        target = next((p for p in options if p in known), f"{base}.py")
        moved[item["path"]] = target
        repairs.append(f"{item['path']}: an object in a module, planned as its file {target}")
        item["path"] = target
    for item in files:
        deps = item.get("depends_on") if isinstance(item, dict) else None
        if moved and isinstance(deps, list):
            item["depends_on"] = [moved.get(d, d) if isinstance(d, str) else d for d in deps]


def _merge_repeated_files(data: dict[str, Any], repairs: list[str]) -> None:
    """Keep one entry per file path: the first, with every entry's ``depends_on``.

    Then drop ``depends_on`` entries that name no planned file, or the file itself.
    """
    files = data.get("files")
    if not isinstance(files, list):
        return
    kept: dict[str, dict[str, Any]] = {}
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        first = kept.setdefault(item["path"], item)
        if first is not item:
            repairs.append(f"{item['path']}: listed twice, merged into its first entry")
            before, more = first.get("depends_on"), item.get("depends_on")
            first["depends_on"] = [
                *(before if isinstance(before, list) else []),
                *(more if isinstance(more, list) else []),
            ]
    if len(kept) < sum(isinstance(i, dict) and isinstance(i.get("path"), str) for i in files):
        data["files"] = [*kept.values(), *(i for i in files if not isinstance(i, dict))]
    for path, item in kept.items():
        deps = item.get("depends_on")
        if not isinstance(deps, list):
            continue
        known = [d for d in dict.fromkeys(deps) if d in kept and d != path]
        if len(known) != len(deps):
            dropped = [d for d in deps if d not in known]
            repairs.append(f"{path}: depends_on {dropped} dropped (not other planned files)")
            item["depends_on"] = known


def _break_cycles(data: dict[str, Any], repairs: list[str]) -> None:
    """Drop a file's dependency on a file planned after it that depends back on it.

    Files are drafted in plan order, so the earlier file of a cycle could never
    see the later one's signatures anyway; the later one keeps its dependency.
    """
    files = [f for f in data.get("files") or [] if isinstance(f, dict)]
    order = {f.get("path"): n for n, f in enumerate(files) if isinstance(f.get("path"), str)}
    deps = {
        f["path"]: [d for d in f.get("depends_on") or [] if d in order]
        for f in files
        if f.get("path") in order and isinstance(f.get("depends_on"), list)
    }

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo += deps.get(node, [])
        return False

    for item in files:
        path = item.get("path")
        if not isinstance(path, str) or path not in deps:
            continue
        back = [d for d in deps[path] if order[d] > order[path] and reaches(d, path)]
        if back:
            repairs.append(f"{path}: depends_on {back} dropped (planned later, and back on it)")
            deps[path] = [d for d in deps[path] if d not in back]
            item["depends_on"] = [d for d in item["depends_on"] if d not in back]


_METHOD = re.compile(r"^(GET|POST|PUT|PATCH|DELETE)\s+", re.I)
_PATH_OK = re.compile(r"^/[A-Za-z0-9_{}/.:-]*$")


def _tidy_endpoints(data: dict[str, Any], repairs: list[str]) -> None:
    """Write endpoint paths as the plan's pattern asks: ``/items/{id}``.

    Quotes, a method written into the path (its method field takes it when
    empty), a scheme and host, words after the path, a query string, a
    trailing slash and parameters written ``<int:id>``, ``{id:int}``, ``[id]`` or
    ``:id`` are the forms small models use; a path still not clean after that
    is left to fail.
    """
    for item in data.get("endpoints") or []:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        path = item["path"].strip().strip("`'\"").strip()
        said = _METHOD.match(path)
        if said:
            path = path[said.end() :]
            item.setdefault("method", said[1])
        method = item.get("method")
        if isinstance(method, str) and method != method.strip().upper():
            item["method"] = method.strip().upper()
            repairs.append(f"endpoint method {method!r} -> {item['method']!r}")
        path = _clean_path(path)
        if path != item["path"] and _PATH_OK.match(path):
            repairs.append(f"endpoint {item['path']!r} -> {path!r}")
            item["path"] = path


_PARAMETERS = (
    (re.compile(r"<(?:\w+:)?(\w+)>"), r"{\1}"),  # Flask: <int:id>
    (re.compile(r"\{(\w+):[^}]*\}"), r"{\1}"),  # a typed parameter: {id:int}
    (re.compile(r"\[(\w+)\]"), r"{\1}"),  # [id]
    (re.compile(r"(?<=/):(\w+)"), r"{\1}"),  # Express: /:id
)


def _clean_path(path: str) -> str:
    """Return ``path`` without a scheme and host, words after it, a query, a trailing slash."""
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/\s]*", "", path, flags=re.I)
    words = path.split()
    path = next((w for w in words if w.startswith("/")), words[0] if words else "")
    path = path.split("?")[0].split("#")[0].rstrip(",;")
    for pattern, replacement in _PARAMETERS:
        path = pattern.sub(replacement, path)
    return "/" + path.strip("/") if path else path


def _drop_repeated_entries(data: dict[str, Any], repairs: list[str]) -> None:
    """Keep one of each command, endpoint and module symbol the plan repeats word for word."""
    lists: list[tuple[str, Any]] = [
        ("commands", data.get("commands")),
        ("endpoints", data.get("endpoints")),
    ]
    lists += [
        (f"{m.get('path')} symbols", m.get("symbols"))
        for m in data.get("modules") or []
        if isinstance(m, dict)
    ]
    for name, entries in lists:
        if not isinstance(entries, list):
            continue
        kept = list({json.dumps(e, sort_keys=True): e for e in entries}.values())
        if len(kept) < len(entries):
            repairs.append(f"{name}: {len(entries) - len(kept)} repeated entries dropped")
            entries[:] = kept
