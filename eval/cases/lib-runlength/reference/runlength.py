"""Run-length encoding of text: ``"aaab"`` is ``"3ab"``; digits and backslashes escaped."""

from __future__ import annotations

from itertools import groupby

DIGITS = "0123456789"
ESCAPED = DIGITS + "\\"


def runs(text: str) -> list[tuple[str, int]]:
    """Return the maximal runs of one repeated character, as ``(character, length)``."""
    return [(char, len(list(group))) for char, group in groupby(text)]


def encode(text: str) -> str:
    """Write each run as its length (left out when 1) and its character."""
    parts = []
    for char, length in runs(text):
        prefix = str(length) if length > 1 else ""
        parts.append(prefix + ("\\" + char if char in ESCAPED else char))
    return "".join(parts)


def decode(code: str) -> str:
    """Reverse ``encode``; raise ``ValueError`` for a malformed code."""
    out = []
    index = 0
    while index < len(code):
        start = index
        while index < len(code) and code[index] in DIGITS:
            index += 1
        digits = code[start:index]
        if digits and (digits[0] == "0"):
            raise ValueError(f"bad length {digits!r} at {start}")
        if index == len(code):
            raise ValueError(f"length {digits!r} has no character after it")
        char = code[index]
        if char == "\\":
            index += 1
            if index == len(code):
                raise ValueError("a backslash ends the code")
            char = code[index]
        out.append(char * (int(digits) if digits else 1))
        index += 1
    return "".join(out)


def ratio(text: str) -> float:
    """Return ``len(encode(text)) / len(text)``, or 1.0 for the empty string."""
    if not text:
        return 1.0
    return len(encode(text)) / len(text)
