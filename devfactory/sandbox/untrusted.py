"""What sandboxed code wrote, copied into and out of the sandbox's disk (``mirror``).

Whatever the code could write, it could also have replaced: a file swapped
for a link to a root-only host file, a FIFO that blocks whoever opens it, a
socket, a chain of a thousand links, a thousand nested folders. So the copy
walks both trees as ``runfiles.walk`` does (each step an ``openat`` with
``O_NOFOLLOW``, iterative, at most ``MAX_DEPTH`` folders deep), copies
folders, regular files (opened by ``runfiles.open_regular``: never anything
else) and links as their text, and leaves out and reports the rest. Reading,
listing and removing what the code wrote is ``runfiles``' (the one way in to
a run's files); this module is only the sandbox's copy.

The launcher imports this module before anything else is importable, so it
uses the standard library only (and ``runfiles``, which does too).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from devfactory.runfiles import KEEP, MAX_DEPTH, kind, open_regular, remove_at

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


def copy_file(
    source: int,
    name: str,
    target: int,
    info: os.stat_result,
    owner: tuple[int, int] | None,
    mask: int = 0,
) -> None:
    """Copy the regular file ``name`` from folder ``source`` to folder ``target``, atomically.

    It is written under a fresh name and renamed over what was there, with
    ``info``'s permission bits (never set-user-ID) less ``mask``, its
    modification time and, when given, ``owner``.
    """
    fresh = f".devfactory-copy-{os.urandom(8).hex()}"
    src = open_regular(source, name)  # a link, a FIFO or a socket swapped in: refused
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        dst = os.open(fresh, flags, 0o600, dir_fd=target)
        try:
            while chunk := os.read(src, _CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(dst, view) :]
            if owner is not None:
                os.fchown(dst, *owner)
            os.fchmod(dst, stat.S_IMODE(info.st_mode) & 0o777 & ~mask)
            os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(dst)
    except BaseException:
        try:
            os.unlink(fresh, dir_fd=target)
        except FileNotFoundError:
            pass
        raise
    finally:
        os.close(src)
    os.rename(fresh, name, src_dir_fd=target, dst_dir_fd=target)


def copy_link(source: int, name: str, target: int) -> None:
    """Copy the symbolic link ``name`` (its text, not what it points at) from folder to folder."""
    text = os.readlink(name, dir_fd=source)
    fresh = f".devfactory-link-{os.urandom(8).hex()}"
    os.symlink(text, fresh, dir_fd=target)
    os.rename(fresh, name, src_dir_fd=target, dst_dir_fd=target)


class Mirrored:
    """What ``mirror`` left out: the first few (path, why), and how many in all."""

    def __init__(self) -> None:
        self.dropped: list[tuple[str, str]] = []
        self.count = 0

    def drop(self, path: str, why: str, *, keep: int = 50) -> None:
        """Note one thing left out."""
        self.count += 1
        if len(self.dropped) < keep:
            self.dropped.append((path, why))


def mirror(
    source: int, target: int, *, owner: tuple[int, int] | None = None, mask: int = 0
) -> Mirrored:
    """Make folder ``target`` hold what folder ``source`` holds: folders, regular files, links.

    Both are open descriptors; ``KEEP`` names at the top are left alone on
    both sides. What ``target`` has and ``source`` lacks is removed. A regular
    file whose size and modification time match is left as it is (its
    permissions updated); others are copied whole and renamed into place.
    Links are copied as text (the caller judges where they lead). FIFOs,
    sockets, devices and anything nested deeper than ``MAX_DEPTH`` are left
    out and reported. Permissions keep only the rwx bits, less ``mask`` (when
    copying back: the factory's umask, so that what the code made is as
    private as what the factory makes, whatever modes the code gave it).
    ``owner``: the owner of everything made (the sandbox's user, when copying
    in); None keeps the owner of a replaced file and gives new ones ours.
    """
    out = Mirrored()
    if owner is not None:
        os.fchown(target, *owner)
    frames = [(source, target, "", _names(source, target, 1))]
    try:
        while frames:
            src, dst, prefix, names = frames[-1]
            name = next(names, None)
            if name is None:
                frames.pop()
                if src != source:
                    os.close(src)
                    os.close(dst)
                continue
            depth = len(frames)
            path = f"{prefix}{name}"
            info = os.stat(name, dir_fd=src, follow_symlinks=False)
            try:
                have: os.stat_result | None = os.stat(name, dir_fd=dst, follow_symlinks=False)
            except FileNotFoundError:
                have = None
            mode = info.st_mode
            if have is not None and stat.S_IFMT(have.st_mode) != stat.S_IFMT(mode):
                remove_at(dst, name)
                have = None
            deep = depth > MAX_DEPTH
            if deep or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                if have is not None:
                    remove_at(dst, name)
                out.drop(path, "nested too deep" if deep else kind(mode))
            elif stat.S_ISDIR(mode):
                if have is None:
                    os.mkdir(name, 0o700, dir_fd=dst)
                child_src = os.open(name, _DIR, dir_fd=src)
                try:
                    child_dst = os.open(name, _DIR, dir_fd=dst)
                except OSError:
                    os.close(child_src)
                    raise
                if owner is not None:
                    os.fchown(child_dst, *owner)
                os.fchmod(child_dst, stat.S_IMODE(mode) & 0o777 & ~mask)
                frames.append((child_src, child_dst, f"{path}/", _names(child_src, child_dst, 0)))
            elif stat.S_ISREG(mode):
                bits = stat.S_IMODE(mode) & 0o777 & ~mask
                if have is not None and (have.st_size, have.st_mtime_ns) == (
                    info.st_size,
                    info.st_mtime_ns,
                ):
                    if stat.S_IMODE(have.st_mode) != bits:
                        os.chmod(name, bits, dir_fd=dst)
                    continue
                keep = owner or ((have.st_uid, have.st_gid) if have is not None else None)
                copy_file(src, name, dst, info, keep, mask)
            else:  # a link: its text, judged by the caller
                if have is not None and os.readlink(name, dir_fd=dst) == os.readlink(
                    name, dir_fd=src
                ):
                    continue
                copy_link(src, name, dst)
                if owner is not None:
                    os.chown(name, *owner, dir_fd=dst, follow_symlinks=False)
    finally:
        for src, dst, _, _ in frames:
            if src != source:
                os.close(src)
                os.close(dst)
    return out


def _names(source: int, target: int, top: int) -> Iterator[str]:
    """List ``source`` after removing from ``target`` what ``source`` lacks (``top``: skip KEEP)."""
    skip = KEEP if top else ()
    wanted = [n for n in sorted(os.listdir(source)) if n not in skip]
    present = set(wanted)
    for name in os.listdir(target):
        if name not in present and name not in skip:
            remove_at(target, name)
    return iter(wanted)
