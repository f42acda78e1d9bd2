"""Add up the amounts of one or more CSV spending files, by category."""

from __future__ import annotations

import argparse
import csv
import sys
from decimal import Decimal, InvalidOperation

UNCATEGORISED = "uncategorised"


class SpendingError(ValueError):
    """A file cannot be summed: it lacks a column or holds a bad amount."""


def _column(header: list[str], name: str, path: str) -> int:
    for index, cell in enumerate(header):
        if cell.strip().lower() == name:
            return index
    raise SpendingError(f"{path}: no {name} column")


def add_file(path: str, totals: dict[str, Decimal]) -> None:
    """Add the amounts of the CSV file at ``path`` to ``totals``, by category."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise SpendingError(f"{path}: no header row")
    category_at = _column(rows[0], "category", path)
    amount_at = _column(rows[0], "amount", path)
    for number, row in enumerate(rows[1:], start=2):
        cell = row[amount_at].strip() if amount_at < len(row) else ""
        try:
            amount = Decimal(cell)
        except InvalidOperation:
            raise SpendingError(f"{path}: row {number}: not a number: {cell!r}") from None
        if not amount.is_finite():
            raise SpendingError(f"{path}: row {number}: not a number: {cell!r}")
        category = row[category_at].strip() if category_at < len(row) else ""
        key = category or UNCATEGORISED
        totals[key] = totals.get(key, Decimal(0)) + amount


def summary(totals: dict[str, Decimal], largest_first: bool = False) -> list[str]:
    """Return the summary's lines: one per category, then the grand total."""
    if largest_first:
        order = sorted(totals, key=lambda name: (-totals[name], name))
    else:
        order = sorted(totals)
    lines = [f"{name}: {totals[name]:.2f}" for name in order]
    lines.append(f"total: {sum(totals.values(), Decimal(0)):.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="spendsum", description=__doc__)
    parser.add_argument("files", nargs="+", help="CSV files with category and amount columns")
    parser.add_argument(
        "--largest-first", action="store_true", help="order categories by total, largest first"
    )
    args = parser.parse_args(argv)
    totals: dict[str, Decimal] = {}
    for path in args.files:
        try:
            add_file(path, totals)
        except OSError as exc:
            print(f"spendsum: {path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        except (SpendingError, UnicodeDecodeError, csv.Error) as exc:
            print(f"spendsum: {exc}", file=sys.stderr)
            return 1
    print("\n".join(summary(totals, args.largest_first)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
