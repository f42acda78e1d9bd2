"""Byte counts as short texts (1.5 kB) in decimal units, and back."""

from __future__ import annotations

import re

UNITS = ("B", "kB", "MB", "GB", "TB")
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*", re.IGNORECASE)
_FACTORS = {unit.lower(): 1000**power for power, unit in enumerate(UNITS)}


def format_size(size: int) -> str:
    """Return ``size`` bytes as a short text: ``999 B``, ``1.5 kB``, ``2.5 MB``.

    Raises:
        ValueError: if ``size`` is negative.

    """
    if size < 0:
        raise ValueError(f"a size cannot be negative: {size}")
    if size < 1000:
        return f"{size} B"
    power = 1
    while power < len(UNITS) - 1 and size >= 1000 ** (power + 1):
        power += 1
    return f"{size / 1000**power:.1f} {UNITS[power]}"


def parse_size(text: str) -> int:
    """Return the bytes ``text`` (``1.5 kB``, ``20MB``, ``512``) stands for, rounded.

    Raises:
        ValueError: if ``text`` is not a number with an optional known unit.

    """
    match = _SIZE.fullmatch(text)
    if match is None or (match[2] and match[2].lower() not in _FACTORS):
        raise ValueError(f"not a size: {text!r}")
    return round(float(match[1]) * _FACTORS[match[2].lower() or "b"])
