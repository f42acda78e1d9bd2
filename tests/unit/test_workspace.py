"""The run folder's git history: real git in temporary folders, no network."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devfactory.repos.workspace import MARK, Workspace, WorkspaceError


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "run")
    workspace.root.mkdir()
    workspace.init()
    return workspace


def test_a_stage_commit_is_authored_by_its_team_with_its_message(ws: Workspace) -> None:
    write(ws.root, "analysis/requirements.md", "# Requirements\n")
    write(ws.root, "notes.txt", "not the team's\n")
    message = "Business Analysis: wrote the requirements\n\nconfidence: 0.83\nattempts: 2\n"
    sha = ws.commit_stage(
        "business-analysis", "Business Analysis", ["analysis/requirements.md"], message
    )
    assert sha is not None and sha == ws.head()
    [commit] = ws.log()
    assert commit.sha == sha
    assert commit.author == "Business Analysis <business-analysis@devfactory.local>"
    assert commit.subject == "Business Analysis: wrote the requirements"
    assert commit.body == "confidence: 0.83\nattempts: 2"
    assert commit.files == ("analysis/requirements.md",)  # exactly the paths named
    branch = (ws.git_dir / "HEAD").read_text().strip()
    assert branch == "ref: refs/heads/main"


def test_init_is_idempotent_and_keeps_the_history(ws: Workspace) -> None:
    write(ws.root, "a.md", "a\n")
    sha = ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: a")
    ws.init()
    assert ws.exists() and ws.head() == sha


def test_nothing_changed_makes_no_commit(ws: Workspace) -> None:
    write(ws.root, "a.md", "a\n")
    first = ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: a")
    assert first is not None
    assert ws.commit_stage("documentation", "Documentation", ["a.md"], "again") is None
    assert ws.commit_stage("documentation", "Documentation", [], "no files") is None
    assert ws.commit_all("devfactory: run summary") is None
    assert [c.sha for c in ws.log()] == [first]


def test_the_summary_commit_takes_every_file_of_the_folder(ws: Workspace) -> None:
    write(ws.root, "src/app.py", "best so far\n")  # a BLOCKED stage's best version is delivered
    write(ws.root, "SUMMARY.md", "# Run\n")
    write(ws.root, "run.json", "{}\n")
    sha = ws.commit_all("devfactory: run summary")
    assert sha is not None
    [commit] = ws.log()
    assert commit.files == ("SUMMARY.md", "run.json", "src/app.py")
    assert commit.author == "devfactory <factory@devfactory.local>"
    assert ws.commit_all("devfactory: run summary") is None  # nothing changed, no commit


def test_a_revise_round_continues_the_same_history(ws: Workspace) -> None:
    write(ws.root, "src/app.py", "print(1)\n")
    first = ws.commit_stage("backend-engineering", "Backend Engineering", ["src/app.py"], "r1")
    write(ws.root, "run.json", '{"status": "PAUSED"}\n')
    summary = ws.commit_all("devfactory: run summary")
    write(ws.root, "src/app.py", "print(2)\n")  # the reviewer asked for changes
    second = ws.commit_stage("backend-engineering", "Backend Engineering", ["src/app.py"], "r2")
    assert [c.sha for c in ws.log()] == [second, summary, first]
    team_diff = ws.diff("backend-engineering")
    assert "-print(1)" in team_diff and "+print(2)" in team_diff
    assert "run.json" not in team_diff
    whole = ws.diff()
    assert "+print(2)" in whole and "print(1)" not in whole and "+++ b/run.json" in whole
    assert ws.diff("qa-engineering") == ""
    assert ws.last_commit("backend-engineering").subject == "r2"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["--help", "-rf", "--all", "-m", "x; rm -rf ~", ":(glob)*"])
def test_names_that_look_like_options_or_shell_are_committed_as_files(
    ws: Workspace, name: str
) -> None:
    write(ws.root, name, "kept\n")
    write(ws.root, "other.md", "not named\n")
    sha = ws.commit_stage("qa-engineering", "QA Engineering", [name], "QA Engineering: odd name")
    assert sha is not None
    assert ws.log()[0].files == (name,)


def test_paths_that_leave_the_folder_or_reach_into_git_are_refused(ws: Workspace) -> None:
    for bad in ("../x", "/etc/passwd", "a/.git/config", "a/.GIT/hooks/pre-commit", "a//b"):
        with pytest.raises(WorkspaceError):
            ws.commit_stage("qa-engineering", "QA Engineering", [bad], "bad")
    assert ws.log() == []


def test_a_corrupted_repository_raises_workspace_error(ws: Workspace) -> None:
    write(ws.root, "a.md", "a\n")
    ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: a")
    (ws.git_dir / "HEAD").write_text("garbage\n")
    write(ws.root, "a.md", "b\n")
    with pytest.raises(WorkspaceError, match="git .* failed"):
        ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: b")
    with pytest.raises(WorkspaceError):
        ws.log()


def test_a_missing_object_store_raises_workspace_error(ws: Workspace) -> None:
    write(ws.root, "a.md", "a\n")
    ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: a")
    subprocess.run(["rm", "-rf", str(ws.git_dir / "objects")], check=True)
    with pytest.raises(WorkspaceError):
        ws.diff()


def test_git_that_cannot_run_raises_workspace_error(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with pytest.raises(WorkspaceError, match="not found"):
        Workspace(tmp_path / "run", git="/nonexistent/git").init()
    with pytest.raises(WorkspaceError, match="is not there"):
        Workspace(tmp_path / "gone").head()


def test_a_folder_that_cannot_hold_a_repository_raises_workspace_error(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".git").write_text("gitdir: /somewhere/else\n")  # a file, not a folder
    with pytest.raises(WorkspaceError, match="not a folder"):
        Workspace(tmp_path / "run").init()
    with pytest.raises(WorkspaceError, match="cannot make"):
        Workspace(tmp_path / "run" / ".git" / "sub").init()  # its parent is a file


def test_a_folder_that_held_files_before_gets_no_repository(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("someone's\n")
    workspace = Workspace(tmp_path)
    with pytest.raises(WorkspaceError, match="held files before the run"):
        workspace.init()
    assert not workspace.git_dir.exists()


def test_someone_elses_repository_is_left_alone(tmp_path: Path) -> None:
    theirs = tmp_path / "project"
    theirs.mkdir()
    subprocess.run(["git", "init", "-q", str(theirs)], check=True)
    workspace = Workspace(theirs)
    with pytest.raises(WorkspaceError, match="did not make"):
        workspace.init()
    assert not workspace.exists()
    assert not (theirs / ".git" / MARK).exists()


def test_a_folder_without_history_is_not_mistaken_for_a_parent_repository(
    ws: Workspace,
) -> None:
    write(ws.root, "a.md", "a\n")
    ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: a")
    inner = Workspace(ws.root / "sub")
    inner.root.mkdir()
    assert not inner.exists()
    with pytest.raises(WorkspaceError):
        inner.log()  # its own .git is missing: never the history of the folder above


def test_stale_locks_from_a_killed_git_are_cleared_by_init(ws: Workspace) -> None:
    (ws.git_dir / "index.lock").write_text("")
    ws.init()
    write(ws.root, "a.md", "a\n")
    assert ws.commit_stage("documentation", "Documentation", ["a.md"], "Documentation: a")


def test_a_message_starting_with_a_heading_is_kept(ws: Workspace) -> None:
    write(ws.root, "a.md", "a\n")
    ws.commit_stage("documentation", "Documentation", ["a.md"], "# Heading\n\n# kept too\n")
    [commit] = ws.log()
    assert (commit.subject, commit.body) == ("# Heading", "# kept too")


def test_a_git_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    hanging = tmp_path / "git"
    hanging.write_text("#!/bin/sh\nsleep 10\n")
    hanging.chmod(0o755)
    (tmp_path / "run").mkdir()
    with pytest.raises(WorkspaceError, match="took longer than 0.3 s"):
        Workspace(tmp_path / "run", git=str(hanging), timeout=0.3).init()
