"""A worker's log: one line per run event, naming the run, in every log format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import ScriptedModels
from tests.integration.cli import cli_env, start

LOW = "A command-line tool that counts the words in a text file"
TEXT_EVENT = re.compile(r"^INFO devfactory\.worker\.events: (\w+) \[run_id=(\S+) ")


def drive_two_runs(
    fmt: str, settings: Settings, database_url: str, tmp_path: Path
) -> tuple[list[str], dict[str, list[str]]]:
    """Queue two runs, let ``devfactory --log-format FMT worker`` drive both.

    Return all it wrote (stdout and stderr, in order) and each run's feed: the
    kinds of the events its drive published (``run_created``, published where
    the run was submitted, left out).
    """
    with Factory(settings, models=ScriptedModels()) as factory:
        runs = [factory.submit(StartRequest(f"{LOW}, number {n}")).run_id for n in (1, 2)]
    env = cli_env(database_url, tmp_path)
    env.update(DEVFACTORY_WORKER_POLL_S="0.5", DEVFACTORY_REVIEW_REQUIRED="false")
    log = tmp_path / "worker.log"
    worker = start(
        env, "--log-format", fmt, "worker", "--idle-exit", "2", "--max-runs", "2", log=log
    )
    code = worker.wait(timeout=300)
    output = log.read_text("utf-8")
    assert code == 0, output[-3000:]
    with Factory(settings, models=ScriptedModels()) as factory:
        assert [factory.get(run).status for run in runs] == ["COMPLETED", "COMPLETED"]
        feeds = {
            run: [e.kind for e in factory.feed.since(run) if e.kind != "run_created"]
            for run in runs
        }
    assert all(len(kinds) > 5 for kinds in feeds.values()), feeds
    return output.splitlines(), feeds


def test_under_json_every_run_event_is_one_json_line_with_its_run_id(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    output, feeds = drive_two_runs("json", pg_settings, database_url, tmp_path)
    lines = []
    for line in output:
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a line of the worker's output is not JSON: {line!r}")
    assert all(isinstance(line, dict) for line in lines)
    events = [line for line in lines if line["logger"] == "devfactory.worker.events"]
    for run, kinds in feeds.items():
        mine = [line for line in events if line.get("run_id") == run]  # jq 'select(.run_id==…)'
        assert [line["kind"] for line in mine] == kinds
        assert all(line["event"] == line["kind"] and line["level"] == "info" for line in mine)
        finished = [line for line in mine if line["kind"] == "stage_finished"]
        assert finished and all(line["team"] and line["outcome"] for line in finished)
        assert mine[-1]["status"] == "COMPLETED"  # run_finished's own field
    assert len(events) == sum(len(kinds) for kinds in feeds.values())
    said = [line["event"] for line in lines if line["logger"] == "devfactory.cli.service_commands"]
    assert len(said) == 2, said
    assert said[0].endswith(": waiting for runs") and said[1].endswith(": stopped after 2 run(s)")


def test_under_text_every_run_event_is_one_line_naming_its_run(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    output, feeds = drive_two_runs("text", pg_settings, database_url, tmp_path)
    seen = [m.groups() for line in output if (m := TEXT_EVENT.match(line))]
    for run, kinds in feeds.items():
        assert [kind for kind, of in seen if of == run] == kinds
    assert len(seen) == sum(len(kinds) for kinds in feeds.values())
    said = [
        line for line in output if line.startswith("INFO devfactory.cli.service_commands: worker ")
    ]
    assert len(said) == 2, output
    assert "waiting for runs" in said[0] and "stopped after 2 run(s)" in said[1]
