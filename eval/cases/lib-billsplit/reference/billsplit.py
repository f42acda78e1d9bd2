"""Share a bill, in whole cents, evenly (with an optional tip) or in proportion to weights."""

from __future__ import annotations

from fractions import Fraction


def share_equally(cents: int, people: int, tip: int = 0) -> list[int]:
    """Return what each of ``people`` pays of ``cents`` plus a ``tip`` percent.

    The tip is rounded to the nearest cent, half a cent up; leftover cents go one
    each to the first people.
    """
    if cents < 0 or tip < 0:
        raise ValueError("the bill and the tip cannot be negative")
    if people < 1:
        raise ValueError("there must be at least one person")
    total = cents + (cents * tip + 50) // 100
    base, left = divmod(total, people)
    return [base + 1 if index < left else base for index in range(people)]


def share_by_weight(cents: int, weights: list[float]) -> list[int]:
    """Return ``cents`` shared in proportion to ``weights``, by largest remainders.

    Each share is rounded down; the cents still missing go one each to the largest
    fractions dropped, the earlier person first on a tie.
    """
    if cents < 0:
        raise ValueError("the bill cannot be negative")
    exact = [Fraction(str(weight)) for weight in weights]
    if any(weight < 0 for weight in exact):
        raise ValueError("a weight cannot be negative")
    whole = sum(exact)
    if not exact or whole == 0:
        raise ValueError("at least one weight must be above zero")
    parts = [cents * weight / whole for weight in exact]
    shares = [int(part) for part in parts]  # parts are not negative: int() rounds down
    by_fraction = sorted(range(len(parts)), key=lambda i: (-(parts[i] - shares[i]), i))
    for index in by_fraction[: cents - sum(shares)]:
        shares[index] += 1
    return shares
