"""Files and folders that sandboxed code wrote: walked, copied, removed and read safely.

Whatever the code could write, it could also have replaced: a report swapped
for a link to a root-only host file, a FIFO that blocks whoever opens it, a
socket, a chain of a thousand links, a thousand nested folders. So every
host-side operation on such a tree here

- follows no link: each step is an ``openat`` with ``O_NOFOLLOW`` relative
  to the folder above it, never a path string resolved from the top (a deep
  tree's path is also longer than the kernel takes);
- is iterative, never recursive (Python 3.11's ``os.walk``, ``shutil.rmtree``
  and ``os.path.realpath`` recurse, and raise RecursionError a thousand
  levels down);
- holds at most ``MAX_DEPTH`` open folders: what lies deeper is handed to the
  caller, not entered, and removed by moving its folders up, so no chain of
  folders is ever followed;
- opens a file only after ``lstat`` said it is a regular one, with
  ``O_NONBLOCK`` (a FIFO swapped in meanwhile opens at once instead of waiting
  for a writer) and checks the open file again with ``fstat``.

The launcher imports this module before anything else is importable, so it
uses the standard library only.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator

MAX_DEPTH = 100  # folders below the workspace; deeper ones are removed (no project needs them)
KEEP = (".git",)  # a workspace's history: never walked, copied or removed here
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20


class RefusedFileError(OSError):
    """A file that came out of the sandbox was not read: its message says why."""


def kind(mode: int) -> str:
    """Name the kind of file ``mode`` describes: ``a FIFO``, ``a socket``, ``a link``..."""
    for test, name in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: os.PathLike[str] | str, limit: int) -> bytes:
    """Return the regular file at ``path`` (at most ``limit`` bytes), never following a link.

    The folders above ``path`` must be the factory's own; its last component
    is what the sandbox may have replaced. Raises RefusedFileError saying why
    it was not read: missing, a link, a FIFO, a socket, or larger than
    ``limit``.
    """
    name = os.fspath(path)
    try:
        info = os.lstat(name)
    except FileNotFoundError:
        raise RefusedFileError(errno.ENOENT, "is missing") from None
    if not stat.S_ISREG(info.st_mode):
        raise RefusedFileError(errno.EINVAL, f"is {kind(info.st_mode)}, not a regular file")
    try:
        fd = os.open(name, _FILE)
    except OSError as exc:  # swapped after the lstat: a link (ELOOP), a socket (ENXIO)...
        raise RefusedFileError(exc.errno, f"could not be opened: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedFileError(errno.EINVAL, f"is {kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise RefusedFileError(errno.EFBIG, f"is larger than {limit} bytes")
        data = bytearray()
        while len(data) <= limit and (chunk := os.read(fd, min(_CHUNK, limit + 1 - len(data)))):
            data += chunk
        if len(data) > limit:
            raise RefusedFileError(errno.EFBIG, f"is larger than {limit} bytes")
        return bytes(data)
    finally:
        os.close(fd)


class Entry:
    """One thing found in a tree: where it is, what it is, how deep (root's children: 1).

    A plain class: the launcher imports this module on every command, and
    ``dataclasses`` alone would double its start-up time.
    """

    __slots__ = ("depth", "folder", "info", "name", "path")

    def __init__(self, folder: int, name: str, path: str, info: os.stat_result, depth: int):
        self.folder = (
            folder  # a descriptor of the folder holding it (valid until the walk moves on)
        )
        self.name = name
        self.path = path  # relative to the root, "/"-separated
        self.info = info  # lstat: a link is a link
        self.depth = depth

    @property
    def is_dir(self) -> bool:
        """Whether it is a real folder (a link to one is not)."""
        return stat.S_ISDIR(self.info.st_mode)


def open_folder(path: os.PathLike[str] | str) -> int:
    """Open the folder at ``path`` (not through a link in its last component)."""
    return os.open(os.fspath(path), _DIR)


def walk(root: int, *, skip: tuple[str, ...] = KEEP) -> Iterator[Entry]:
    """Yield everything under the open folder ``root``, depth first, following no link.

    Folders down to ``MAX_DEPTH`` are entered; an entry deeper than that is
    yielded (its ``depth`` says so) but never entered. The caller may remove
    or change what it was just given: the walk only enters a folder after
    yielding it, and skips what is gone. ``skip`` names are ignored at the top.
    A folder that cannot be read is yielded and not entered.
    """
    frames: list[tuple[int, str, Iterator[str]]] = [(root, "", iter(sorted(os.listdir(root))))]
    try:
        while frames:
            folder, prefix, names = frames[-1]
            name = next(names, None)
            if name is None:
                frames.pop()
                if folder != root:
                    os.close(folder)
                continue
            depth = len(frames)
            if depth == 1 and name in skip:
                continue
            try:
                info = os.stat(name, dir_fd=folder, follow_symlinks=False)
            except FileNotFoundError:
                continue
            path = f"{prefix}{name}"
            yield Entry(folder, name, path, info, depth)
            if depth > MAX_DEPTH:
                continue
            try:
                child = os.open(name, _DIR, dir_fd=folder)
            except OSError:
                continue  # removed or replaced by the caller, or not a folder
            try:
                listed = iter(sorted(os.listdir(child)))
            except OSError:
                os.close(child)
                continue
            frames.append((child, f"{path}/", listed))
    finally:
        for folder, _, _ in frames:
            if folder != root:
                os.close(folder)


def remove_at(folder: int, name: str) -> None:
    """Remove ``name`` in the open ``folder``, with everything under it, whatever its depth.

    Iterative and flat: each folder met is first moved up into ``folder``
    under a fresh name, so no more than two folders are ever open and no path
    grows with the tree's depth. A link is removed, never followed.
    """
    queue = [name]
    while queue:
        current = queue.pop()
        try:
            fd = os.open(current, _DIR, dir_fd=folder)
        except FileNotFoundError:
            continue
        except OSError:  # not a folder (ENOTDIR), or a link (ELOOP): remove the name itself
            _unlink(folder, current)
            continue
        try:
            for child in os.listdir(fd):
                try:
                    mode = os.stat(child, dir_fd=fd, follow_symlinks=False).st_mode
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(mode):
                    moved = f".devfactory-removed-{os.urandom(8).hex()}"
                    os.rename(child, moved, src_dir_fd=fd, dst_dir_fd=folder)
                    queue.append(moved)
                else:
                    _unlink(fd, child)
        finally:
            os.close(fd)
        try:
            os.rmdir(current, dir_fd=folder)
        except FileNotFoundError:
            pass


def _unlink(folder: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=folder)
    except FileNotFoundError:
        pass


def remove_tree(path: os.PathLike[str] | str) -> None:
    """Remove the folder at ``path`` and everything in it (nothing when it is not there)."""
    name = os.fspath(path).rstrip("/")
    parent = os.open(os.path.dirname(name) or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        remove_at(parent, os.path.basename(name))
    finally:
        os.close(parent)


def copy_file(
    source: int, name: str, target: int, info: os.stat_result, owner: tuple[int, int] | None
) -> None:
    """Copy the regular file ``name`` from folder ``source`` to folder ``target``, atomically.

    It is written under a fresh name and renamed over what was there, with
    ``info``'s permission bits (never set-user-ID), modification time and,
    when given, ``owner``.
    """
    fresh = f".devfactory-copy-{os.urandom(8).hex()}"
    src = os.open(name, _FILE, dir_fd=source)
    try:
        if not stat.S_ISREG(os.fstat(src).st_mode):
            raise RefusedFileError(errno.EINVAL, f"{name} is not a regular file")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        dst = os.open(fresh, flags, 0o600, dir_fd=target)
        try:
            while chunk := os.read(src, _CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(dst, view) :]
            if owner is not None:
                os.fchown(dst, *owner)
            os.fchmod(dst, stat.S_IMODE(info.st_mode) & 0o777)
            os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(dst)
    except BaseException:
        _unlink(target, fresh)
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


def mirror(source: int, target: int, *, owner: tuple[int, int] | None = None) -> Mirrored:
    """Make folder ``target`` hold what folder ``source`` holds: folders, regular files, links.

    Both are open descriptors; ``KEEP`` names at the top are left alone on
    both sides. What ``target`` has and ``source`` lacks is removed. A regular
    file whose size and modification time match is left as it is (its
    permissions updated); others are copied whole and renamed into place.
    Links are copied as text (the caller judges where they lead). FIFOs,
    sockets, devices and anything nested deeper than ``MAX_DEPTH`` are left
    out and reported. Permissions keep only the rwx bits. ``owner``: the owner
    of everything made (the sandbox's user, when copying in); None keeps the
    owner of a replaced file and gives new ones ours.
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
                os.fchmod(child_dst, stat.S_IMODE(mode) & 0o777)
                frames.append((child_src, child_dst, f"{path}/", _names(child_src, child_dst, 0)))
            elif stat.S_ISREG(mode):
                bits = stat.S_IMODE(mode) & 0o777
                if have is not None and (have.st_size, have.st_mtime_ns) == (
                    info.st_size,
                    info.st_mtime_ns,
                ):
                    if stat.S_IMODE(have.st_mode) != bits:
                        os.chmod(name, bits, dir_fd=dst)
                    continue
                keep = owner or ((have.st_uid, have.st_gid) if have is not None else None)
                copy_file(src, name, dst, info, keep)
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
