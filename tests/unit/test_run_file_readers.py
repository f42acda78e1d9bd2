"""The code checks read a workspace the code ran in through runfiles: a link there reads nothing."""

from __future__ import annotations

from pathlib import Path

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.code import verify
from devfactory.checks.code.blame import imported_planned
from devfactory.factory.artifacts import write_file
from tests.unit.test_code_checks import FILES, PLAN, TEAMS

OUTSIDE_TEST = "from wordcount import count_words\n\nSECRET = 'root-only'\n"


def laid_out(root: Path) -> Path:
    root.mkdir()
    for path, content in FILES.items():
        write_file(root, path, content)
    return root


def test_a_repository_test_swapped_for_a_link_is_not_read_for_its_imports(
    tmp_path: Path,
) -> None:
    workspace = laid_out(tmp_path / "ws")
    outside = tmp_path / "outside.py"
    outside.write_text(OUTSIDE_TEST)
    write_file(workspace, "tests/test_old.py", OUTSIDE_TEST)
    assert imported_planned("tests/test_old.py", PLAN, workspace) == "wordcount/__init__.py"
    (workspace / "tests" / "test_old.py").unlink()
    (workspace / "tests" / "test_old.py").symlink_to(outside)
    assert imported_planned("tests/test_old.py", PLAN, workspace) == ""


def test_the_files_a_workspace_holds_are_its_regular_files_without_its_history(
    tmp_path: Path,
) -> None:
    workspace = laid_out(tmp_path / "ws")
    (tmp_path / "secret.py").write_text("print(ROOT_ONLY_NAME)\n")
    (workspace / "leak.py").symlink_to(tmp_path / "secret.py")
    (workspace / ".git" / "hooks").mkdir(parents=True)
    (workspace / ".git" / "hooks" / "post.py").write_text("print(GIT_ONLY_NAME)\n")
    found = verify(PLAN, workspace, None, teams=TEAMS, checks=CHECKS.code)
    lines = [p.line() for p in found.problems]
    assert any("F821" in line and "text" in line for line in lines)  # the run's own file is linted
    assert not any("ROOT_ONLY_NAME" in line or "GIT_ONLY_NAME" in line for line in lines)
