"""The requirement as the CLI takes it: an argument, stdin (``-``) or a file, under the API's cap.

``run``, ``submit`` and ``modify`` take it the same way; what is too long, not
UTF-8, empty, not there or not a regular file exits 2 with why, before
anything is opened.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Annotated

import typer

from devfactory.cli.common import EXIT_USAGE, fail
from devfactory.control.ceilings import MAX_REQUIREMENT_CHARS

_OPEN = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
"""How ``--file`` is opened: a FIFO opens at once (then refused), never waiting for a writer."""

RequirementArg = Annotated[
    str | None,
    typer.Argument(
        help="What to build, in plain words; - reads it from stdin (or give --file).",
        show_default=False,
    ),
]
RequirementFileOption = Annotated[
    Path | None,
    typer.Option(
        "--file", help="Read the requirement from this UTF-8 file (capped as the API caps it)."
    ),
]


def requirement_text(given: str | None, file: Path | None, cap: int = MAX_REQUIREMENT_CHARS) -> str:
    """Return the requirement: the argument, stdin for ``-``, or the text of ``--file``.

    Exit 2, saying why, when none or two are given, the file cannot be read or
    is not a regular file (a FIFO, a device or a socket would block or never
    end), the text is not UTF-8, is empty, or is longer than the API takes
    (``cap``: ``MAX_REQUIREMENT_CHARS`` for a new run, ``MAX_ANSWER_CHARS`` for
    a modified requirement). At most as many bytes as that many characters can
    take are read. Stdin (``-``) is read as it comes: a pipe is what it is for.
    """
    if (given is None) == (file is None):
        raise fail(
            "give the requirement once: as an argument, - to read it from stdin, or --file PATH",
            EXIT_USAGE,
        )
    limit = cap * 4  # bytes: UTF-8 spends at most 4 on a character
    where = "the requirement"
    if file is not None:
        where = f"the requirement file {file}"
        raw = _read_regular(file, limit + 1, where)
    elif given == "-":
        where = "the requirement on stdin"
        raw = sys.stdin.buffer.read(limit + 1)
    else:
        raw = (given or "").encode("utf-8", "surrogateescape")
    too_long = f"{where} is too long: at most {cap:,} characters are taken"
    if len(raw) > limit:
        raise fail(f"{too_long} (the API's cap too)", EXIT_USAGE)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"{where} is not UTF-8 (byte {exc.start})", EXIT_USAGE) from None
    if len(text) > cap:
        raise fail(f"{too_long} (the API's cap too), and it has {len(text):,}", EXIT_USAGE)
    if not text.strip():
        raise fail(f"{where} is empty", EXIT_USAGE)
    return text


def _read_regular(file: Path, size: int, where: str) -> bytes:
    """Return at most ``size`` bytes of ``file``; exit 2 unless it is a regular file to read.

    It is opened without blocking and checked with ``fstat`` on what was opened
    (not on a name that may be swapped meanwhile): read, a FIFO would wait for
    a writer for ever, and a device or socket holds no requirement.
    """
    from devfactory.runfiles import kind

    try:
        fd = os.open(file, _OPEN)
    except FileNotFoundError:
        raise fail(f"{where} does not exist", EXIT_USAGE) from None
    except OSError as exc:  # a socket (ENXIO), no permission...
        raise fail(f"{where} cannot be read: {exc.strerror or exc}", EXIT_USAGE) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise fail(f"{where} cannot be read: it is {kind(mode)}, not a regular file", EXIT_USAGE)
    with os.fdopen(fd, "rb") as stream:
        try:
            return stream.read(size)
        except OSError as exc:
            raise fail(f"{where} cannot be read: {exc.strerror or exc}", EXIT_USAGE) from None
