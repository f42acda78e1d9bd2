"""The one way devfactory runs git: fixed options, a clean environment, a timeout.

The run's folder (``workspace.py``) and a repository a run delivers into
(``repository.py``) both drive the ``git`` command line. Every call goes
through ``run_git`` (or ``read_git`` for bytes): ``GIT_OPTIONS`` first, so
nothing configured elsewhere may run a program (hooks, fsmonitor, a pager) or
change the output; an environment built from ``clean_env`` (no system or user
configuration, no prompt, the C locale) plus what each caller adds; no shell;
stdin closed unless given; a timeout. Every way git fails to run, or ends with
a status the caller did not allow, is a ``GitError``, which each caller words
as its own error.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

# git options for every call: nothing configured elsewhere may run a program or change output
GIT_OPTIONS = (
    "--no-pager",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "core.autocrlf=false",
    "-c", "core.quotePath=false",
    "-c", "commit.gpgSign=false",
    "-c", "log.showSignature=false",
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
    "-c", "init.defaultBranch=main",
)  # fmt: skip


class GitError(RuntimeError):
    """git did not run (missing, too slow, refused), or ended with a status not allowed.

    Attributes:
        done: the finished command when it ran and its status was not allowed (None when
            it did not run), so the caller can word git's own reason.

    """

    def __init__(self, message: str, done: subprocess.CompletedProcess[str] | None = None) -> None:
        super().__init__(message)
        self.done = done


def clean_env(**more: str) -> dict[str, str]:
    """Return git's environment: nothing of the user's configuration, no prompt, and ``more``."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        **more,
    }


def run_git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    program: str = "git",
    options: Sequence[str] = (),
    stdin: str | None = None,
    ok: tuple[int, ...] = (0,),
    pass_fds: Sequence[int] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``program GIT_OPTIONS options args`` in ``cwd``; return it when its status is in ``ok``.

    ``pass_fds``: descriptors git inherits (a ``cwd`` of ``/proc/self/fd/N``
    is then the folder open as ``N``, whatever its path names meanwhile).
    Raises ``GitError``: git missing, past ``timeout``, refused by the system, or
    an exit status not in ``ok`` (then ``done`` holds what it said).
    """
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, arguments after options, no shell
            [program, *GIT_OPTIONS, *options, *args],
            cwd=cwd,
            env=env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
            pass_fds=tuple(pass_fds),
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {timeout:g} s") from None
    except FileNotFoundError:
        raise GitError(f"{program!r} was not found (is git installed?)") from None
    except OSError as exc:
        raise GitError(f"git {args[0]} could not run: {exc.strerror}") from None
    if done.returncode not in ok:
        raise GitError(f"git {args[0]} failed (exit {done.returncode})", done)
    return done


def read_git(
    args: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float, stdin: bytes
) -> bytes:
    """Run ``git GIT_OPTIONS args`` with ``stdin`` as bytes; return its output as bytes.

    For ``cat-file --batch``, whose answer is the files' own bytes. Its exit
    status is not judged (a missing object is said in the output). Raises
    ``GitError`` when git does not run or passes ``timeout``.
    """
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", *GIT_OPTIONS, *args],
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise GitError(str(exc)) from None
    return done.stdout
