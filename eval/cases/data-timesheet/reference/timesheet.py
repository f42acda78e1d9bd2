"""Total a timesheet CSV by project or by ISO week."""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import re
import sys
from dataclasses import dataclass
from typing import TextIO

REQUIRED = ("date", "project", "start", "end")
CLOCK = re.compile(r"^(\d{2}):(\d{2})$")


class SheetError(ValueError):
    """The timesheet cannot be totalled; the message says why."""


@dataclass
class Group:
    """What one group adds up to."""

    name: str
    entries: int = 0
    minutes: int = 0


def _clock(text: str, line: int) -> int:
    match = CLOCK.match(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise SheetError(f"line {line}: bad time {text!r}")
    return int(match[1]) * 60 + int(match[2])


def _row(row: dict[str, str], by: str, line: int) -> tuple[str, int]:
    try:
        day = datetime.date.fromisoformat(row["date"].strip())
    except ValueError:
        raise SheetError(f"line {line}: bad date {row['date']!r}") from None
    start, end = _clock(row["start"], line), _clock(row["end"], line)
    if end <= start:
        raise SheetError(f"line {line}: end {row['end']} is not after start {row['start']}")
    if by == "week":
        year, week, _ = day.isocalendar()
        key = f"{year}-W{week:02d}"
    else:
        key = row["project"]
    return key, end - start


def totals(handle: TextIO, by: str = "project") -> list[Group]:
    """Return the groups of the timesheet in ``handle``, most minutes first."""
    reader = csv.DictReader(handle)
    for name in REQUIRED:
        if name not in (reader.fieldnames or []):
            raise SheetError(f"missing column {name}")
    groups: dict[str, Group] = {}
    for row in reader:
        key, minutes = _row(row, by, reader.line_num)
        group = groups.setdefault(key, Group(key))
        group.entries += 1
        group.minutes += minutes
    return sorted(groups.values(), key=lambda g: (-g.minutes, g.name))


def render(groups: list[Group], form: str) -> str:
    """Return the report as CSV or JSON text."""
    if form == "json":
        listed = [{"group": g.name, "entries": g.entries, "minutes": g.minutes} for g in groups]
        total = sum(g.minutes for g in groups)
        return json.dumps({"groups": listed, "total_minutes": total}) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "entries", "minutes", "hours"])
    for g in groups:
        writer.writerow([g.name, g.entries, g.minutes, f"{g.minutes // 60}:{g.minutes % 60:02d}"])
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="timesheet", description=__doc__)
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--by", choices=["project", "week"], default="project")
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    args = parser.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8", newline="") as handle:
            groups = totals(handle, args.by)
    except OSError as exc:
        print(f"timesheet: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except SheetError as exc:
        print(f"timesheet: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(groups, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
