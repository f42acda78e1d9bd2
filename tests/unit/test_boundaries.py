"""Package boundaries: graph/ never imports api/ or chat/; api/ never imports chainlit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "devfactory"


def imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("graph", ("devfactory.api", "devfactory.chat", "devfactory.cli", "chainlit", "fastapi")),
        ("teams", ("devfactory.graph", "devfactory.api", "devfactory.chat")),
        ("api", ("chainlit", "devfactory.chat")),
    ],
)
def test_package_does_not_import(package: str, forbidden: tuple[str, ...]) -> None:
    bad = {m for m in imports(package) if m.startswith(forbidden)}
    assert not bad, f"{package}/ imports {bad}"


def test_teams_folders_hold_no_python() -> None:
    for folder in (ROOT / "teams").iterdir():
        if folder.is_dir() and (folder / "team.yaml").exists():
            assert not list(folder.glob("*.py")), f"{folder.name} has Python code"
