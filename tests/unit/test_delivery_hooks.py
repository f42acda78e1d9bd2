"""Delivering into a repository on this machine runs none of its code, and only into that one.

Issue 58 item 1: pushing a run's branch into a local repository ran that
repository's ``pre-receive``, ``update``, ``reference-transaction``,
``post-receive`` and ``post-update`` hooks as the factory's user, before any
approval. Item 2: ``repo_local_roots`` was checked only when the run was
submitted, so a folder swapped for a link afterwards was cloned and delivered
into though it lies outside the roots.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from devfactory.factory.intake import check_clone, clone_into_run
from devfactory.repos.repository import (
    RepositoryError,
    clone_for_run,
    merge_into_base,
    push_branch,
)
from devfactory.repos.workspace import Workspace
from devfactory.settings import Settings
from tests.repos import git

MB = 2**20
HOOKS = (
    "pre-receive", "update", "reference-transaction", "post-receive", "post-update",
    "push-to-checkout", "proc-receive", "pre-push", "post-checkout", "post-merge",
    "pre-auto-gc", "post-rewrite",
)  # fmt: skip


def _plant(git_dir: Path, marks: Path) -> None:
    """Plant every hook, a hooks path, an fsmonitor and an alternate-refs command in ``git_dir``.

    Each writes its name into ``marks`` when it runs.
    """
    marks.mkdir(exist_ok=True)
    for folder in (git_dir / "hooks", git_dir / "other-hooks"):
        folder.mkdir(exist_ok=True)
        for name in HOOKS:
            hook = folder / name
            hook.write_text(f"#!/bin/sh\ntouch '{marks}/{folder.name}-{name}'\nexit 0\n")
            hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    runner = git_dir / "run-me.sh"
    runner.write_text(f'#!/bin/sh\ntouch \'{marks}/command-\'"$(basename "$0")"\nexit 0\n')
    runner.chmod(0o755)
    # an alternate object store, so the alternate-refs command would be asked for its refs
    spare = git_dir.parent / "spare.git"
    git("init", "-q", "--bare", str(spare), cwd=git_dir.parent)
    (git_dir / "objects" / "info").mkdir(parents=True, exist_ok=True)
    (git_dir / "objects" / "info" / "alternates").write_text(f"{spare / 'objects'}\n")
    config = git_dir / "config"
    config.write_text(
        config.read_text()
        + f"[core]\n\tfsmonitor = {runner}\n\talternateRefsCommand = {runner}\n"
        + "[receive]\n\tautogc = true\n[gc]\n\tauto = 1\n"
    )


def _source(tmp_path: Path, *, bare: bool) -> tuple[Path, Path]:
    """Return a repository (bare or with a working tree on ``main``) and its git folder."""
    work = tmp_path / "work"
    (work / "pkg").mkdir(parents=True)
    (work / "pkg" / "core.py").write_text("def run(x: int) -> int:\n    return x\n")
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    if not bare:
        git("switch", "-q", "-c", "elsewhere", cwd=work)  # main itself is not checked out
        return work, work / ".git"
    repo = tmp_path / "repo.git"
    git("clone", "-q", "--bare", str(work), str(repo), cwd=tmp_path)
    return repo, repo


def _commit(dest: Path) -> None:
    (dest / "pkg" / "extra.py").write_text("def more() -> int:\n    return 1\n")
    workspace = Workspace(dest)
    workspace.init()
    workspace.commit_stage("backend-engineering", "Backend Engineering", ["pkg/extra.py"], "more")


@pytest.mark.parametrize("bare", [True, False], ids=["bare", "with-a-working-tree"])
def test_delivering_and_merging_runs_none_of_the_repository_s_hooks(
    tmp_path: Path, bare: bool
) -> None:
    """Issue 58 item 1: every hook planted in the source, none runs; the branch still arrives."""
    repo, git_dir = _source(tmp_path, bare=bare)
    dest = tmp_path / "run"
    found = clone_for_run(str(repo), "main", "r1", dest, timeout=60, max_bytes=MB)
    marks = tmp_path / "marks"
    _plant(git_dir, marks)
    git("config", "core.hooksPath", str(git_dir / "other-hooks"), cwd=git_dir)
    # a remote named as the run's folder: its upload-pack would be a command of the source's
    here = str(dest.resolve() / ".git")
    git("config", f"remote.{here}.uploadpack", str(git_dir / "run-me.sh"), cwd=git_dir)
    _commit(dest)

    pushed = push_branch(dest, found, timeout=60)
    assert pushed.ok, pushed.message
    head = git("rev-parse", "HEAD", cwd=dest)
    assert git("rev-parse", "devfactory/r1", cwd=git_dir) == head
    merged = merge_into_base(dest, found, timeout=60)
    assert merged.ok, merged.message
    assert git("rev-parse", "main", cwd=git_dir) == head
    assert sorted(p.name for p in marks.iterdir()) == []


def test_the_planted_hooks_do_run_when_git_pushes_as_it_did_before(tmp_path: Path) -> None:
    """The control: a plain ``git push`` into the same planted repository runs its hooks."""
    repo, git_dir = _source(tmp_path, bare=True)
    dest = tmp_path / "run"
    clone_for_run(str(repo), "main", "r1", dest, timeout=60, max_bytes=MB)
    marks = tmp_path / "marks"
    _plant(git_dir, marks)
    _commit(dest)
    git("-c", "core.hooksPath=/dev/null", "push", "-q", "origin", "devfactory/r1", cwd=dest)
    ran = {p.name for p in marks.iterdir()}
    assert {"hooks-pre-receive", "hooks-update", "hooks-post-receive"} <= ran


def test_a_checked_out_base_is_never_moved_in_any_working_tree(tmp_path: Path) -> None:
    """A base checked out in a second working tree of the source stays where it is."""
    repo, git_dir = _source(tmp_path, bare=False)
    dest = tmp_path / "run"
    found = clone_for_run(str(repo), "main", "r1", dest, timeout=60, max_bytes=MB)
    git("worktree", "add", "-q", str(tmp_path / "second"), "main", cwd=repo)
    before = git("rev-parse", "main", cwd=repo)
    _commit(dest)
    merged = merge_into_base(dest, found, timeout=60)
    assert not merged.ok and "checked out" in merged.message
    assert git("rev-parse", "main", cwd=repo) == before
    assert git("rev-parse", "devfactory/r1", cwd=repo) == git("rev-parse", "HEAD", cwd=dest)


def _swap_for_link(folder: Path, target: Path) -> None:
    shutil.rmtree(folder)
    os.symlink(target, folder)


def test_a_folder_swapped_for_a_link_after_submit_is_neither_cloned_nor_delivered_into(
    settings: Settings, tmp_path: Path
) -> None:
    """Issue 58 item 2: the roots hold where the folder is opened, at the clone and at delivery."""
    roots = tmp_path / "roots"
    roots.mkdir()
    inside, _ = _source(roots, bare=True)
    outside, _ = _source(tmp_path / "outside", bare=True)
    held = settings.with_overrides(repo_local_roots=(roots,))

    order = check_clone(held, str(inside), "main", confined=True)
    assert order.confined and order.source == str(inside.resolve())
    _swap_for_link(inside, outside)  # after the 202, before the worker clones
    with pytest.raises(RepositoryError, match="goes through a link"):
        clone_into_run(held, order, "r1", tmp_path / "run1")
    assert not any((tmp_path / "run1").iterdir())  # nothing of the outside repository read

    os.unlink(inside)
    inside, _ = _source(roots / "second", bare=True)
    order = check_clone(held, str(inside), "main", confined=True)
    delivery = clone_into_run(held, order, "r2", tmp_path / "run2")
    assert delivery.confined and delivery.identity
    _commit(tmp_path / "run2")
    _swap_for_link(inside, outside)  # after the clone, before the branch goes back
    pushed = push_branch(tmp_path / "run2", delivery, timeout=60, roots=(roots,))
    assert not pushed.ok and "link" in pushed.message
    assert not git("branch", "--list", "devfactory/*", cwd=outside)
    merged = merge_into_base(tmp_path / "run2", delivery, timeout=60, roots=(roots,))
    assert not merged.ok


def test_a_folder_replaced_by_another_repository_is_not_delivered_into(tmp_path: Path) -> None:
    """The run delivers into the repository it was cloned from: one moved into its place is not."""
    repo, _ = _source(tmp_path / "a", bare=True)
    other, _ = _source(tmp_path / "b", bare=True)
    dest = tmp_path / "run"
    found = clone_for_run(str(repo), "main", "r1", dest, timeout=60, max_bytes=MB)
    _commit(dest)
    repo.rename(tmp_path / "a" / "kept.git")
    other.rename(repo)  # another repository moved into the folder the run was cloned from
    pushed = push_branch(dest, found, timeout=60)
    assert not pushed.ok and "not the one the run was cloned from" in pushed.message
    assert not git("branch", "--list", "devfactory/*", cwd=repo)


def test_a_confined_source_outside_the_roots_is_refused_at_submit_and_at_delivery(
    settings: Settings, tmp_path: Path
) -> None:
    """A source taken under the roots is held to them again when the roots change."""
    roots = tmp_path / "roots"
    roots.mkdir()
    repo, _ = _source(roots, bare=True)
    held = settings.with_overrides(repo_local_roots=(roots,))
    with pytest.raises(Exception, match="repo_local_roots"):
        check_clone(settings.with_overrides(repo_local_roots=()), str(repo), None, confined=True)
    order = check_clone(held, str(repo), "main", confined=True)
    delivery = clone_into_run(held, order, "r1", tmp_path / "run")
    _commit(tmp_path / "run")
    elsewhere = tmp_path / "other-root"
    elsewhere.mkdir()
    pushed = push_branch(tmp_path / "run", delivery, timeout=60, roots=(elsewhere,))
    assert not pushed.ok and "repo_local_roots" in pushed.message
    assert push_branch(tmp_path / "run", delivery, timeout=60, roots=(roots,)).ok


def test_the_operator_s_own_path_through_a_link_is_taken_once_resolved(
    settings: Settings, tmp_path: Path
) -> None:
    """A path given with a link in it is resolved when the run is asked for, then held."""
    from devfactory.factory.intake import checkout
    from devfactory.repos.repository import delivery_of

    repo, _ = _source(tmp_path / "real", bare=True)
    (tmp_path / "via").symlink_to(tmp_path / "real")
    linked = tmp_path / "via" / "repo.git"
    run_id, out = checkout(settings, str(linked), "main", run_id="r1", out_dir=tmp_path / "run")
    found = delivery_of(out, run_id)
    assert found is not None and found.source == str(repo.resolve())
    order = check_clone(settings, str(linked), "main")
    assert order.source == str(repo.resolve()) and not order.confined


def test_a_url_rewrite_in_the_source_s_configuration_cannot_bring_in_another_branch(
    tmp_path: Path,
) -> None:
    """The source's ``url.*.insteadOf`` could send the fetch to another repository holding
    a branch of the same name: what arrives must be the run's own branch, or it is refused."""
    repo, git_dir = _source(tmp_path / "a", bare=True)
    dest = tmp_path / "run"
    found = clone_for_run(str(repo), "main", "r1", dest, timeout=60, max_bytes=MB)
    _commit(dest)
    other = tmp_path / "other"
    other.mkdir()
    git("init", "-q", "-b", "devfactory/r1", cwd=other)
    (other / "planted.txt").write_text("not the run's\n")
    git("add", ".", cwd=other)
    git("commit", "-q", "-m", "planted", cwd=other)
    here = str(dest.resolve() / ".git")
    git("config", f"url.{other / '.git'}.insteadOf", here, cwd=git_dir)
    pushed = push_branch(dest, found, timeout=60)
    assert not pushed.ok and "not the run's branch" in pushed.message
    assert not git("branch", "--list", "devfactory/*", cwd=git_dir)  # nothing left behind
