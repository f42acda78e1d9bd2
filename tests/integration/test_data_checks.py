"""Data and ML Engineering's work judged for real, in the bubblewrap sandbox.

Data contracts by jsonschema: a sound schema with sample data that holds to it passes; a
schema that is not valid for its draft, a record that breaks the schema (in JSON, JSON
Lines and CSV) and a sample that does not parse are each found at their file; a file no
schema is for is not judged. Scripts run on their sample data: one that runs passes, one
that fails or hangs goes back to its owner, and only Data and ML's programs are run.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.tools import (
    run_build_checks,
    run_tool_checks,
)
from devfactory.sandbox.environments import tools_environment
from devfactory.sandbox.runner import Limits, Sandbox
from devfactory.settings import Settings

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
    found = run_tool_checks([CHECKS.tool["data_contract"]], "data-engineering", files, sandbox)
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


PIPELINE = """\
import json
from pathlib import Path


def load(path="data/orders.jsonl"):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    orders = load()
    print(f"{len(orders)} orders, total {sum(o['total'] for o in orders)}")
"""
ROLES = {
    "data/orders.jsonl": "data",
    "data/load.py": "data",
    "ml/train.py": "ml",
    "ml/features.py": "ml",
    "app.py": "code",
}


def ran(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    scripts: dict[str, str],
    settings: Settings | None = None,
) -> tuple[list[Any], list[tuple[str, str]]]:
    monkeypatch.setattr(sandbox, "environment", lambda deps: tools_environment())  # offline
    files = {"data/orders.jsonl": JSONL, **scripts}
    owners = {"data": "data-engineering", "ml": "ml-engineering", "code": "backend-engineering"}
    found = run_build_checks(
        [CHECKS.build["pipeline_runs"]],
        files,
        sandbox,
        code=["app.py"],
        owner_of=lambda path: owners[ROLES[path]],
        roles=ROLES,
        settings=settings or Settings(),
    )
    return found.checks, [(p.owner, p.line()) for p in found.problems]


def test_a_pipeline_that_runs_on_its_sample_data_passes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    records, problems = ran(
        sandbox,
        monkeypatch,
        {
            "data/load.py": PIPELINE,
            "ml/features.py": "def scale(x):\n    return x / 2\n",  # no __main__: not run
            "app.py": 'if __name__ == "__main__":\n    raise SystemExit(1)\n',  # code: not run here
        },
    )
    assert problems == []
    [record] = records
    assert record.ok and record.sandboxed and record.command == "python data/load.py"


def test_a_script_that_fails_or_hangs_goes_to_its_owner(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = PIPELINE.replace("data/orders.jsonl", "data/missing.jsonl")
    hangs = 'import time\n\nif __name__ == "__main__":\n    time.sleep(30)\n'
    records, problems = ran(
        sandbox,
        monkeypatch,
        {"data/load.py": broken, "ml/train.py": hangs},
        settings=Settings(pipeline_run_s=2),
    )
    assert [owner for owner, _ in problems] == ["data-engineering", "ml-engineering"]
    assert problems[0][1].startswith("data/load.py [pipeline_runs]: `python data/load.py` failed")
    assert "FileNotFoundError" in problems[0][1]
    assert problems[1][1].startswith("ml/train.py [pipeline_runs]: `python ml/train.py` failed")
    assert all(not r.ok for r in records) and records[1].seconds < 15


def test_data_and_ml_name_the_pipeline_check() -> None:
    from devfactory.teams import load_teams

    teams = load_teams()
    for slug in ("data-engineering", "ml-engineering"):
        assert "pipeline_runs" in teams[slug].build_checks, slug
