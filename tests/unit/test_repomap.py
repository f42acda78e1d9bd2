"""The repository map the plan is shown: bounded, public names only, tests found."""

from __future__ import annotations

import pytest

from devfactory.repos.repomap import (
    MAX_NAMES,
    is_test_file,
    map_repository,
    public_definitions,
)
from devfactory.settings import Settings

MODULE = """
import os

CONSTANT = 1


def area(width: float, height: float = 1.0) -> float:
    return width * height


async def fetch(url: str, *, retries: int = 3) -> bytes:
    return b""


def _helper() -> None:
    pass


class Shape:
    def side(self) -> int:
        return 0


class _Private:
    pass
"""


def test_public_functions_and_classes_are_listed_with_their_parameters() -> None:
    assert public_definitions(MODULE) == [
        "def area(width: float, height: float=1.0)",
        "def fetch(url: str, *, retries: int=3)",
        "class Shape",
    ]
    assert public_definitions("def broken(:\n") == []  # never run, never guessed


@pytest.mark.parametrize(
    ("path", "test"),
    [("tests/test_calc.py", True), ("calc_test.py", True), ("test_x.py", True),
     ("calc.py", False), ("tests/conftest.py", False), ("testing/tools.py", False)],
)  # fmt: skip
def test_test_files_are_pytest_s(path: str, test: bool) -> None:
    assert is_test_file(path) is test


def test_the_map_lists_the_tree_names_and_tests_within_its_caps() -> None:
    paths = [f"pkg/mod{i:03}.py" for i in range(500)] + ["tests/test_a.py", "README.md"]
    paths += ["pkg/__pycache__/mod000.cpython-311.pyc", ".venv/lib/site.py"]
    texts = {p: "def f(x):\n    return x\n" for p in paths if p.endswith(".py")}
    mapped = map_repository(paths, texts, max_paths=50, max_modules=10)
    assert mapped.total == 502  # caches and virtual environments are not the repository's
    assert len(mapped.paths) == 50 and mapped.paths == tuple(sorted(mapped.paths))
    assert len(mapped.modules) == 10 and mapped.modules["pkg/mod000.py"] == ("def f(x)",)
    assert mapped.tests == ("tests/test_a.py",)
    assert mapped.test_command == "python -m pytest -q tests/test_a.py"
    text = mapped.render(100_000)
    assert "Files (502, 452 not listed)" in text
    assert "Existing tests (they must still pass): tests/test_a.py" in text
    assert "pkg/mod499.py" not in text


def test_a_module_lists_at_most_its_cap_of_names() -> None:
    source = "\n".join(f"def f{i}():\n    pass\n" for i in range(MAX_NAMES + 10))
    mapped = map_repository(["big.py"], {"big.py": source}, max_paths=10)
    assert len(mapped.modules["big.py"]) == MAX_NAMES


@pytest.mark.parametrize("limit", [500, 2000])
def test_the_rendered_map_never_passes_its_character_cap(limit: int) -> None:
    paths = [f"src/very/long/folder/name/module_{i}.py" for i in range(300)]
    texts = {p: MODULE for p in paths}
    text = map_repository(paths, texts, max_paths=300).render(limit)
    assert len(text) <= limit
    assert text.endswith("(the map goes on: cut to fit)")


def test_the_repository_settings_are_bounded_at_their_caps() -> None:
    top = Settings(
        repo_git_timeout_s=3600,
        repo_max_mb=20_000,
        repo_map_files=5000,
        repo_map_chars=100_000,
        repo_file_chars=200_000,
        repo_read_bytes=1_000_000_000,
    )
    assert top.repos.repo_map_chars == 100_000
    for field, value in [("repo_git_timeout_s", 3601), ("repo_max_mb", 20_001),
                         ("repo_map_files", 5001), ("repo_map_chars", 100_001),
                         ("repo_file_chars", 200_001), ("repo_read_bytes", 1_000_000_001),
                         ("repo_map_chars", 499), ("repo_git_timeout_s", 4)]:  # fmt: skip
        with pytest.raises(ValueError, match=field):
            Settings(**{field: value})
    with pytest.raises(ValueError, match="repo_local_roots"):
        Settings(repo_local_roots=tuple(f"/srv/{i}" for i in range(51)))
