"""A repository on this machine that a run clones and delivers into: opened, never followed.

A local source is a folder someone else may own and change while a run
works: between the request that named it and the worker that clones it, and
again before the run's branch goes back, it can be swapped for a link to a
repository the caller may not read or write. So the folder is checked where
it is opened, each time:

- its path is absolute and walked one component at a time with ``O_NOFOLLOW``
  from ``/`` (``runfiles.open_within``): a link anywhere on the way is refused,
  so the path checked is the folder opened (a request resolves the links of
  the path it was given once, and the run keeps that resolved path);
- where the source is confined (a path taken over the API), it must lie under
  one of the ``repo_local_roots`` folders (themselves resolved);
- its git folder (the folder itself when bare, else its ``.git``) is a real
  folder with ``HEAD``, ``objects`` and ``refs``, none of them a link; a
  ``.git`` file (a linked worktree's or a submodule's) is refused, since it
  points somewhere the check never looked;
- its identity (the git folder's device and inode) is recorded at the clone
  and must be the same at delivery: the run delivers into the repository it
  was cloned from, or nowhere.

What is returned is an open descriptor of the git folder: git is then run
with that folder as its working directory (``/proc/self/fd/N``), so what git
writes is the folder that was checked, whatever its path names by then.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devfactory.runfiles import RefusedFileError, open_within

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class SourceRefusedError(ValueError):
    """A local repository that is not taken: a link on its way, outside the roots, swapped."""


@dataclass(frozen=True)
class LocalSource:
    """A local repository as opened: where it is, its git folder, and which folder that is.

    Attributes:
        path: the repository's folder, absolute, with no link on its way.
        git_dir: its git folder (``path`` when bare, else ``path/.git``).
        identity: ``<device>:<inode>`` of the git folder: the same folder at every opening.

    """

    path: Path
    git_dir: Path
    identity: str


def normal_path(path: Path | str) -> Path:
    """Return ``path`` absolute and without ``.`` or ``..`` parts (no link is resolved)."""
    return Path(os.path.normpath(os.path.abspath(os.fspath(path))))


def resolved_source(path: Path | str) -> Path:
    """Return the folder ``path`` names with its links resolved: what a run keeps of it.

    A request resolves the path once; from then on the run opens that path,
    in which no link may appear.
    """
    return Path(os.fspath(path)).expanduser().resolve()


def inside_roots(path: Path, roots: Sequence[Path]) -> bool:
    """Say whether the link-free ``path`` lies under one of ``roots`` (each resolved)."""
    return any(path.is_relative_to(root.expanduser().resolve()) for root in roots)


def _entry_mode(folder: int, name: str) -> int | None:
    """Return the mode of ``name`` in ``folder`` without following it (None: not there)."""
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None


def _git_folder(folder: int, shown: Path) -> tuple[int, Path]:
    """Return the git folder of the repository open as ``folder``, opened, and its path."""
    mode = _entry_mode(folder, ".git")
    if mode is None:  # a bare repository: the folder is its git folder
        return os.dup(folder), shown
    if stat.S_ISLNK(mode):
        raise SourceRefusedError(f"the repository at {shown} has a .git that is a link: refused")
    if not stat.S_ISDIR(mode):
        raise SourceRefusedError(
            f"the repository at {shown} has a .git file (a linked worktree's or a submodule's): "
            "give the repository that holds its history"
        )
    return os.open(".git", _FOLDER, dir_fd=folder), shown / ".git"


def _check_git_folder(git: int, shown: Path) -> None:
    """Refuse a git folder without ``HEAD``, ``objects`` and ``refs``, or with a link among them."""
    wanted = {"HEAD": stat.S_ISREG, "objects": stat.S_ISDIR, "refs": stat.S_ISDIR}
    for name, is_kind in wanted.items():
        mode = _entry_mode(git, name)
        if mode is None or not is_kind(mode):
            raise SourceRefusedError(f"{shown} is not a git repository (no {name})")


def _identity(fd: int) -> str:
    found = os.fstat(fd)
    return f"{found.st_dev}:{found.st_ino}"


@contextmanager
def opened_source(
    path: Path | str, *, roots: Sequence[Path] | None = None, identity: str = ""
) -> Iterator[tuple[int, LocalSource]]:
    """Open the local repository at ``path``; yield its git folder's descriptor and what it is.

    ``roots``: the folders it must lie under (None: anywhere, the local
    operator's own path). ``identity``: the git folder it must be (empty: any,
    the first opening). Raises ``SourceRefusedError`` saying which check refused it.
    """
    where = normal_path(path)
    if roots is not None and not inside_roots(where, roots):
        raise SourceRefusedError(
            f"the repository {where} is not under the repo_local_roots setting: refused"
        )
    try:
        folder = open_within("/", where.parts[1:])
    except RefusedFileError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceRefusedError(
                f"the way to the repository {where} goes through a link: refused "
                "(a run keeps the path it was given with its links resolved)"
            ) from None
        raise SourceRefusedError(f"no repository at {where}: not a folder") from None
    try:
        git, git_dir = _git_folder(folder, where)
    finally:
        os.close(folder)
    try:
        _check_git_folder(git, git_dir)
        found = LocalSource(where, git_dir, _identity(git))
        if identity and found.identity != identity:
            raise SourceRefusedError(
                f"the repository at {where} is not the one the run was cloned from "
                "(the folder was replaced): refused"
            )
        yield git, found
    finally:
        os.close(git)
