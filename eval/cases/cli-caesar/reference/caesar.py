"""Apply a Caesar shift to the letters a to z of a text."""

from __future__ import annotations

import argparse
import string
import sys


def shift_text(text: str, shift: int) -> str:
    """Move each ASCII letter ``shift`` places along the alphabet, keeping its case."""
    steps = shift % 26
    lower, upper = string.ascii_lowercase, string.ascii_uppercase
    table = str.maketrans(
        lower + upper, lower[steps:] + lower[:steps] + upper[steps:] + upper[:steps]
    )
    return text.translate(table)


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code."""
    parser = argparse.ArgumentParser(prog="caesar", description=__doc__)
    parser.add_argument("file", nargs="?", help="the text (default: standard input)")
    parser.add_argument("--shift", type=int, default=3, help="places to move (default 3)")
    parser.add_argument("--decode", action="store_true", help="move backwards")
    args = parser.parse_args(argv)
    try:
        if args.file is None:
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8", newline="") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"caesar: {args.file}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(shift_text(text, -args.shift if args.decode else args.shift))
    return 0


if __name__ == "__main__":
    sys.exit(main())
