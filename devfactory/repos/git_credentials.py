"""A repository URL's user and password: never in a run's folder, given to git when it asks.

A run cloned from ``https://user:token@host/repo.git`` must push its branch
back with the same credentials, but the run's folder is the run's output: it
is listed, archived, copied by the person who asked for it, and its
``.git/config`` is where git would keep the URL. So after the clone the
origin names the URL without its user information, and the user and password
are kept apart, in ``<data_dir>/repo-credentials/<run-id>`` (a 0700 folder, a
0600 file, written without following a link). When the run's branch goes
back, git is given them by ``GIT_ASKPASS``: a fixed script that prints one of
two variables of git's own environment (never its command line, which other
accounts can read in ``/proc``). The file is removed once the run has
delivered, and with the run when it is purged.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

FOLDER: Final = "repo-credentials"
"""The data directory's folder of kept credentials, one file a run."""
_ASKPASS = """#!/bin/sh
# devfactory: answer git's question from its own environment (the run's kept credentials)
case "$1" in
  Username*) printf '%s\\n' "$DEVFACTORY_GIT_USERNAME" ;;
  *) printf '%s\\n' "$DEVFACTORY_GIT_PASSWORD" ;;
esac
"""
_MAX_BYTES = 4096
_NEW = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def without_userinfo(url: str) -> tuple[str, str]:
    """Return an http(s) ``url`` without its user information, and that information ('' if none).

    Other URLs (ssh's ``user@host`` names an account, not a secret) are
    returned as they are.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, ""
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=host)), userinfo


def _folder(data_dir: Path) -> Path:
    folder = Path(data_dir) / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = os.lstat(folder)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid():
        raise OSError(f"{folder} is not a folder of the factory's own")
    os.chmod(folder, 0o700)
    return folder


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    fd = os.open(path, _NEW, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def keep(data_dir: Path, run_id: str, userinfo: str) -> None:
    """Keep ``userinfo`` (``user:password``) for the run ``run_id``, readable by this user alone."""
    _write_private(_folder(data_dir) / run_id, userinfo + "\n")


def recall(data_dir: Path, run_id: str) -> str:
    """Return the user information kept for ``run_id`` ('' when none is kept)."""
    path = Path(data_dir) / FOLDER / run_id
    try:
        fd = os.open(path, _READ)
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        return os.read(fd, _MAX_BYTES).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)


def forget(data_dir: Path, run_id: str) -> None:
    """Remove what is kept for ``run_id`` (nothing kept: nothing done)."""
    try:
        os.unlink(Path(data_dir) / FOLDER / run_id)
    except FileNotFoundError:
        pass


@contextmanager
def askpass_env(data_dir: Path, run_id: str) -> Iterator[dict[str, str]]:
    """Yield what git's environment needs to answer with the run's kept credentials.

    Nothing kept: an empty mapping (git then asks no one: ``GIT_ASKPASS`` stays
    the factory's ``true``).
    """
    userinfo = recall(data_dir, run_id)
    if not userinfo:
        yield {}
        return
    user, _, password = userinfo.partition(":")
    script = _folder(data_dir) / f".askpass-{os.getpid()}-{secrets.token_hex(6)}"
    _write_private(script, _ASKPASS, 0o700)
    try:
        yield {
            "GIT_ASKPASS": str(script),
            "DEVFACTORY_GIT_USERNAME": unquote(user),
            "DEVFACTORY_GIT_PASSWORD": unquote(password),
        }
    finally:
        script.unlink(missing_ok=True)
