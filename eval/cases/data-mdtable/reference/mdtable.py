"""Print a CSV file as a Markdown table with padded, aligned columns."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import TextIO

ALIGNMENTS = "lrc"


class TableError(ValueError):
    """The CSV cannot be turned into a table; the message says why."""


def read_rows(handle: TextIO) -> list[list[str]]:
    """Return the header and rows, cells stripped and escaped, short rows padded."""
    rows: list[list[str]] = []
    reader = csv.reader(handle)
    for row in reader:
        if not row:
            continue
        cells = [cell.strip().replace("|", "\\|") for cell in row]
        if rows and len(cells) > len(rows[0]):
            raise TableError(f"line {reader.line_num}: too many cells")
        if rows:
            cells += [""] * (len(rows[0]) - len(cells))
        rows.append(cells)
    if not rows:
        raise TableError("the file has no header row")
    return rows


def _pad(cell: str, width: int, align: str) -> str:
    if align == "r":
        return cell.rjust(width)
    if align == "c":
        left = (width - len(cell)) // 2
        return (" " * left + cell).ljust(width)
    return cell.ljust(width)


def _rule(width: int, align: str) -> str:
    dashes = "-" * width
    if align == "l":
        return ":" + dashes[1:]
    if align == "r":
        return dashes[:-1] + ":"
    return ":" + dashes[2:] + ":"


def render(rows: list[list[str]], spec: str | None = None) -> str:
    """Return the Markdown table of ``rows`` (the first is the header)."""
    columns = len(rows[0])
    aligns = spec or "l" * columns
    widths = [max(3, *(len(row[i]) for row in rows)) for i in range(columns)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |\n"

    body = [
        line([_pad(c, w, a) for c, w, a in zip(row, widths, aligns, strict=True)]) for row in rows
    ]
    rule = line([_rule(w, a) for w, a in zip(widths, aligns, strict=True)])
    return body[0] + rule + "".join(body[1:])


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="mdtable", description=__doc__)
    parser.add_argument("file", metavar="CSV_FILE")
    parser.add_argument("--align", metavar="SPEC", help="l, r or c per column")
    args = parser.parse_args(argv)
    if args.align is not None and (not args.align or set(args.align) - set(ALIGNMENTS)):
        parser.error(f"SPEC must use only the letters l, r and c: {args.align!r}")
    try:
        with open(args.file, encoding="utf-8", newline="") as handle:
            rows = read_rows(handle)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"mdtable: {args.file}: {exc}", file=sys.stderr)
        return 1
    except TableError as exc:
        print(f"mdtable: {exc}", file=sys.stderr)
        return 1
    if args.align is not None and len(args.align) != len(rows[0]):
        parser.error(f"SPEC has {len(args.align)} letters for {len(rows[0])} columns")
    sys.stdout.write(render(rows, args.align))
    return 0


if __name__ == "__main__":
    sys.exit(main())
