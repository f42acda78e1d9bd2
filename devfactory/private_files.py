"""What the factory writes is its own user's: folders 0700, files 0600.

The data directory holds what no other account on the machine may read: the
users file, the audit key, the database role's password, the chat's copies of
a run's files, and the runs' folders, whose git configuration may name a
remote. Every entry point (the CLI, and so ``devfactory worker``, ``serve``
and ``chat``; each API process, ``api/__main__.served``; the chat's
``prepare``) calls ``keep_private`` before it writes anything: the process
umask ``PRIVATE_UMASK`` then covers every folder and file made after it, by
our code, by git and by libraries (Chainlit's attachments, mem0, the model
server's logs), with no mode to remember at each call. A data directory that
an earlier version made wider is narrowed, and the log says so.

Two parts are read by another user on purpose, each named where it is made:
the sandbox's environments (``sandbox/installer.py``: the sandbox's own user
runs code with them) and, when the factory runs as root, the embedded
Postgres' folder (pgserver runs Postgres as its own user, which must pass
through the data directory: ``narrow`` then leaves the data directory
passable, never listable).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Final

PRIVATE_UMASK: Final = 0o077
"""The process umask of every entry point: nothing made is group's or other's."""
PASSABLE: Final = 0o011
"""The bits another user needs to pass through a folder to one of its own (not to list it)."""
SHARED: Final = ("pg",)
"""Folders in the data directory that may be another user's: the embedded Postgres'
(``store/db.py``), which pgserver gives its own user when the factory runs as root."""

log = logging.getLogger(__name__)


def keep_private(*folders: Path | None) -> None:
    """Make this process's new files private, and narrow each existing ``folder``.

    Call it once, at a process's start, before it writes anything. A folder
    that is not there yet is left to be made (under the umask: 0700).
    """
    os.umask(PRIVATE_UMASK)
    for folder in folders:
        if folder is None:
            continue
        before = narrow(folder)
        if before is not None:
            log.warning(
                "narrowed %s from %04o to %04o: other users could list or enter it (it holds the "
                "factory's secrets and runs)",
                folder,
                before,
                stat.S_IMODE(folder.stat().st_mode),
            )


def narrow(folder: Path) -> int | None:
    """Take group's and other's rights off ``folder``; return its mode before (None: unchanged).

    Another user keeps the right to pass through (``PASSABLE``, never to list
    or write) only where a ``SHARED`` folder in it is that user's. A folder
    that is missing, a link or not ours is left alone (and said in the log
    when it cannot be changed).
    """
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return None
    mode = stat.S_IMODE(info.st_mode)
    wanted = mode & ~0o077 | (PASSABLE if _holds_another_users(folder, info.st_uid) else 0)
    if wanted == mode:
        return None
    try:
        os.chmod(folder, wanted, follow_symlinks=False)
    except OSError as exc:
        log.warning("could not narrow %s (%04o): %s", folder, mode, exc.strerror)
        return None
    return mode


def _holds_another_users(folder: Path, owner: int) -> bool:
    """Say whether a folder of ``SHARED`` in ``folder`` belongs to another user than ``owner``."""
    for name in SHARED:
        try:
            info = (folder / name).lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid != owner:
            return True
    return False
