"""A stage's commit costs two git processes, and a commit git refuses is never taken for none."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devfactory.repos.workspace import Workspace, WorkspaceError


def logging_git(tmp_path: Path, *, refuse_commit: bool = False) -> tuple[Path, Path]:
    """Return a git that logs each call's subcommand (and may refuse every commit), and its log."""
    real, calls = shutil.which("git"), tmp_path / "calls.log"
    assert real is not None
    script = tmp_path / "git"
    refuse = 'echo "error: refused by the test" >&2; exit 1' if refuse_commit else ""
    script.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in -*|*=*|/*) ;; *) sub="$a"; break;; esac; done\n'
        f'echo "$sub" >> "{calls}"\n'
        f'if [ "$sub" = commit ]; then {refuse} :; fi\n'
        f'exec "{real}" "$@"\n'
    )
    script.chmod(0o755)
    return script, calls


def test_a_stage_commit_runs_two_git_processes_and_returns_the_new_head(tmp_path: Path) -> None:
    git, calls = logging_git(tmp_path)
    ws = Workspace(tmp_path / "run", git=str(git))
    ws.root.mkdir()
    ws.init()
    for n in range(2):  # the first commit and one after it
        (ws.root / "a.md").write_text(f"version {n}\n")
        calls.write_text("")
        sha = ws.commit_stage("documentation", "Documentation", ["a.md"], f"Documentation: {n}")
        assert calls.read_text().split() == ["add", "commit"]
        assert sha is not None and sha == ws.head() and len(sha) == 40
    (ws.root / "b.md").write_text("b\n")
    calls.write_text("")
    summary = ws.commit_all("devfactory: run summary")
    assert calls.read_text().split() == ["add", "commit"]
    assert summary == ws.head() and summary != sha


def test_an_unchanged_stage_makes_no_commit_and_returns_none(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "run")
    ws.root.mkdir()
    ws.init()
    (ws.root / "a.md").write_text("a\n")
    first = ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: a")
    (ws.root / "other.md").write_text("staged by nobody's stage\n")
    assert ws.commit_stage("documentation", "Documentation", ["a.md"], "again") is None
    assert ws.head() == first
    assert ws.commit_all("devfactory: run summary") not in (None, first)  # other.md


def test_a_commit_git_refuses_while_changes_are_staged_raises(tmp_path: Path) -> None:
    git, _ = logging_git(tmp_path, refuse_commit=True)
    ws = Workspace(tmp_path / "run", git=str(git))
    ws.root.mkdir()
    ws.init()
    (ws.root / "a.md").write_text("a\n")
    with pytest.raises(WorkspaceError, match="git commit failed .*refused by the test"):
        ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: a")
    with pytest.raises(WorkspaceError, match="refused by the test"):
        ws.commit_all("devfactory: run summary")
    assert ws.head() is None
