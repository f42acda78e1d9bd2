"""Print a file as a hex dump: offset, bytes in hexadecimal, bytes as text."""

from __future__ import annotations

import argparse
import sys


def dump_lines(data: bytes, width: int = 16) -> list[str]:
    """Return the dump of ``data``, ``width`` bytes a line, without line breaks."""
    lines = []
    for start in range(0, len(data), width):
        chunk = data[start : start + width]
        hexes = " ".join(f"{byte:02x}" for byte in chunk).ljust(width * 3 - 1)
        text = "".join(chr(byte) if 32 <= byte <= 126 else "." for byte in chunk)
        lines.append(f"{start:08x}  {hexes}  {text}")
    return lines


def _width(value: str) -> int:
    try:
        width = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= width <= 32:
        raise argparse.ArgumentTypeError(f"must be from 1 to 32: {width}")
    return width


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code."""
    parser = argparse.ArgumentParser(prog="hexpeek", description=__doc__)
    parser.add_argument("path", help="the file to dump")
    parser.add_argument("--width", type=_width, default=16, help="bytes a line (1 to 32)")
    args = parser.parse_args(argv)
    try:
        with open(args.path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        print(f"hexpeek: {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    for line in dump_lines(data, args.width):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
