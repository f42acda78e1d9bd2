"""Count the lines, words and bytes of files, like Unix ``wc``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Counts:
    """What one file (or all of them) holds."""

    lines: int
    words: int
    bytes: int


def count(data: bytes) -> Counts:
    """Count the newlines, whitespace-separated words and bytes of ``data``."""
    text = data.decode("utf-8", errors="replace")
    return Counts(data.count(b"\n"), len(text.split()), len(data))


def _row(counts: Counts, name: str, lines_only: bool) -> str:
    if lines_only:
        return f"{counts.lines} {name}"
    return f"{counts.lines} {counts.words} {counts.bytes} {name}"


def main(argv: list[str] | None = None) -> int:
    """Run the program; return its exit code."""
    parser = argparse.ArgumentParser(prog="wordcount", description=__doc__)
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--lines", action="store_true", help="print only line counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    found: list[tuple[str, Counts]] = []
    status = 0
    for path in args.files:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            print(f"wordcount: {path}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
            continue
        found.append((path, count(data)))

    total = Counts(
        sum(c.lines for _, c in found),
        sum(c.words for _, c in found),
        sum(c.bytes for _, c in found),
    )
    if args.json:
        files = [{"path": path, **asdict(c)} for path, c in found]
        print(json.dumps({"files": files, "total": asdict(total)}))
        return status
    for path, counts in found:
        print(_row(counts, path, args.lines))
    if len(args.files) >= 2:
        print(_row(total, "total", args.lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
