"""The read commands on a real run: whole values down a pipe, and ``--json`` with its fields.

Each command runs in a process of its own with its stdout a pipe and no
``COLUMNS``: rich would cut its tables to 80 columns ("COMPL…"), which a
script's ``grep`` then misses. Each ``--json`` parses and holds the fields its
help names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import ScriptedModels
from tests.integration.cli import cli_env, run

TODO = "A REST API for a personal todo list, kept in a file, with a command to list what is due"


@pytest.fixture
def done(pg_settings: Settings, tmp_path: Path) -> str:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        report = factory.start(
            StartRequest(TODO, project="a-project-with-a-long-name", out_dir=tmp_path / "o")
        )
        assert report.status == "COMPLETED", report.reason
    return report.run_id


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = cli_env(database_url, tmp_path)
    env.pop("COLUMNS")  # as a script's pipe has it
    return env


def read_json(env: dict[str, str], *argv: str) -> Any:
    code, out, err = run(env, *argv, "--json")
    assert code == 0, (argv, out, err)
    return json.loads(out)


def test_piped_tables_are_not_cut(done: str, env: dict[str, str]) -> None:
    code, out, err = run(env, "list")
    assert code == 0, err
    row = next(line for line in out.splitlines() if done in line)
    assert "COMPLETED" in row and "a-project-with-a-long-name" in row
    assert "…" not in out
    code, out, err = run(env, "status", done)
    assert code == 0, err
    assert f"run {done}: COMPLETED" in out
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) > 80  # nothing folded it to 80


def test_every_read_prints_json_with_its_fields(done: str, env: dict[str, str]) -> None:
    listed = read_json(env, "list")
    assert [r["run_id"] for r in listed] == [done]
    assert listed[0]["status"] == "COMPLETED" and listed[0]["requirement"] == TODO
    assert {"project", "pipeline", "owner", "created_at", "updated_at", "reason", "out_dir"} <= set(
        listed[0]
    )

    status = read_json(env, "status", done)
    assert status["run_id"] == done and status["status"] == "COMPLETED"
    assert {"reason", "out_dir", "usage", "stages", "build", "pending"} <= set(status)
    assert {"requirement", "project", "pipeline", "owner", "created_at", "updated_at"} <= set(
        status
    )
    assert {"unattended", "next_stages", "governance", "notices", "transitions"} <= set(status)
    assert status["transitions"][-1]["to"] == "COMPLETED"
    assert {"at", "from", "to", "by", "why"} == set(status["transitions"][0])
    assert status["stages"] and status["usage"]["calls"] > 0

    assert read_json(env, "pending") == []

    spent = read_json(env, "usage", done)
    assert {"run_id", "project", "teams", "total", "run_caps", "project_caps"} <= set(spent)
    assert {"calls", "input_tokens", "output_tokens", "cost_usd", "seconds"} <= set(spent["total"])

    shown = read_json(env, "audit", "show", done)
    assert {"seq", "at", "kind", "actor", "what", "payload", "prev_hash", "hash"} == set(shown[0])
    verified = read_json(env, "audit", "verify", done)
    assert verified["ok"] is True and verified["rows"] == len(shown)
    assert {"run_id", "broken_at", "problem", "row_deleted"} <= set(verified)
    hits = read_json(env, "audit", "search", "todo")
    assert hits and {"run_id", "seq", "kind", "actor", "at", "snippet"} == set(hits[0])

    changed = read_json(env, "diff", done)
    assert {"run_id", "team", "commit", "diff"} == set(changed) and changed["diff"]

    assert read_json(env, "users", "list") == []
    assert read_json(env, "keys", "list") == []
    controls = read_json(env, "controls")
    assert controls["stopped"] is False and controls["holds"] == []
    assert read_json(env, "incidents", "list") == []
    models = read_json(env, "models", "--no-health")  # the CLI's models come from a factory
    assert models["models_factory"] == env["DEVFACTORY_MODELS_FACTORY"]
    assert {"alias", "model", "available", "problem"} == set(models["models"][0])
