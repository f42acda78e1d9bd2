"""Summarise a Common Log Format access log as one JSON object."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any

_LINE = re.compile(
    r'(?P<host>\S+) \S+ \S+ \[[^\]]+\] "(?P<method>\S+) (?P<path>\S+) \S+" '
    r"(?P<status>\d{3}) (?P<bytes>\d+|-)"
)


def summarise(lines: Iterable[str], top: int = 3) -> dict[str, Any]:
    """Count requests, bytes, statuses, methods, paths and hosts of ``lines``."""
    malformed = 0
    size = 0
    status: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    hosts: set[str] = set()
    for line in lines:
        found = _LINE.fullmatch(line.rstrip("\r\n"))
        if found is None:
            malformed += 1
            continue
        size += 0 if found["bytes"] == "-" else int(found["bytes"])
        status[found["status"]] += 1
        methods[found["method"]] += 1
        paths[found["path"].split("?", 1)[0]] += 1
        hosts.add(found["host"])
    ranked = sorted(paths.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {
        "requests": sum(status.values()),
        "malformed": malformed,
        "bytes": size,
        "status": dict(status),
        "methods": dict(methods),
        "top_paths": [[path, count] for path, count in ranked],
        "unique_hosts": len(hosts),
    }


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("N must be at least 1")
    return number


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="logstats", description=__doc__)
    parser.add_argument("logfile", metavar="LOGFILE")
    parser.add_argument("--top", type=_positive, default=3, metavar="N")
    args = parser.parse_args(argv)
    try:
        with open(args.logfile, encoding="utf-8", errors="replace") as handle:
            summary = summarise(handle, args.top)
    except OSError as exc:
        print(f"logstats: {args.logfile}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
