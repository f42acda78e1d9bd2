"""What sandboxed code can leave for the host: links, FIFOs, sockets, deep trees (issue 24).

The host-side handling of those trees, without bubblewrap: reading a report,
walking, copying back and cleaning a folder, and the seccomp filter that
denies user namespaces. ``tests/integration/test_sandbox.py`` plants the same
traps from inside the real sandbox.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import stat
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devfactory.runfiles import MAX_DEPTH, RefusedFileError, open_folder, read_file, remove_tree
from devfactory.sandbox import seccomp
from devfactory.sandbox.isolation import Bind, Layer, bwrap_argv
from devfactory.sandbox.limits import Limits
from devfactory.sandbox.ownership import describe, hand_over, remove_traps, take_back
from devfactory.sandbox.untrusted import mirror
from devfactory.settings import Settings

DEEP = 1100  # deeper than Python's recursion limit


def nest(root: Path, levels: int, name: str = "d") -> Path:
    """Make ``levels`` nested folders under ``root`` (step by step: the path grows too long)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(levels):
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.symlink("/etc/shadow", "leak", dir_fd=fd)
    os.close(fd)
    return root


def entries(root: Path) -> Iterator[os.DirEntry[str]]:
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as found:
            for entry in found:
                yield entry
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)


def test_a_report_is_read_only_when_it_is_a_regular_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("root-only")
    secret.chmod(0o600)
    (tmp_path / "report.xml").write_text("<testsuite/>")
    assert read_file(tmp_path, "report.xml", 100) == b"<testsuite/>"
    (tmp_path / "link").symlink_to(secret)
    os.mkfifo(tmp_path / "fifo")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        started = time.monotonic()
        for name, why in (
            ("link", "a symbolic link"),
            ("fifo", "a FIFO"),
            ("sock", "a socket"),
            ("absent", "missing"),
        ):
            with pytest.raises(RefusedFileError, match=why):
                read_file(tmp_path, name, 100)
    assert time.monotonic() - started < 1  # the FIFO did not block
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(RefusedFileError, match="larger than 100"):
        read_file(tmp_path, "big", 100)


def test_deep_trees_are_handed_over_taken_back_and_cleaned_without_recursion(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    nest(root, DEEP)
    (root / "top.txt").write_text("x")
    owners = hand_over(root, 65533, 65533)
    assert (root / "top.txt").stat().st_uid == 65533
    take_back(root, owners, (os.geteuid(), os.getegid()))  # and removes what is too deep
    depths = [e.path.count("/") - str(root).count("/") for e in entries(root)]
    assert max(depths) <= MAX_DEPTH
    assert all(e.stat(follow_symlinks=False).st_uid == os.geteuid() for e in entries(root))
    nest(root / "d", DEEP, name="e")
    removed = remove_traps(root)
    assert removed and all(why == "folders nested too deep" for _, why in removed)
    assert not any(e.name == "leak" for e in entries(root))
    remove_tree(root)
    assert not root.exists()


def test_traps_are_removed_and_inside_links_kept(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (root / "kept.txt").write_text("x")
    (root / "inside").symlink_to("kept.txt")
    (root / "self").symlink_to(".")
    (root / "sub" / "up").symlink_to("..")  # the workspace itself: inside
    (root / "sub" / "out").symlink_to("../..")
    (root / "dangling").symlink_to("nowhere")
    os.mkfifo(root / "sub" / "fifo")
    for i in range(DEEP):  # longer than os.path.realpath can follow
        (root / f"chain{i}").symlink_to(f"chain{i + 1}")
    (root / f"chain{DEEP}").symlink_to("/etc/shadow")
    (root / ".git").mkdir()
    (root / ".git" / "hook").symlink_to("/etc/shadow")  # the history is never walked here
    removed = dict(remove_traps(root))
    assert removed["sub/fifo"] == "a FIFO"
    assert removed["sub/out"].startswith("a link leading out")
    assert "dangling" in removed and f"chain{DEEP}" in removed and "chain0" in removed
    left = {e.name for e in entries(root)}
    assert {"kept.txt", "inside", "self", "up", "hook"} <= left
    assert not {"out", "fifo", "dangling", "chain0"} & left
    said = describe(list(removed.items()))
    assert f"{DEEP + 3} x a link leading out" in said and "1 x a FIFO (sub/fifo)" in said


def test_copying_back_keeps_only_folders_files_and_links(tmp_path: Path) -> None:
    host, layer = tmp_path / "host", tmp_path / "layer"
    for folder in (host, layer):
        (folder / "pkg").mkdir(parents=True)
    (host / "same.txt").write_text("same")
    os.chown(host / "same.txt", 1234, 1234)
    (host / "changed.txt").write_text("old")
    os.chown(host / "changed.txt", 1234, 1234)
    (host / "gone.txt").write_text("removed in the sandbox")
    (host / ".git").mkdir()
    (host / ".git" / "HEAD").write_text("ref: main")
    source = open_folder(host)
    target = open_folder(layer)
    try:
        mirror(source, target, owner=(65533, 65533))  # in: everything the sandbox user's
    finally:
        os.close(source)
        os.close(target)
    assert (layer / "same.txt").stat().st_uid == 65533 and not (layer / ".git").exists()
    (layer / "gone.txt").unlink()
    (layer / "changed.txt").write_text("new")
    (layer / "setuid").write_text("#!/bin/sh\n")
    (layer / "setuid").chmod(0o4755)
    (layer / "link").symlink_to("same.txt")
    os.mkfifo(layer / "pkg" / "fifo")
    nest(layer / "pkg", MAX_DEPTH + 5)
    source, target = open_folder(layer), open_folder(host)
    try:
        found = mirror(source, target)  # back
    finally:
        os.close(source)
        os.close(target)
    dropped = dict(found.dropped)
    assert dropped["pkg/fifo"] == "a FIFO"
    assert list(dropped.values()).count("nested too deep") == 1
    assert (host / "same.txt").stat().st_uid == 1234  # untouched
    assert (host / "changed.txt").read_text() == "new"
    assert (host / "changed.txt").stat().st_uid == 1234  # replaced, owner kept
    assert not (host / "gone.txt").exists()
    assert stat.S_IMODE((host / "setuid").stat().st_mode) == 0o755
    assert (host / "setuid").stat().st_uid == os.geteuid()
    assert os.readlink(host / "link") == "same.txt"
    assert not (host / "pkg" / "fifo").exists()
    assert (host / ".git" / "HEAD").read_text() == "ref: main"
    assert max(e.path.count("/") - str(host).count("/") for e in entries(host)) <= MAX_DEPTH


def _load_and_try(program: bytes) -> dict[str, int]:
    """In a child process: load ``program``, then try a user namespace, clone3 and fork."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only system calls, then _exit
        os.close(read)
        libc = ctypes.CDLL(None, use_errno=True)
        buffer = ctypes.create_string_buffer(program)
        fprog = struct.pack("HxxxxxxP", len(program) // 8, ctypes.addressof(buffer))
        out = []
        if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, fprog, 0, 0) != 0:  # NNP, filter
            os._exit(99)
        out.append(0 if libc.unshare(seccomp.CLONE_NEWUSER) == 0 else ctypes.get_errno())
        out.append(0 if libc.unshare(0x00020000) == 0 else ctypes.get_errno())  # a mount ns
        out.append(0 if libc.syscall(435, 0, 0) == 0 else ctypes.get_errno())  # clone3
        child = os.fork()
        if child == 0:
            os._exit(7)
        out.append(os.waitpid(child, 0)[1] >> 8)
        os.write(write, bytes(out))
        os._exit(0)
    os.close(write)
    data = os.read(read, 16)
    os.close(read)
    assert os.waitpid(pid, 0)[1] == 0, "the filter did not load"
    return dict(zip(("userns", "mountns", "clone3", "fork"), data, strict=True))


@pytest.mark.skipif(seccomp.program() is None, reason="no filter for this architecture")
def test_the_seccomp_filter_denies_user_namespaces_and_nothing_else_needed() -> None:
    program = seccomp.program()
    assert program is not None and len(program) % 8 == 0
    seen = _load_and_try(program)
    assert seen["userns"] == errno.EPERM
    assert seen["clone3"] == errno.ENOSYS  # so the C library falls back to clone
    assert seen["fork"] == 7
    assert seen["mountns"] == 0  # root's child here; in the sandbox it lacks the capability
    assert seccomp.program("riscv64") is None


def test_the_command_line_loads_the_filter_and_binds_the_copies(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    copy = tmp_path / "layer" / "0"
    argv = bwrap_argv(
        "bwrap",
        ["pytest"],
        binds=[Bind(ws, writable=True, source=copy)],
        etc={},
        env={},
        cwd=ws,
        run_as=(65533, 65533),
        seccomp=10,
    )
    assert argv[argv.index("--seccomp") + 1] == "10"
    assert argv.index("--seccomp") < argv.index("--")
    assert ["--bind", str(copy), str(ws)] == argv[
        argv.index(str(copy)) - 1 : argv.index(str(copy)) + 2
    ]
    layer = Layer(tmp_path / "layer", (ws, tmp_path / "report"), 32, (65533, 65533), tmp_path / "s")
    assert layer.copy_of(tmp_path / "report") == tmp_path / "layer" / "1"
    options = layer.options()
    assert f"size={32 << 20}" in options and "owner=65533:65533" in options
    assert options[-2:] == [f"stage={ws}", f"stage={tmp_path / 'report'}"]


def test_the_disk_limit_is_bounded_and_set_from_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="disk_mb"):
        Limits(disk_mb=1)
    from devfactory.sandbox.runner import Sandbox

    box = Sandbox.from_settings(Settings(sandbox_disk_mb=48).sandboxing, tmp_path)
    assert box.limits.disk_mb == 48
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, sandbox_disk_mb=8)
