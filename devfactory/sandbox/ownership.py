"""Who owns the files a sandboxed command may write, and what it may leave behind.

When the factory runs as root, sandboxed code must not run as root's
user id, even inside a user namespace: the kernel still treats that id as
root in places no namespace covers (sysctl files under /proc/sys are
writable by it, for one; /proc/sys/kernel/core_pattern runs a program as
root on the host). So code runs as ``SANDBOX_HOST_ID``, an id no account
has. The code's commands write a copy of the workspace on a size-capped
tmpfs (``launcher``), owned by that id; folders an install writes are handed
to it for the run and taken back after. Whatever the code leaves in a
folder the factory reads afterwards is then cleared of traps
(``remove_traps``): links leading out, FIFOs, sockets, devices, folders
nested too deep. Every walk here is iterative and follows no link
(``runfiles``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from devfactory.runfiles import KEEP, MAX_DEPTH, kind, open_folder, remove_at, walk

SANDBOX_HOST_ID = 65_533  # Debian leaves 65000-65533 unallocated; nobody is 65534
__all__ = ["KEEP", "SANDBOX_HOST_ID", "hand_over", "remove_traps", "take_back", "workspace_lock"]


def sandbox_ids() -> tuple[int, int] | None:
    """Return the (uid, gid) code runs as, or None to run as the factory's own user."""
    return (SANDBOX_HOST_ID, SANDBOX_HOST_ID) if os.geteuid() == 0 else None


def hand_over(root: Path, uid: int, gid: int) -> dict[str, tuple[int, int]]:
    """Give ``root``'s tree to (uid, gid); return the owners it had, to restore them."""
    fd = open_folder(root)
    try:
        info = os.fstat(fd)
        owners = {"": (info.st_uid, info.st_gid)}
        os.fchown(fd, uid, gid)
        for entry in walk(fd):
            if entry.depth > MAX_DEPTH:
                continue
            owners[entry.path] = (entry.info.st_uid, entry.info.st_gid)
            if owners[entry.path] != (uid, gid):
                with contextlib.suppress(FileNotFoundError):
                    os.chown(entry.name, uid, gid, dir_fd=entry.folder, follow_symlinks=False)
    finally:
        os.close(fd)
    return owners


def take_back(root: Path, owners: dict[str, tuple[int, int]], owner: tuple[int, int]) -> None:
    """Restore the owners ``hand_over`` saw; what is new goes to ``owner``.

    chown clears set-user-ID and set-group-ID bits, so nothing the code made
    becomes a set-user-ID program of the factory's user. What is nested
    deeper than ``MAX_DEPTH`` is removed.
    """
    fd = open_folder(root)
    try:
        os.fchown(fd, *owners.get("", owner))
        for entry in walk(fd):
            if entry.depth > MAX_DEPTH:
                remove_at(entry.folder, entry.name)
                continue
            uid, gid = owners.get(entry.path, owner)
            with contextlib.suppress(FileNotFoundError):
                os.chown(entry.name, uid, gid, dir_fd=entry.folder, follow_symlinks=False)
    finally:
        os.close(fd)


def remove_traps(root: Path) -> list[tuple[str, str]]:
    """Remove what the factory must not meet in ``root``; return each (path, what it was).

    That is: symbolic links that lead outside ``root`` or nowhere (resolved
    by the kernel, so chains and loops are judged as the kernel follows
    them), FIFOs (opening one blocks), sockets, devices, and anything nested
    deeper than ``MAX_DEPTH`` folders. ``KEEP`` folders at the top are left
    alone. Run it only once nothing can write ``root`` any more.
    """
    removed: list[tuple[str, str]] = []
    base = os.path.realpath(root)
    fd = open_folder(root)
    try:
        for entry in walk(fd):
            mode = entry.info.st_mode
            if entry.depth > MAX_DEPTH:
                why = "folders nested too deep"
            elif stat.S_ISLNK(mode):
                if _leads_inside(entry.folder, entry.name, base):
                    continue
                why = "a link leading out of its folder, or nowhere"
            elif stat.S_ISREG(mode) or stat.S_ISDIR(mode):
                continue
            else:
                why = kind(mode)
            remove_at(entry.folder, entry.name)
            removed.append((entry.path, why))
    finally:
        os.close(fd)
    return removed


def _leads_inside(folder: int, name: str, base: str) -> bool:
    """Say whether the link ``name`` in ``folder`` resolves, by the kernel, inside ``base``."""
    try:  # O_PATH opens nothing (a FIFO does not block), it only resolves
        fd = os.open(name, os.O_PATH | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return False  # dangling, a loop, a chain longer than the kernel follows
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    finally:
        os.close(fd)
    return target == base or target.startswith(base.rstrip("/") + "/")


def describe(removed: list[tuple[str, str]], *, names: int = 3) -> str:
    """Say what was removed, by kind: ``2 FIFOs (a, b); 1 link leading out (c)``."""
    by_kind: dict[str, list[str]] = {}
    for path, why in removed:
        by_kind.setdefault(why, []).append(path)
    parts = []
    for why, paths in sorted(by_kind.items()):
        shown = ", ".join(p if len(p) <= 80 else p[:38] + "..." + p[-38:] for p in paths[:names])
        more = f" and {len(paths) - names} more" if len(paths) > names else ""
        parts.append(f"{len(paths)} x {why} ({shown}{more})")
    return "; ".join(parts)


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
