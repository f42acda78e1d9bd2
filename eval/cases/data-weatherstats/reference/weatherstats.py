"""Summarise temperature readings from a CSV file per city, as JSON."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterable

COLUMNS = ("city", "date", "temp")


class ColumnError(ValueError):
    """The CSV file lacks a column the summary needs."""


def summarise(rows: Iterable[dict[str, str]], city: str | None = None) -> dict[str, dict]:
    """Return each city's count, min, max and mean (one decimal), cities in order."""
    temps: dict[str, list[float]] = {}
    for row in rows:
        try:
            temp = float(row["temp"])
        except (TypeError, ValueError):
            continue
        if not math.isfinite(temp) or (city is not None and row["city"] != city):
            continue
        temps.setdefault(row["city"], []).append(temp)
    return {
        name: {
            "count": len(values),
            "min": min(values),
            "max": max(values),
            "mean": round(sum(values) / len(values), 1),
        }
        for name, values in sorted(temps.items())
    }


def read_rows(path: str) -> list[dict[str, str]]:
    """Read the CSV file's rows, checking that every column is there."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ColumnError(f"missing column(s): {', '.join(missing)}")
        return list(reader)


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="weatherstats", description=__doc__)
    parser.add_argument("file", help="the CSV file of readings")
    parser.add_argument("--city", help="summarise only this city")
    args = parser.parse_args(argv)
    try:
        rows = read_rows(args.file)
    except (OSError, UnicodeDecodeError, ColumnError) as exc:
        print(f"weatherstats: {args.file}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summarise(rows, args.city), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
