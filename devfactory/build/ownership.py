"""Who owns the files a sandboxed command may write, before, during and after it runs.

When the factory runs as root, sandboxed code must not run as root's
user id, even inside a user namespace: the kernel still treats that id as
root in places no namespace covers (sysctl files under /proc/sys are
writable by it, for one; /proc/sys/kernel/core_pattern runs a program as
root on the host). So code runs as ``SANDBOX_HOST_ID``, an id no account
has, and the folders it may write are handed to that id for the run and
taken back after it. Links the code left that point outside the workspace
are removed, so that the factory, reading the workspace as root afterwards,
cannot be led to a host file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

SANDBOX_HOST_ID = 65_533  # Debian leaves 65000-65533 unallocated; nobody is 65534
KEEP = (".git",)  # never handed over: mounted read-only, its config could run programs


def sandbox_ids() -> tuple[int, int] | None:
    """Return the (uid, gid) code runs as, or None to run as the factory's own user."""
    return (SANDBOX_HOST_ID, SANDBOX_HOST_ID) if os.geteuid() == 0 else None


def _entries(root: Path) -> Iterator[Path]:
    """Yield ``root`` and everything under it (links not followed, KEEP folders skipped)."""
    yield root
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in KEEP or Path(folder) != root]
        for name in dirs + files:
            yield Path(folder) / name


def hand_over(root: Path, uid: int, gid: int) -> dict[str, tuple[int, int]]:
    """Give ``root``'s tree to (uid, gid); return the owners it had, to restore them."""
    owners: dict[str, tuple[int, int]] = {}
    for path in _entries(root):
        try:
            stat = path.lstat()
            owners[str(path)] = (stat.st_uid, stat.st_gid)
            if (stat.st_uid, stat.st_gid) != (uid, gid):
                os.chown(path, uid, gid, follow_symlinks=False)
        except FileNotFoundError:
            continue
    return owners


def take_back(root: Path, owners: dict[str, tuple[int, int]], owner: tuple[int, int]) -> None:
    """Restore the owners ``hand_over`` saw; what is new goes to ``owner``.

    chown clears set-user-ID and set-group-ID bits, so nothing the code made
    becomes a set-user-ID program of the factory's user.
    """
    for path in _entries(root):
        with contextlib.suppress(FileNotFoundError):
            uid, gid = owners.get(str(path), owner)
            os.chown(path, uid, gid, follow_symlinks=False)


def escaping_links(root: Path) -> list[str]:
    """Remove the symbolic links under ``root`` that lead outside it; return their paths."""
    removed = []
    base = root.resolve()
    for path in _entries(root):
        if path == root or not path.is_symlink():
            continue
        target = Path(os.path.realpath(path))
        if target != base and base not in target.parents:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(str(path.relative_to(root)))
    return removed


@contextlib.contextmanager
def workspace_lock(locks: Path, workspace: Path) -> Iterator[None]:
    """Hold a lock on ``workspace`` (across processes): one sandboxed command at a time."""
    locks.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(str(workspace).encode()).hexdigest()[:24]
    with open(locks / name, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
