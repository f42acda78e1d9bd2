"""Add up durations written like ``1h30m``."""

from __future__ import annotations

import argparse
import re
import sys

DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """Return the seconds in ``text`` (such as ``1h30m``), or raise ``ValueError``."""
    match = DURATION.fullmatch(text)
    if not text or match is None or not any(match.groups()):
        raise ValueError(f"invalid duration: {text}")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def format_total(seconds: int) -> str:
    """Return ``seconds`` as ``H:MM:SS``, hours unpadded."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def main(argv: list[str] | None = None) -> int:
    """Run the program; return its exit code."""
    parser = argparse.ArgumentParser(prog="timesum", description=__doc__)
    parser.add_argument("durations", nargs="+", metavar="DURATION")
    parser.add_argument("--seconds", action="store_true", help="print the total in seconds")
    args = parser.parse_args(argv)
    try:
        total = sum(parse_duration(text) for text in args.durations)
    except ValueError as exc:
        print(f"timesum: {exc}", file=sys.stderr)
        return 1
    print(total if args.seconds else format_total(total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
