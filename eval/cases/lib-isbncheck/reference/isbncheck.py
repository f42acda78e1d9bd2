"""Check book numbers (ISBN-10 and ISBN-13) and turn an ISBN-10 into its ISBN-13."""

from __future__ import annotations

import re

_ISBN10 = re.compile(r"\d{9}[\dX]")
_ISBN13 = re.compile(r"\d{13}")


def _plain(text: str) -> str:
    return text.replace("-", "").replace(" ", "")


def _isbn10_ok(digits: str) -> bool:
    if not _ISBN10.fullmatch(digits):
        return False
    values = [10 if char == "X" else int(char) for char in digits]
    return (
        sum(value * weight for value, weight in zip(values, range(10, 0, -1), strict=True)) % 11
        == 0
    )


def _isbn13_sum(digits: str) -> int:
    return sum(int(char) * (3 if i % 2 else 1) for i, char in enumerate(digits))


def is_valid(text: str) -> bool:
    """Whether ``text`` (hyphens and spaces aside) is a valid ISBN-10 or ISBN-13."""
    digits = _plain(text)
    if _ISBN13.fullmatch(digits):
        return _isbn13_sum(digits) % 10 == 0
    return _isbn10_ok(digits)


def to_isbn13(isbn10: str) -> str:
    """Return the ISBN-13 of a valid ISBN-10, as 13 digits.

    Raises:
        ValueError: if ``isbn10`` is not a valid ISBN-10.

    """
    digits = _plain(isbn10)
    if not _isbn10_ok(digits):
        raise ValueError(f"not a valid ISBN-10: {isbn10!r}")
    body = "978" + digits[:9]
    return body + str(-_isbn13_sum(body) % 10)
