"""Web colour codes (#rrggbb, #rgb) to and from red, green and blue, and their blends."""

from __future__ import annotations

import re

_CODE = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def hex_to_rgb(code: str) -> tuple[int, int, int]:
    """Return the red, green and blue of ``#rrggbb`` or ``#rgb``.

    Raises:
        ValueError: if ``code`` is neither form.

    """
    match = _CODE.fullmatch(code)
    if match is None:
        raise ValueError(f"not a colour code: {code!r}")
    digits = match[1] if len(match[1]) == 6 else "".join(d * 2 for d in match[1])
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return red, green, blue


def rgb_to_hex(red: int, green: int, blue: int) -> str:
    """Return the ``#rrggbb`` code (lower case) of a colour.

    Raises:
        ValueError: if a number is outside 0 to 255.

    """
    if not all(0 <= value <= 255 for value in (red, green, blue)):
        raise ValueError(f"not from 0 to 255: {(red, green, blue)}")
    return f"#{red:02x}{green:02x}{blue:02x}"


def mix(first: str, second: str, weight: float = 0.5) -> str:
    """Return the code of ``first`` and ``second`` blended, ``weight`` of the second.

    Raises:
        ValueError: if ``weight`` is outside 0 to 1 or a code is not one.

    """
    if not 0 <= weight <= 1:
        raise ValueError(f"the weight must be from 0 to 1, not {weight}")
    pairs = zip(hex_to_rgb(first), hex_to_rgb(second), strict=True)
    red, green, blue = (round(a * (1 - weight) + b * weight) for a, b in pairs)
    return rgb_to_hex(red, green, blue)
