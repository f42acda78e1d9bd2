"""The evaluation reads a run's folder as every reader does: through runfiles, never a link."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eval.measure import acceptance_workspace, copy_project
from eval.plan import PLAN_PATH, PlanError, read_plan

PLAN = {
    "kind": "cli",
    "test_command": "pytest -q",
    "entry_point": "python -m tool",
    "files": [
        {"path": "tool.py", "owner": "backend-engineering", "role": "code"},
        {"path": "tests/test_tool.py", "owner": "qa-engineering", "role": "tests"},
    ],
}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the run, holding a plan and a module someone else wrote."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps(PLAN))
    (folder / "tool.py").write_text("SECRET = 'root-only'\n")
    return folder


def test_a_plan_that_is_a_link_is_not_read(tmp_path: Path, outside: Path) -> None:
    run = tmp_path / "run"
    (run / "architecture").mkdir(parents=True)
    (run / PLAN_PATH).symlink_to(outside / "plan.json")
    with pytest.raises(PlanError, match="symbolic link"):
        read_plan(run)
    (run / PLAN_PATH).unlink()
    (run / "architecture").rmdir()
    (run / "architecture").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PlanError, match="symbolic link"):
        read_plan(run)


def test_a_planned_file_that_is_a_link_is_missing(tmp_path: Path, outside: Path) -> None:
    run = tmp_path / "run"
    (run / "architecture").mkdir(parents=True)
    (run / PLAN_PATH).write_text(json.dumps(PLAN))
    (run / "tool.py").symlink_to(outside / "tool.py")
    (run / "tests").mkdir()
    (run / "tests" / "test_tool.py").write_text("def test_it():\n    pass\n")
    assert read_plan(run).missing(run) == ["tool.py"]


def test_a_run_is_copied_with_links_as_links_and_no_fifo_cache_or_history(
    tmp_path: Path, outside: Path
) -> None:
    run = tmp_path / "run"
    (run / "pkg" / "__pycache__").mkdir(parents=True)
    (run / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (run / "pkg" / "mod.py").write_text("X = 1\n")
    (run / "pkg" / "stale.pyc").write_bytes(b"\0")
    (run / ".git").mkdir()
    (run / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (run / "leak.py").symlink_to(outside / "tool.py")
    os.mkfifo(run / "pipe")  # copying it would block on open
    (run / "_eval_acceptance").symlink_to(outside, target_is_directory=True)
    copied = copy_project(run, tmp_path / "copy")
    names = sorted(
        str(p.relative_to(copied)) for p in copied.rglob("*") if not p.is_dir() or p.is_symlink()
    )
    assert names == ["_eval_acceptance", "leak.py", "pkg/mod.py"]
    assert os.readlink(copied / "leak.py") == str(outside / "tool.py")  # its text, not its target
    assert (copied / "pkg" / "mod.py").read_text() == "X = 1\n"
    assert (outside / "tool.py").read_text() == "SECRET = 'root-only'\n"


def test_the_acceptance_folder_replaces_a_link_of_that_name_and_leaves_its_target(
    tmp_path: Path, outside: Path
) -> None:
    from eval.catalog import load_cases

    case = load_cases()[0]
    run = tmp_path / "run"
    run.mkdir()
    (run / "_eval_acceptance").symlink_to(outside, target_is_directory=True)
    workspace = acceptance_workspace(run, case, tmp_path / "acceptance")
    folder = workspace / "_eval_acceptance"
    assert folder.is_dir() and not folder.is_symlink()
    assert (folder / "conftest.py").is_file()
    assert sorted(p.name for p in outside.iterdir()) == ["plan.json", "tool.py"]
