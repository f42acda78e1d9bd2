"""Re-wrap the paragraphs of a text to a width, optionally justified."""

from __future__ import annotations

import argparse
import sys


def paragraphs(text: str) -> list[list[str]]:
    """Return the words of each paragraph (runs of non-blank lines)."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words:
            current.extend(words)
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def wrap(words: list[str], width: int) -> list[list[str]]:
    """Split ``words`` greedily into lines of at most ``width`` characters."""
    lines: list[list[str]] = []
    current: list[str] = []
    length = 0
    for word in words:
        if current and length + 1 + len(word) > width:
            lines.append(current)
            current, length = [], 0
        length += len(word) + (1 if current else 0)
        current.append(word)
    if current:
        lines.append(current)
    return lines


def justify(words: list[str], width: int) -> str:
    """Pad ``words`` to ``width`` by widening the gaps, leftmost gaps first."""
    gaps = len(words) - 1
    spaces = width - sum(len(w) for w in words)
    if gaps < 1 or spaces < gaps:
        return " ".join(words)
    each, extra = divmod(spaces, gaps)
    out = []
    for index, word in enumerate(words[:-1]):
        out.append(word + " " * (each + (1 if index < extra else 0)))
    return "".join(out) + words[-1]


def rewrap(text: str, width: int = 72, justified: bool = False) -> str:
    """Return ``text`` re-wrapped; paragraphs separated by one empty line."""
    blocks = []
    for words in paragraphs(text):
        lines = wrap(words, width)
        rendered = [
            justify(line, width) if justified and index < len(lines) - 1 else " ".join(line)
            for index, line in enumerate(lines)
        ]
        blocks.append("".join(f"{line}\n" for line in rendered))
    return "\n".join(blocks)


def positive(text: str) -> int:
    """Read a width of at least 1 (for argparse)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"width must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the program; return its exit code."""
    parser = argparse.ArgumentParser(prog="rewrap", description=__doc__)
    parser.add_argument("file", nargs="?", default="-", metavar="FILE")
    parser.add_argument("--width", type=positive, default=72, metavar="N")
    parser.add_argument("--justify", action="store_true", help="pad lines to the width")
    args = parser.parse_args(argv)
    if args.file == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.file, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            print(f"rewrap: {args.file}: {reason}", file=sys.stderr)
            return 1
    sys.stdout.write(rewrap(text, args.width, args.justify))
    return 0


if __name__ == "__main__":
    sys.exit(main())
