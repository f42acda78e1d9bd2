"""Filter the objects of a JSON Lines file by field conditions, and pick fields."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

OPERATORS = ("!=", "=", ">", "<")

Condition = Callable[[dict[str, Any]], bool]


class LineError(ValueError):
    """A line of the input is not a JSON object; the message says which."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(left: Any, right: Any) -> bool:
    """JSON equality: booleans never equal numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return left == right


def parse_condition(expr: str) -> Condition:
    """Return a test for one ``--where`` EXPR; raise ``ValueError`` when malformed."""
    for index in range(len(expr)):
        operator = next((op for op in OPERATORS if expr.startswith(op, index)), None)
        if operator:
            break
    else:
        raise ValueError(f"no operator in {expr!r}")
    field, text = expr[:index], expr[index + len(operator) :]
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if operator in ("=", "!="):
        wanted = operator == "="

        def equals(obj: dict[str, Any]) -> bool:
            return (field in obj and _same(obj[field], value)) is wanted

        return equals
    if not _is_number(value):
        raise ValueError(f"{operator} needs a number in {expr!r}")

    def compares(obj: dict[str, Any]) -> bool:
        item = obj.get(field)
        if not _is_number(item):
            return False
        return item > value if operator == ">" else item < value

    return compares


def read_objects(text: str) -> list[dict[str, Any]]:
    """Return the objects of a JSON Lines text; raise ``LineError`` on a bad line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            raise LineError(f"line {number}: not a JSON object")
        found.append(obj)
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the script; return its exit code."""
    parser = argparse.ArgumentParser(prog="jlfilter", description=__doc__)
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--where", action="append", default=[], metavar="EXPR")
    parser.add_argument("--fields", metavar="NAMES")
    parser.add_argument("--count", action="store_true", help="print only how many are kept")
    args = parser.parse_args(argv)
    try:
        conditions = [parse_condition(expr) for expr in args.where]
    except ValueError as exc:
        parser.error(str(exc))
    try:
        with open(args.file, encoding="utf-8") as handle:
            records = read_objects(handle.read())
    except (OSError, UnicodeDecodeError) as exc:
        print(f"jlfilter: {args.file}: {exc}", file=sys.stderr)
        return 1
    except LineError as exc:
        print(f"jlfilter: {exc}", file=sys.stderr)
        return 1
    kept = [obj for obj in records if all(test(obj) for test in conditions)]
    if args.count:
        print(len(kept))
        return 0
    names = args.fields.split(",") if args.fields else None
    for obj in kept:
        if names is not None:
            obj = {name: obj[name] for name in names if name in obj}
        print(json.dumps(obj, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
