"""Aggregate a sales CSV by region, product or month."""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

REQUIRED = ("date", "region", "product", "quantity", "unit_price")
CENT = Decimal("0.01")


class SalesError(ValueError):
    """The sales file cannot be aggregated; the message says why."""


@dataclass
class Group:
    """What one group adds up to."""

    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal(0)


def _group_of(row: dict[str, str], by: str, line: int) -> tuple[str, int, Decimal]:
    try:
        day = datetime.date.fromisoformat(row["date"].strip())
    except ValueError:
        raise SalesError(f"line {line}: bad date {row['date']!r}") from None
    text = row["quantity"].strip()
    if not text.lstrip("+-").isdigit():
        raise SalesError(f"line {line}: quantity {text!r} is not an integer")
    try:
        price = Decimal(row["unit_price"].strip())
    except InvalidOperation:
        raise SalesError(f"line {line}: bad unit_price {row['unit_price']!r}") from None
    if not price.is_finite():
        raise SalesError(f"line {line}: bad unit_price {row['unit_price']!r}")
    key = f"{day:%Y-%m}" if by == "month" else row[by]
    return key, int(text), price


def aggregate(handle: io.TextIOBase, by: str) -> list[list[str]]:
    """Return the report rows (header, groups, TOTAL) for the CSV in ``handle``."""
    reader = csv.DictReader(handle)
    for name in REQUIRED:
        if name not in (reader.fieldnames or []):
            raise SalesError(f"missing column {name}")
    groups: dict[str, Group] = {}
    for row in reader:
        key, quantity, price = _group_of(row, by, reader.line_num)
        group = groups.setdefault(key, Group())
        group.orders += 1
        group.units += quantity
        group.revenue += quantity * price
    ranked = sorted(groups.items(), key=lambda item: (-item[1].revenue, item[0]))
    total = Group(
        sum(g.orders for g in groups.values()),
        sum(g.units for g in groups.values()),
        sum((g.revenue for g in groups.values()), Decimal(0)),
    )
    rows = [["group", "orders", "units", "revenue"]]
    for name, group in [*ranked, ("TOTAL", total)]:
        revenue = group.revenue.quantize(CENT, rounding=ROUND_HALF_UP)
        rows.append([name, str(group.orders), str(group.units), f"{revenue:.2f}"])
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="salesreport", description=__doc__)
    parser.add_argument("sales", metavar="SALES_CSV")
    parser.add_argument("--by", required=True, choices=["region", "product", "month"])
    parser.add_argument("--output", metavar="OUT")
    args = parser.parse_args(argv)
    try:
        with open(args.sales, encoding="utf-8", newline="") as handle:
            rows = aggregate(handle, args.by)
    except OSError as exc:
        print(f"salesreport: {args.sales}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except SalesError as exc:
        print(f"salesreport: {exc}", file=sys.stderr)
        return 1
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as handle:
            handle.write(out.getvalue())
    else:
        sys.stdout.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
