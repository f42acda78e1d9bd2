"""Remove duplicate lines, keeping the first occurrence of each in order."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable


def dedupe(lines: Iterable[str], *, ignore_case: bool = False) -> list[tuple[str, int]]:
    """Return each distinct line (first spelling, no line ending) with its count."""
    first: dict[str, str] = {}
    counts: dict[str, int] = {}
    for raw in lines:
        line = raw.rstrip("\r\n")
        key = line.casefold() if ignore_case else line
        first.setdefault(key, line)
        counts[key] = counts.get(key, 0) + 1
    return [(first[key], counts[key]) for key in first]


def main(argv: list[str] | None = None) -> int:
    """Run the program; return its exit code."""
    parser = argparse.ArgumentParser(prog="dedupe", description=__doc__)
    parser.add_argument("file", nargs="?", default="-", metavar="FILE")
    parser.add_argument("--ignore-case", action="store_true")
    parser.add_argument("--count", action="store_true")
    parser.add_argument("--output", metavar="OUT")
    args = parser.parse_args(argv)
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        print(f"dedupe: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    kept = dedupe(text.splitlines(), ignore_case=args.ignore_case)
    out = "".join(f"{n}\t{line}\n" if args.count else f"{line}\n" for line, n in kept)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(out)
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
