"""Convert a temperature between Celsius, Fahrenheit and Kelvin."""

from __future__ import annotations

import argparse
import sys
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

UNITS = ("C", "F", "K")
ABSOLUTE_ZERO_C = Decimal("-273.15")


class ConversionError(ValueError):
    """The value cannot be converted; the message says why."""


def to_celsius(value: Decimal, unit: str) -> Decimal:
    """Return ``value`` in ``unit`` as degrees Celsius."""
    if unit == "F":
        return (value - 32) * 5 / 9
    if unit == "K":
        return value + ABSOLUTE_ZERO_C
    return value


def from_celsius(celsius: Decimal, unit: str) -> Decimal:
    """Return ``celsius`` in ``unit``."""
    if unit == "F":
        return celsius * 9 / 5 + 32
    if unit == "K":
        return celsius - ABSOLUTE_ZERO_C
    return celsius


def convert(value: Decimal, source: str, target: str) -> Decimal:
    """Convert ``value`` from ``source`` to ``target`` (each C, F or K), exactly."""
    celsius = to_celsius(value, source)
    if celsius < ABSOLUTE_ZERO_C:
        raise ConversionError("below absolute zero")
    return from_celsius(celsius, target)


def format_result(result: Decimal, digits: int, unit: str) -> str:
    """Round ``result`` to ``digits`` places and add the unit; a rounded zero has no sign."""
    rounded = result.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:.{digits}f} {unit}"


def parse_value(text: str) -> Decimal:
    """Read a decimal number, or raise ``ConversionError``."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ConversionError(f"not a number: {text}") from None
    if not value.is_finite():
        raise ConversionError(f"not a number: {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the program; return its exit code."""
    parser = argparse.ArgumentParser(prog="tempconv", description=__doc__)
    parser.add_argument("value", metavar="VALUE")
    parser.add_argument("--from", dest="source", required=True, type=str.upper, choices=UNITS)
    parser.add_argument("--to", dest="target", required=True, type=str.upper, choices=UNITS)
    parser.add_argument("--digits", type=int, default=2, choices=range(7), metavar="N")
    args = parser.parse_args(argv)
    try:
        result = convert(parse_value(args.value), args.source, args.target)
    except ConversionError as exc:
        print(f"tempconv: {exc}", file=sys.stderr)
        return 1
    print(format_result(result, args.digits, args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
