"""The requirement as the CLI takes it: an argument, stdin (``-``) or a file, under the API's cap.

``run`` and ``submit`` take it the same way; what is too long, not UTF-8,
empty or not there exits 2 with why, before anything is opened.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from devfactory.cli.common import EXIT_USAGE, fail
from devfactory.control.ceilings import MAX_REQUIREMENT_CHARS

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

    Exit 2, saying why, when none or two are given, the file cannot be read,
    the text is not UTF-8, is empty, or is longer than the API takes (``cap``:
    ``MAX_REQUIREMENT_CHARS`` for a new run, ``MAX_ANSWER_CHARS`` for a modified
    requirement). At most as many bytes as that many characters can take are read.
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
        try:
            with file.open("rb") as stream:
                raw = stream.read(limit + 1)
        except FileNotFoundError:
            raise fail(f"{where} does not exist", EXIT_USAGE) from None
        except OSError as exc:
            raise fail(f"{where} cannot be read: {exc.strerror or exc}", EXIT_USAGE) from None
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
