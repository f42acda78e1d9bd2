"""Every command that reads takes ``--json``; the commands that act are named here, with why.

A new command is a read unless it is listed in ``ACTS``: it then fails this
test until it takes ``--json`` (or is listed, saying what it does instead).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from devfactory import cli

ACTS = {
    "approve": "answers a pause and drives the run on",
    "reject": "answers a pause",
    "answer": "answers a pause",
    "modify": "answers a pause",
    "revise": "answers a pause",
    "approve-project": "records a pre-approval",
    "chat": "serves the chat",
    "demo": "drives a run, as run does without --json",
    "users add": "changes the users file",
    "users remove": "changes the users file",
    "users rotate-secret": "replaces the signing secret",
    "users unlock": "clears a name's sign-in locks",
    "worker": "drives queued runs; its lines are logs (--log-format json)",
    "cancel": "cancels a run",
    "serve": "serves the API",
    "purge": "deletes a run's records",
    "keys create": "prints the new key alone, for a script to keep",
    "keys revoke": "deletes a key",
    "stop": "sets the emergency stop",
    "release": "releases the emergency stop",
    "threshold": "sets a threshold",
    "caps": "sets a project's caps",
    "team pause": "holds a team",
    "team resume": "releases a team",
    "project pause": "holds a project",
    "project resume": "releases a project",
    "incidents resume": "decides an incident",
    "incidents rollback": "decides an incident",
    "incidents close": "decides an incident",
    "memory reindex": "re-embeds a bank",
    "graph": "draws: --format json is its JSON",
}


def commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            if getattr(command, "invoke_without_command", False):
                yield path, command  # ``incidents`` alone lists them
            yield from commands(command, path + " ")
        else:
            yield path, command


def test_every_command_that_reads_takes_json() -> None:
    root = typer.main.get_command(cli.app)
    found = dict(commands(root))
    assert set(ACTS) <= set(found), set(ACTS) - set(found)  # the list names real commands
    reads = {path: c for path, c in found.items() if path not in ACTS}
    without = [
        path
        for path, command in reads.items()
        if not any("--json" in p.opts for p in command.params)
    ]
    assert without == []
    assert {"list", "status", "pending", "usage", "diff", "models", "controls"} <= set(reads)
    assert {"audit show", "audit verify", "audit search", "memory search", "memory stats"} <= set(
        reads
    )
    assert {"users list", "keys list", "incidents list", "incidents show"} <= set(reads)


def test_graph_writes_its_drawing_as_json() -> None:
    import json

    from typer.testing import CliRunner

    result = CliRunner().invoke(cli.app, ["graph", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"title", "boxes", "lines", "legend"} <= set(doc)
    assert {"id", "lines", "kind", "groups", "outcome", "waiting"} <= set(doc["boxes"][0])
    assert {"source", "target", "kind", "back", "label"} <= set(doc["lines"][0])


def test_the_memory_reads_print_json_with_their_fields(monkeypatch: Any) -> None:
    import json

    from typer.testing import CliRunner

    from devfactory.cli import common
    from devfactory.memory.live import BankStats, RecalledMemory
    from devfactory.memory.service import MemoryStats

    class Memory:
        def memory_stats(self) -> MemoryStats:
            bank = BankStats("team:qa", "minilm", 384, 2, {"lesson": 2})
            return MemoryStats([bank], "minilm", 384, {"qa": 3}, "facts_table")

        def search_memory(self, bank: str, query: str, **kwargs: Any) -> list[RecalledMemory]:
            return [RecalledMemory(bank, "lesson", "pin the port", {"run": "r1"}, 0.91)]

        def close(self) -> None:
            pass

    monkeypatch.setattr(common, "open_factory", lambda settings: Memory())
    stats = CliRunner().invoke(cli.app, ["memory", "stats", "--json"])
    assert stats.exit_code == 0, stats.output
    doc = json.loads(stats.stdout)
    assert {"embedder", "dims", "banks", "facts", "facts_table"} == set(doc)
    assert {"bank", "embedder", "dims", "memories", "kinds"} == set(doc["banks"][0])
    found = CliRunner().invoke(cli.app, ["memory", "search", "team:qa", "ports", "--json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout) == [
        {
            "bank": "team:qa",
            "kind": "lesson",
            "text": "pin the port",
            "provenance": {"run": "r1"},
            "score": 0.91,
        }
    ]


def test_models_shows_what_the_models_factory_serves(monkeypatch: Any) -> None:
    """``DEVFACTORY_MODELS_FACTORY`` serves every entry point: ``models`` shows its models."""
    import json

    from typer.testing import CliRunner

    from devfactory.models.aliases import CHAT_ALIASES
    from devfactory.settings import get_settings

    monkeypatch.setenv("DEVFACTORY_MODELS_FACTORY", "tests.browser.models:scripted")
    get_settings.cache_clear()
    try:
        shown = CliRunner().invoke(cli.app, ["models", "--json"])
        table = CliRunner().invoke(cli.app, ["models"])
    finally:
        get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert doc["models_factory"] == "tests.browser.models:scripted"
    assert {r["alias"]: r["model"] for r in doc["models"]} == dict.fromkeys(
        CHAT_ALIASES, "scripted:fake"
    )
    assert table.exit_code == 0 and "scripted:fake" in table.stdout
    assert "qwen2.5-coder" not in table.stdout  # not the router's chains
