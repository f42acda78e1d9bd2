"""Quotes a Python draft forgot to escape: ``help="Print `{"files": [...]}`"``.

Small models copy the requirement's text into string literals, JSON and all,
and the quotes inside end the string early: the file does not parse. The
repair escapes the quotes inside one string literal of the line Python
reports, choosing the literal that makes the line parse on its own (as a
statement, call arguments or dict items) with the fewest quotes escaped:
escaping more would swallow neighbouring arguments into one string. Each
broken line gets its turn, and the repair is kept only when the whole file
then parses; any other syntax error is left to the checks.
"""

from __future__ import annotations

import ast
from itertools import combinations

MAX_LINES = 20  # broken lines repaired in one file
MAX_QUOTES = 40  # quotes on one line: more is not a string someone forgot to escape
MAX_TRIES = 300  # literals tried on one line, the fewest inner quotes first


def escape_inner_quotes(source: str) -> tuple[str, list[int]]:
    """Return ``source`` with the quotes inside its broken string literals escaped.

    Returns the text and the numbers of the lines repaired; the text unchanged
    and ``[]`` when the file parses already or the repair does not make it parse.
    """
    lines = source.split("\n")
    fixed: list[int] = []
    for _ in range(MAX_LINES + 1):
        row = _error_line("\n".join(lines))
        if row is None:
            return ("\n".join(lines), sorted(fixed)) if fixed else (source, [])
        if row in fixed or not 0 < row <= len(lines):
            break
        line = _repaired(lines, row)
        if line is None:
            break
        lines[row - 1] = line
        fixed.append(row)
    return source, []


def _error_line(text: str) -> int | None:
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return exc.lineno or 0
    return None


def _repaired(lines: list[str], row: int) -> str | None:
    """Return line ``row`` with the fewest inner quotes escaped that gets it parsing."""
    line = lines[row - 1]
    if '"""' in line or "'''" in line or _parses_alone(line.strip()):
        return None  # a docstring, or the error is not in this line's quotes
    tries = []  # (inner quotes, start, end): the fewest first
    for quote in ('"', "'"):
        spots = [i for i, c in enumerate(line) if c == quote and line[i - 1 : i] != "\\"]
        if 3 <= len(spots) <= MAX_QUOTES:
            tries += [
                (b - a - 1, spots[a], spots[b]) for a, b in combinations(range(len(spots)), 2)
            ]
    for _, start, end in sorted(t for t in tries if t[0])[:MAX_TRIES]:
        inner = line[start + 1 : end]
        quote = line[start]
        escaped = "".join("\\" + c if c == quote and inner[i - 1 : i] != "\\" else c
                          for i, c in enumerate(inner))  # fmt: skip
        candidate = line[: start + 1] + escaped + line[end:]
        if _parses_alone(candidate.strip()):
            return candidate
    return None


def _parses_alone(text: str) -> bool:
    """Say whether a line parses on its own: as statements, call arguments or dict items."""
    return any(_error_line(wrapped) is None for wrapped in (text, f"_({text})", f"{{{text}}}"))
