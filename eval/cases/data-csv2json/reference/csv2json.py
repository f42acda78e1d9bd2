"""Convert a CSV file with a header row into a JSON array of typed objects."""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from typing import Any

_SPACES_OR_HYPHENS = re.compile(r"[ \-]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")


class RaggedRowError(ValueError):
    """A row has a different number of cells than the header."""


def key(header: str) -> str:
    """Turn a header cell into a JSON key."""
    return _SPACES_OR_HYPHENS.sub("_", header.strip().lower())


def value(cell: str) -> Any:
    """Type a cell: null, bool, int, float or str."""
    text = cell.strip()
    if not text:
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def convert(lines: Any, delimiter: str = ",") -> list[dict[str, Any]]:
    """Read CSV text lines into typed row objects."""
    reader = csv.reader(lines, delimiter=delimiter)
    header: list[str] | None = None
    rows: list[dict[str, Any]] = []
    for cells in reader:
        if not cells:
            continue
        if header is None:
            header = [key(cell) for cell in cells]
            continue
        if len(cells) != len(header):
            raise RaggedRowError(
                f"line {reader.line_num}: expected {len(header)} fields, got {len(cells)}"
            )
        rows.append({name: value(cell) for name, cell in zip(header, cells, strict=True)})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="csv2json", description=__doc__)
    parser.add_argument("input", metavar="INPUT")
    parser.add_argument("-o", "--output", metavar="OUTPUT")
    parser.add_argument("--delimiter", default=",", metavar="CHAR")
    args = parser.parse_args(argv)
    try:
        with open(args.input, encoding="utf-8-sig", newline="") as handle:
            rows = convert(handle, args.delimiter)
    except OSError as exc:
        print(f"csv2json: {args.input}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except RaggedRowError as exc:
        print(f"csv2json: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
