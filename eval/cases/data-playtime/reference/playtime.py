"""Total a playlist's running time, per artist, or list its tracks as JSON."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass

LINE = re.compile(r"(?P<artist>.+?) - (?P<title>.+) \((?P<minutes>\d+):(?P<seconds>\d\d)\)")


class LineError(ValueError):
    """A line is not a track: Artist - Title (m:ss)."""


@dataclass(frozen=True)
class Track:
    """One track of the playlist."""

    artist: str
    title: str
    seconds: int


def read_tracks(text: str) -> list[Track]:
    """Return the tracks of a playlist, skipping blank lines.

    Raises:
        LineError: naming the first line (from 1) that is not a track.

    """
    tracks = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = LINE.fullmatch(line.strip())
        if match is None:
            raise LineError(f"line {number}: not 'Artist - Title (m:ss)': {line!r}")
        seconds = int(match["minutes"]) * 60 + int(match["seconds"])
        tracks.append(Track(match["artist"], match["title"], seconds))
    return tracks


def duration(seconds: int) -> str:
    """Write ``seconds`` as m:ss, or h:mm:ss from an hour on."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def by_artist(tracks: list[Track]) -> list[tuple[str, int]]:
    """Return each artist's total time, the longest first, equal ones by name."""
    totals: dict[str, int] = {}
    for track in tracks:
        totals[track.artist] = totals.get(track.artist, 0) + track.seconds
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="playtime", description=__doc__)
    parser.add_argument("file", help="the playlist")
    parser.add_argument("--by-artist", action="store_true", help="a total per artist")
    parser.add_argument("--json", action="store_true", help="the tracks as JSON")
    args = parser.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8") as handle:
            tracks = read_tracks(handle.read())
    except (OSError, UnicodeDecodeError, LineError) as exc:
        print(f"playtime: {args.file}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([asdict(track) for track in tracks], indent=2))
    elif args.by_artist:
        for artist, seconds in by_artist(tracks):
            print(f"{artist}: {duration(seconds)}")
    else:
        count = len(tracks)
        total = duration(sum(t.seconds for t in tracks))
        print(f"{count} track{'' if count == 1 else 's'}, {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
