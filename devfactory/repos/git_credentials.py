"""A repository URL's user and password: never in a run's folder, given to git when it asks.

A run cloned from ``https://user:token@host/repo.git`` must push its branch
back with the same credentials, but the run's folder is the run's output: it
is listed, archived, copied by the person who asked for it, and its
``.git/config`` is where git would keep the URL. So after the clone the
origin names the URL without its user information, and the user and password
are kept apart, in ``<data_dir>/repo-credentials/<run-id>`` (a 0700 folder, a
0600 file, written without following a link). When the run's branch goes
back, git is given them by a credential helper set in git's environment
(``GIT_CONFIG_COUNT``): a fixed shell function that prints two variables of
git's own environment (never its command line, which other accounts can read
in ``/proc``). No file is written for it: an executable written beside the
call (``GIT_ASKPASS``) could not be run while any process forked meanwhile
still held it open for writing (``ETXTBSY``), a likely cause of a push that
failed now and then. The kept file is removed once the run has delivered, and
with the run when it is purged.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

FOLDER: Final = "repo-credentials"
"""The data directory's folder of kept credentials, one file a run."""
_HELPER = (
    '!f() { test "$1" = get || exit 0; printf "username=%s\\npassword=%s\\n" '
    '"$DEVFACTORY_GIT_USERNAME" "$DEVFACTORY_GIT_PASSWORD"; }; f'
)
"""git's credential helper: answers ``get`` from its environment; ``store``, ``erase``: nothing."""
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


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, _NEW, 0o600)
    try:
        os.fchmod(fd, 0o600)
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
    (Path(data_dir) / FOLDER / run_id).unlink(missing_ok=True)


def credential_env(data_dir: Path, run_id: str) -> dict[str, str]:
    """Return what git's environment needs to sign in with the run's kept credentials.

    Nothing kept: an empty mapping (git then asks no one: ``GIT_ASKPASS`` stays
    the factory's ``true``). The helper list is emptied first, then ours is
    the only one. Raises ``ValueError`` when the user or password holds a
    control character, which git's credential protocol (one ``key=value`` a
    line) cannot carry.
    """
    userinfo = recall(data_dir, run_id)
    if not userinfo:
        return {}
    user, _, password = (unquote(part) for part in userinfo.partition(":"))
    if any(ord(c) < 32 or ord(c) == 127 for c in user + password):
        raise ValueError("the repository URL's user or password holds a control character")
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": "credential.helper",
        "GIT_CONFIG_VALUE_1": _HELPER,
        "DEVFACTORY_GIT_USERNAME": user,
        "DEVFACTORY_GIT_PASSWORD": password,
    }
