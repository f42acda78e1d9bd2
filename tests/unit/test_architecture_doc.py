"""docs/architecture.md is held to the code: every module is on its map, every row's path exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "devfactory"
DOC = (ROOT / "docs" / "architecture.md").read_text()


def section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else None]


def test_every_module_is_on_the_map() -> None:
    listed = section("Module map")
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if path.name == "__init__.py" and relative.parent != Path("graph/stage"):
            continue  # a package is on the map by its folder
        if "drivers" in relative.parts:
            continue  # listed as a folder
        if not re.search(rf"(?<![\w/]){re.escape(path.name)}|{re.escape(path.stem)}\.py", listed):
            missing.append(str(relative))
    assert not missing, f"docs/architecture.md's module map lacks: {missing}"


def test_every_path_in_the_change_table_exists() -> None:
    table = section("To change X, open Y")
    paths = {p for p in re.findall(r"`([\w/.*<>-]+\.(?:py|yaml|md))`", table)}
    assert len(paths) > 25  # the table names files, and this test reads them
    missing = []
    for path in sorted(paths):
        if "<" in path:
            continue  # a pattern: teams/<slug>/...
        base = ROOT if path.startswith(("tests/", "docs/", "eval/")) else PACKAGE
        if not list(base.glob(path)):
            missing.append(path)
    assert not missing, f"the table names files that do not exist: {missing}"


MAX_MODULES_PER_FOLDER = 20  # issue 61: a folder a newcomer opens has an order of its own


def test_no_two_product_modules_share_a_base_name() -> None:
    seen: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name not in ("__init__.py", "__main__.py"):
            seen.setdefault(path.name, []).append(str(path.relative_to(PACKAGE)))
    shared = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not shared, f"modules that share a base name: {shared}"


def test_no_folder_holds_more_than_twenty_modules() -> None:
    crowded = {
        str(folder.relative_to(PACKAGE)): count
        for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]
        if (count := len(list(folder.glob("*.py")))) > MAX_MODULES_PER_FOLDER
    }
    assert not crowded, f"folders of more than {MAX_MODULES_PER_FOLDER} modules: {crowded}"
