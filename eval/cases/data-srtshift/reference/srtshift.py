"""Move every subtitle of an SRT file earlier or later by some milliseconds."""

from __future__ import annotations

import argparse
import re
import sys

TIMING = re.compile(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})")


class TimingError(ValueError):
    """A block's timing line is not ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""


def _ms(hours: str, minutes: str, seconds: str, millis: str) -> int:
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def _time(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def shift(text: str, by: int) -> str:
    """Return the SRT ``text`` with every block moved by ``by`` milliseconds.

    Blocks that end at zero or before are left out; the rest are numbered from 1.

    Raises:
        TimingError: a block's timing line does not have the SRT form.

    """
    kept = []
    for chunk in re.split(r"\n[ \t]*\n", text.strip("\n")):
        lines = chunk.split("\n")
        match = TIMING.fullmatch(lines[1].strip()) if len(lines) > 1 else None
        if match is None:
            raise TimingError(f"block {lines[0]!r}: not a timing line: {lines[1:2]}")
        start, end = _ms(*match.groups()[:4]) + by, _ms(*match.groups()[4:]) + by
        if end <= 0:
            continue
        timing = f"{_time(max(start, 0))} --> {_time(end)}"
        kept.append([str(len(kept) + 1), timing, *lines[2:]])
    return "\n\n".join("\n".join(lines) for lines in kept) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="srtshift", description=__doc__)
    parser.add_argument("file", help="the SRT file")
    parser.add_argument("--by", type=int, required=True, help="milliseconds, may be negative")
    args = parser.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8-sig") as handle:
            shifted = shift(handle.read(), args.by)
    except (OSError, UnicodeDecodeError, TimingError) as exc:
        print(f"srtshift: {args.file}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(shifted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
