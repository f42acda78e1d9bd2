"""The one way in to a run's files: read, list, walk, write and remove them, following no link.

A run's folder is written by a model (its teams' files), by the code the
sandbox ran (copied back as folders, regular files and links), and, for a run
that delivers into a repository, by whoever owns that repository. Any of them
can leave a link to a host file (the data directory's secrets, ``/etc/shadow``),
a FIFO that blocks whoever opens it, a socket, a file of gigabytes or a tree a
thousand folders deep. So every reader of a run's files (the API, the console,
the chat, Project Q&A, the purge, the code checks, the evaluation) and every
host-side step on a folder sandboxed code wrote comes through here, and
``tests/unit/test_run_files_boundary.py`` fails when code elsewhere opens a
file without being allowed to, with its reason. Here every operation

- starts at a folder the factory trusts (the run's folder as recorded when the
  run started, resolved; not through a link in its last component) and walks
  down one component at a time, each opened with ``O_NOFOLLOW`` relative to the
  one above (``openat``), never a path string resolved from the top (a deep
  tree's path is also longer than the kernel takes);
- refuses a relative path that leaves the folder (absolute, ``..``, ``.``, empty
  parts) or reaches into a ``.git`` folder (the run's history is git's to read);
- opens a file only when ``lstat`` said it is a regular one, with ``O_NONBLOCK``
  (a FIFO swapped in meanwhile opens at once instead of waiting for a writer),
  checks the open file again with ``fstat`` and reads at most a cap;
- is iterative, never recursive (Python 3.11's ``os.walk``, ``shutil.rmtree``
  and ``os.path.realpath`` recurse, and raise RecursionError a thousand levels
  down), holding at most ``MAX_DEPTH`` open folders: what lies deeper is handed
  to the caller, not entered, and removed by moving its folders up.

Why one module: reading, listing, writing and removing are one walk (the
same ``openat`` descent, the same refusals, the same caps); apart, a second
copy of the walk would be the reader that goes around the first.

Why at the package root: a run's folder is read by the API, the chat, the
factory's answers, the code checks and the sandbox alike, and belongs to none
of them. Standard library only, and no ``dataclasses`` or ``typing``: the
sandbox launcher imports it (through ``sandbox/untrusted.py``, which copies
folders in and out of the sandbox's disk on this walk) on every command,
before anything else is importable.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

MAX_DEPTH = 100  # folders below a root; deeper ones are listed, never entered (none is needed)
KEEP = (".git",)  # a workspace's history: never walked, copied or removed by the walk
_ROOT = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20


class RefusedFileError(OSError):
    """A file of a run was not read: ``errno`` says why and ``strerror`` says it in words.

    ``ENOENT``: it is missing (or a folder on its way is missing, or is not a
    folder); ``ELOOP``: it is, or its way goes through, a symbolic link;
    ``EINVAL``: it is not a regular file (a folder, a FIFO, a socket, a device);
    ``EFBIG``: it is larger than the reader takes. ``filename`` is the path asked for.
    """


def relative_parts(relative: str) -> list[str]:
    """Split a path inside a run's folder into its names; refuse one that leaves the folder.

    Raises ``ValueError`` for an absolute path, an empty, ``.`` or ``..`` part
    (``//`` included), a NUL, or any ``.git`` part (in any case: on a
    case-insensitive disk ``.GIT`` is the history too).
    """
    parts = relative.split("/")
    if relative.startswith("/") or "\0" in relative or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"artifact path {relative!r} must be relative, without '.', '..' or '//'")
    if any(p.lower() == ".git" for p in parts):
        raise ValueError(f"artifact path {relative!r} must not touch the run's git repository")
    return parts


def kind(mode: int) -> str:
    """Name the kind of file ``mode`` describes: ``a FIFO``, ``a socket``, ``a symbolic link``..."""
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


def open_folder(path: os.PathLike[str] | str) -> int:
    """Open the folder at ``path`` (never through a link in its last component)."""
    return os.open(os.fspath(path), _ROOT)


def open_within(root: os.PathLike[str] | str, parts: Sequence[str], *, make: bool = False) -> int:
    """Open the folder ``root/parts...``, following no link below ``root``; return its descriptor.

    ``make`` creates the folders that are missing (a writer's way in). Raises
    ``RefusedFileError``: ``ELOOP`` for a link on the way (``root`` itself
    included), ``ENOENT`` for a part that is missing or not a folder, or a
    root that cannot be opened.
    """
    try:
        fd = open_folder(root)
    except OSError as exc:  # a link gives ENOTDIR with O_DIRECTORY: ask lstat what it is
        linked = os.path.islink(root)
        why = "is a link" if linked else f"cannot be opened: {exc.strerror}"
        code = errno.ELOOP if linked else errno.ENOENT
        raise RefusedFileError(code, f"its folder {why}", os.fspath(root)) from None
    try:
        for part in parts:
            if make:
                try:
                    os.mkdir(part, 0o700, dir_fd=fd)  # the run's files are its user's alone
                except FileExistsError:
                    pass
            try:
                child = os.open(part, _ROOT, dir_fd=fd)
            except OSError:
                raise _refused_folder(fd, part) from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _refused_folder(folder: int, name: str) -> RefusedFileError:
    """Say why ``name`` in ``folder`` could not be opened as a folder."""
    try:
        mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except OSError:
        return RefusedFileError(errno.ENOENT, f"is missing ({name!r} is not there)")
    if stat.S_ISLNK(mode):
        return RefusedFileError(errno.ELOOP, f"goes through a symbolic link ({name!r})")
    return RefusedFileError(errno.ENOENT, f"is missing ({name!r} is {kind(mode)}, not a folder)")


def open_regular(folder: int, name: str) -> int:
    """Open ``name`` in the open ``folder`` for reading, only as a regular file; return its fd.

    Nothing else is ever opened: ``lstat`` first (a link, a FIFO, a socket or a
    device is refused unopened), then ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO swapped
    in meanwhile opens at once) and ``fstat`` on what was opened.
    """
    try:
        mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except FileNotFoundError:
        raise RefusedFileError(errno.ENOENT, "is missing") from None
    except OSError as exc:  # a name longer than the file system takes, say
        raise RefusedFileError(errno.ENOENT, f"is missing ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        code = errno.ELOOP if stat.S_ISLNK(mode) else errno.EINVAL
        raise RefusedFileError(code, f"is {kind(mode)}, not a regular file")
    try:
        fd = os.open(name, _FILE, dir_fd=folder)
    except OSError as exc:  # swapped after the lstat: a link (ELOOP), a socket (ENXIO)...
        code = exc.errno if exc.errno in (errno.ELOOP, errno.ENOENT) else errno.EINVAL
        raise RefusedFileError(code, f"could not be opened: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise RefusedFileError(errno.EINVAL, f"is {kind(mode)}, not a regular file")
    return fd


def read_file(root: os.PathLike[str] | str, relative: str, limit: int) -> bytes:
    """Return the whole regular file ``relative`` inside ``root``: at most ``limit`` bytes.

    Raises ``ValueError`` for a path that leaves the folder or touches its git
    history, and ``RefusedFileError`` (``errno`` says why) for anything else
    that is not a regular file reached without a link, or one past ``limit``.
    """
    return _read(root, relative, limit, whole=True)


def read_head(root: os.PathLike[str] | str, relative: str, size: int) -> bytes:
    """Return the first ``size`` bytes of the regular file ``relative`` inside ``root``.

    As ``read_file``, but a larger file is not refused: its head is returned.
    """
    return _read(root, relative, size, whole=False)


def _read(root: os.PathLike[str] | str, relative: str, limit: int, *, whole: bool) -> bytes:
    parts = relative_parts(relative)
    try:
        folder = open_within(root, parts[:-1])
        try:
            fd = open_regular(folder, parts[-1])
        finally:
            os.close(folder)
    except RefusedFileError as exc:
        raise RefusedFileError(exc.errno, exc.strerror, relative) from None
    try:
        if whole and os.fstat(fd).st_size > limit:
            raise RefusedFileError(errno.EFBIG, f"is larger than {limit} bytes", relative)
        data = bytearray()
        while len(data) <= limit and (chunk := os.read(fd, min(_CHUNK, limit + 1 - len(data)))):
            data += chunk
        if len(data) > limit:
            if whole:  # it grew while it was read
                raise RefusedFileError(errno.EFBIG, f"is larger than {limit} bytes", relative)
            del data[limit:]
        return bytes(data)
    finally:
        os.close(fd)


def is_regular_file(root: os.PathLike[str] | str, relative: str) -> bool:
    """Say whether ``relative`` is a regular file inside ``root``, reached without a link.

    A path that leaves the folder or reaches into ``.git`` is not one of its files.
    """
    try:
        parts = relative_parts(relative)
        folder = open_within(root, parts[:-1])
    except (ValueError, RefusedFileError):
        return False
    try:
        return stat.S_ISREG(os.stat(parts[-1], dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False
    finally:
        os.close(folder)


class Listing:
    """A folder's regular files as ``(path, bytes)`` in walking order, and what was left out.

    A reader shows what was left out, so that nobody takes the files listed
    for all there are: ``more`` (the walk stopped at its cap), ``deep`` (folders
    deeper than ``MAX_DEPTH``, never entered: what they hold is not listed) and
    ``not_regular`` (links, FIFOs, sockets and devices, which are no files of
    the run). A plain class, like ``Entry``: ``dataclasses`` would slow the
    launcher's start.
    """

    __slots__ = ("deep", "files", "more", "not_regular")

    def __init__(
        self, files: list[tuple[str, int]], more: bool, deep: int = 0, not_regular: int = 0
    ) -> None:
        self.files = files
        self.more = more  # the walk stopped at its cap: there is more than listed
        self.deep = deep
        self.not_regular = not_regular


def list_files(root: os.PathLike[str] | str, limit: int) -> Listing:
    """List the regular files under ``root``, looking at no more than ``limit`` entries.

    Links, FIFOs, sockets and devices are not files of the run and are left
    out; so is every ``.git`` folder (the history) and what lies deeper than
    ``MAX_DEPTH``: the listing counts what it left out (but the history). Every
    entry the walk meets (a folder, a link, a file) counts toward ``limit``, so
    neither a million empty folders nor a million files keep a reader walking.
    Raises ``RefusedFileError`` when ``root`` cannot be opened as a folder.
    """
    files: list[tuple[str, int]] = []
    deep = not_regular = 0
    top = open_within(root, ())
    try:
        for seen, entry in enumerate(walk(top, skip=KEEP, everywhere=True), start=1):
            if seen > limit:
                return Listing(files, True, deep, not_regular)
            if stat.S_ISREG(entry.info.st_mode):
                files.append((entry.path, entry.info.st_size))
            elif not entry.is_dir:
                not_regular += 1
            elif entry.depth > MAX_DEPTH:  # yielded, never entered
                deep += 1
    except OSError as exc:  # the folder itself cannot be read (what is below is skipped)
        raise RefusedFileError(errno.ENOENT, f"cannot be listed: {exc.strerror}") from None
    finally:
        os.close(top)
    return Listing(files, False, deep, not_regular)


class Entry:
    """One thing found in a tree: where it is, what it is, how deep (the root's children: 1).

    A plain class: the launcher imports this module on every command, and
    ``dataclasses`` alone would double its start-up time.
    """

    __slots__ = ("depth", "folder", "info", "name", "path")

    def __init__(self, folder: int, name: str, path: str, info: os.stat_result, depth: int):
        self.folder = folder  # a descriptor of the folder holding it, valid until the walk moves on
        self.name = name
        self.path = path  # relative to the root, "/"-separated
        self.info = info  # lstat: a link is a link
        self.depth = depth

    @property
    def is_dir(self) -> bool:
        """Whether it is a real folder (a link to one is not)."""
        return stat.S_ISDIR(self.info.st_mode)


def walk(root: int, *, skip: tuple[str, ...] = KEEP, everywhere: bool = False) -> Iterator[Entry]:
    """Yield everything under the open folder ``root``, depth first, following no link.

    Folders down to ``MAX_DEPTH`` are entered; an entry deeper than that is
    yielded (its ``depth`` says so) but never entered. The caller may remove
    or change what it was just given: the walk only enters a folder after
    yielding it, and skips what is gone. ``skip`` names are ignored at the top,
    or at every depth with ``everywhere``. A folder that cannot be read is
    yielded and not entered.
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
            if name in skip and (depth == 1 or everywhere):
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
                child = os.open(name, _ROOT, dir_fd=folder)
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
            fd = os.open(current, _ROOT, dir_fd=folder)
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
    """Remove the folder at ``path`` and everything in it (nothing when it is not there).

    The folders above ``path`` are the caller's; ``path`` itself, when it is a
    link, is removed as a link and what it points at is left alone.
    """
    name = os.fspath(path).rstrip("/")
    parent = os.open(os.path.dirname(name) or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        remove_at(parent, os.path.basename(name))
    finally:
        os.close(parent)


class ArtifactWriteError(OSError):
    """A file of the run could not be written where it belongs (and nothing was followed)."""


def write_file(root: Path, relative: str, content: str) -> Path:
    """Write ``content`` at ``relative`` inside ``root`` without following any link.

    The folders on the way are made or opened by ````open_within```` (a
    link or a file where a folder belongs is refused); the file itself is
    opened with ``O_NOFOLLOW`` (a link planted at its name is refused) and
    ``O_NONBLOCK`` (a FIFO planted there is refused at once, never waited on).
    What it makes is its user's alone (folders 0700, files 0600), whatever
    the umask of the process that calls it.
    """
    parts = relative_parts(relative)
    try:
        folder = open_within(root, parts[:-1], make=True)
    except OSError as exc:
        raise ArtifactWriteError(f"refused to write {relative}: {exc.strerror}") from None
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(parts[-1], flags, 0o600, dir_fd=folder)
        except OSError as exc:
            raise ArtifactWriteError(
                f"refused to write {relative}: it is a link or cannot be written ({exc.strerror})"
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ArtifactWriteError(f"refused to write {relative}: it is not a regular file")
        os.ftruncate(fd, 0)  # only now: O_TRUNC would have applied to whatever was there
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content if content.endswith("\n") else content + "\n")
    finally:
        os.close(folder)
    return root / relative
