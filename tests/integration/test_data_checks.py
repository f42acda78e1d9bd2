"""Data Engineering's contracts judged by jsonschema, for real, in the bubblewrap sandbox.

A sound schema with sample data that holds to it passes; a schema that is not valid for
its draft, a record that breaks the schema (in JSON, JSON Lines and CSV) and a sample
that does not parse are each found at their file; a file no schema is for is not judged.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import pytest

from devfactory.sandbox.runner import Limits, Sandbox
from devfactory.teams.tool_checks import TOOL_CHECKS, run_tool_checks

LIMITS = Limits(
    cpu_seconds=30, memory_mb=1024, processes=32, wall_seconds=60, output_chars=5000, file_size_mb=8
)

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Order",
    "type": "object",
    "required": ["id", "total", "placed"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "total": {"type": "number", "minimum": 0},
        "placed": {"type": "string", "format": "date"},
        "gift": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}
JSONL = (
    '{"id": 1, "total": 9.5, "placed": "2026-01-02"}\n'
    '{"id": 2, "total": 0, "placed": "2026-01-03", "gift": true}\n'
)
CSV = "id,total,placed,gift\n1,9.5,2026-01-02,false\n2,3,2026-01-03,true\n"
GOOD = {
    "data/orders.schema.json": json.dumps(SCHEMA, indent=2),
    "data/orders.jsonl": JSONL,
    "data/orders_sample.csv": CSV,
    "data/orders_examples.json": json.dumps([{"id": 3, "total": 1, "placed": "2026-02-01"}]),
    "data/pipeline.json": json.dumps({"batch": 100}),  # a configuration: no schema is for it
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS)
    box.check()
    return box


def checked(sandbox: Sandbox, files: dict[str, str]) -> tuple[Any, list[str]]:
    found = run_tool_checks([TOOL_CHECKS["data_contract"]], "data-engineering", files, sandbox)
    [record] = found.checks
    return record, found.problems


def test_a_sound_schema_and_samples_that_hold_to_it_pass(sandbox: Sandbox) -> None:
    record, problems = checked(sandbox, GOOD)
    assert problems == []
    assert record.ok and record.sandboxed
    assert record.passed == 4  # the schema and its three samples; the configuration not judged
    assert record.tool == f"jsonschema {version('jsonschema')}"


FAULTS = {
    "a record missing a required field, in JSON Lines": (
        {"data/orders.jsonl": JSONL + '{"id": 3, "placed": "2026-01-04"}\n'},
        "data/orders.jsonl [data_contract]: line 3 $: 'total' is a required property "
        "(schema data/orders.schema.json)",
    ),
    "a date that is no date, in CSV": (
        {"data/orders_sample.csv": CSV + "3,1,yesterday,false\n"},
        "data/orders_sample.csv [data_contract]: line 4 $.placed: 'yesterday' is not a 'date' "
        "(schema data/orders.schema.json)",
    ),
    "a negative total, in a JSON array": (
        {"data/orders_examples.json": json.dumps([{"id": 3, "total": -1, "placed": "2026-02-01"}])},
        "data/orders_examples.json [data_contract]: item 0 $.total: -1 is less than the minimum "
        "of 0 (schema data/orders.schema.json)",
    ),
    "a sample that is not JSON": (
        {"data/orders.jsonl": JSONL + "{id: 3}\n"},
        "data/orders.jsonl [data_contract]: (file): line 3 is not JSON: Expecting property name "
        "enclosed in double quotes (schema data/orders.schema.json)",
    ),
    "a schema not valid for its draft": (
        {"data/orders.schema.json": json.dumps({**SCHEMA, "required": "id"})},
        "data/orders.schema.json [data_contract]: not a valid Draft202012 schema at required: "
        "'id' is not of type 'array'",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_planted_fault_is_found_in_its_file(sandbox: Sandbox, fault: str) -> None:
    changed, expected = FAULTS[fault]
    record, problems = checked(sandbox, {**GOOD, **changed})
    assert expected in problems, problems
    assert record.failed >= 1 and not record.ok


def test_no_schema_is_recorded_and_judges_nothing(sandbox: Sandbox) -> None:
    record, problems = checked(sandbox, {"data/pipeline.json": "{}", "data/rows.csv": "a\n1\n"})
    assert problems == [] and record.summary == "no JSON Schema written"


def test_the_data_team_names_the_check() -> None:
    from devfactory.teams import load_teams

    assert "data_contract" in load_teams()["data-engineering"].tool_checks
