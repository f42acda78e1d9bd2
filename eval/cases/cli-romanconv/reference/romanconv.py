"""Convert between integers and Roman numerals (1 to 3999)."""

from __future__ import annotations

import argparse
import sys

_VALUES = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)
_SYMBOLS = {symbol: value for value, symbol in _VALUES if len(symbol) == 1}


def to_roman(n: int) -> str:
    """Return ``n`` (1..3999) as a Roman numeral in standard subtractive form."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 3999:
        raise ValueError(f"expected an integer from 1 to 3999, got {n!r}")
    parts = []
    for value, symbol in _VALUES:
        count, n = divmod(n, value)
        parts.append(symbol * count)
    return "".join(parts)


def from_roman(s: str) -> int:
    """Return the value of a canonical Roman numeral (either case)."""
    text = s.upper() if isinstance(s, str) else ""
    if not text or any(ch not in _SYMBOLS for ch in text):
        raise ValueError(f"not a Roman numeral: {s!r}")
    total = 0
    for here, after in zip(text, text[1:] + " ", strict=True):
        value = _SYMBOLS[here]
        total += -value if after != " " and _SYMBOLS[after] > value else value
    if not 1 <= total <= 3999 or to_roman(total) != text:
        raise ValueError(f"not a canonical Roman numeral: {s!r}")
    return total


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = argparse.ArgumentParser(prog="romanconv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("to-roman").add_argument("value", metavar="N")
    commands.add_parser("from-roman").add_argument("value", metavar="NUMERAL")
    args = parser.parse_args(argv)
    try:
        if args.command == "to-roman":
            try:
                number = int(args.value)
            except ValueError:
                raise ValueError(f"not an integer: {args.value!r}") from None
            print(to_roman(number))
        else:
            print(from_roman(args.value))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
