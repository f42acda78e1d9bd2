"""Validate a team's JSON Schemas and its sample data against them (jsonschema); in the sandbox.

Usage: python -I -B data_contract.py WORKSPACE REPORT PATH...

Each PATH (relative to WORKSPACE) is a JSON, JSON Lines or CSV file. A JSON file
that declares ``$schema``, or whose name ends ``.schema.json``, is a schema: it is
checked against the metaschema of the draft it declares (2020-12 when it declares
none). Every other file is sample data, validated against the schema it belongs to:
the one whose name (less ``.schema``) its own name contains, else the only schema
there is, when the file is plainly data (``schema_for``). A JSON array is validated
item by item unless its schema describes an array; JSON Lines line by line; a CSV
file row by row, each cell read as the type the schema gives its column (integer,
number, boolean, null), else as text. ``format`` is checked. REPORT gets
``{"tool": "jsonschema", "version": ..., "schemas": {PATH: {"errors": [...],
"samples": [PATH...]}}, "samples": {PATH: {"schema": PATH or "", "records": N,
"errors": [{"where", "message"}]}}}``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

MAX_ERRORS = 20
MAX_RECORDS = 10_000


def is_schema(path: str, document: object) -> bool:
    """Say whether a parsed JSON file is a schema (it declares one, or is named so)."""
    return path.endswith(".schema.json") or (isinstance(document, dict) and "$schema" in document)


def stem(path: str) -> str:
    """Return a file's name without its folder, its ``.schema`` part and its extension."""
    name = path.rsplit("/", 1)[-1].lower()
    for suffix in (".schema.json", ".json", ".jsonl", ".ndjson", ".csv"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


SAMPLE_WORDS = ("sample", "example", "fixture", "seed")


def schema_for(sample: str, schemas: list[str]) -> str:
    """Return the schema a sample belongs to ("" when none can be told).

    The schema whose name the sample's contains (the longest such); else, when there is
    one schema, a file that is plainly data (JSON Lines, CSV, or named or kept as a
    sample, example, fixture or seed); else none (a configuration file, say).
    """
    named = [s for s in schemas if stem(s) and stem(s) in stem(sample)]
    if named:
        return max(named, key=lambda s: len(stem(s)))
    plainly_data = sample.endswith((".jsonl", ".ndjson", ".csv")) or any(
        word in sample.lower() for word in SAMPLE_WORDS
    )
    return schemas[0] if len(schemas) == 1 and plainly_data else ""


def cell(value: str, kinds: object) -> object:
    """Read one CSV cell as the type its column's schema gives it, when it reads as one."""
    wanted = kinds if isinstance(kinds, list) else [kinds]
    text = value.strip()
    for kind in wanted:
        if kind == "null" and text == "":
            return None
        if kind == "integer":
            try:
                return int(text)
            except ValueError:
                pass
        if kind == "number":
            try:
                return float(text)
            except ValueError:
                pass
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    return value


def records(path: str, text: str, schema: dict[str, Any]) -> list[tuple[str, object]]:
    """Return the records of a sample file, each with where it is (ValueError: it does not read)."""
    if path.endswith((".jsonl", ".ndjson")):
        found = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    found.append((f"line {number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"line {number} is not JSON: {exc.msg}") from exc
        return found
    if path.endswith(".csv"):
        declared = schema.get("properties")
        columns: dict[str, Any] = declared if isinstance(declared, dict) else {}
        reader = csv.DictReader(io.StringIO(text))
        rows: list[tuple[str, object]] = []
        for number, row in enumerate(reader, 2):
            typed = {
                key: cell(value or "", (columns.get(key) or {}).get("type"))
                for key, value in row.items()
                if key is not None
            }
            rows.append((f"line {number}", typed))
        return rows
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno} is not JSON: {exc.msg}") from exc
    if isinstance(document, list) and schema.get("type") != "array":
        return [(f"item {index}", item) for index, item in enumerate(document)]
    return [("(file)", document)]


def where(error: Any) -> str:
    """Return where in a record an error is (``$.items[2].price``)."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def main(workspace: str, report: str, *paths: str) -> None:
    """Read every file, check each schema, validate each sample; write the report."""
    from jsonschema import Draft202012Validator, SchemaError, validators

    root = Path(workspace)
    parsed: dict[str, object] = {}
    samples: dict[str, dict[str, Any]] = {}
    texts: dict[str, str] = {}
    for path in paths:
        texts[path] = (root / path).read_text(encoding="utf-8", errors="replace")
        if path.endswith(".json"):
            try:
                parsed[path] = json.loads(texts[path])
            except json.JSONDecodeError:
                parsed[path] = None
    schemas = [p for p in paths if p.endswith(".json") and is_schema(p, parsed.get(p))]
    checked: dict[str, dict[str, Any]] = {}
    validators_by_schema: dict[str, Any] = {}
    for path in schemas:
        schema = parsed.get(path)
        errors: list[str] = []
        if not isinstance(schema, dict):
            errors.append("is not a JSON object, so no schema")
        else:
            kind = validators.validator_for(schema, default=Draft202012Validator)
            try:
                kind.check_schema(schema)
            except SchemaError as exc:
                at = "/".join(str(p) for p in exc.absolute_path) or "(top)"
                errors.append(f"not a valid {kind.__name__[:-9]} schema at {at}: {exc.message}")
            else:
                validators_by_schema[path] = kind(schema, format_checker=kind.FORMAT_CHECKER)
        checked[path] = {"errors": [e[:300] for e in errors], "samples": []}
    for path in paths:
        if path in checked:
            continue
        owner = schema_for(path, schemas)
        entry: dict[str, Any] = {"schema": owner, "records": 0, "errors": []}
        samples[path] = entry
        validator = validators_by_schema.get(owner)
        if validator is None:
            continue
        checked[owner]["samples"].append(path)
        try:
            found = records(path, texts[path], validator.schema)[:MAX_RECORDS]
        except (ValueError, csv.Error) as exc:
            entry["errors"].append({"where": "(file)", "message": str(exc)[:300]})
            continue
        entry["records"] = len(found)
        for place, record in found:
            for error in validator.iter_errors(record):
                entry["errors"].append(
                    {"where": f"{place} {where(error)}", "message": error.message[:300]}
                )
                if len(entry["errors"]) >= MAX_ERRORS:
                    break
            if len(entry["errors"]) >= MAX_ERRORS:
                break
    out = {
        "tool": "jsonschema",
        "version": version("jsonschema"),
        "schemas": checked,
        "samples": samples,
    }
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
