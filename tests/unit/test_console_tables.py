"""Run ids are shown whole in `devfactory list` and `devfactory pending`, even at 80 columns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common
from devfactory.cli.terminal import SafeConsole, pending_table, runs_table
from devfactory.control.hitl import Pause
from devfactory.factory.reports import Pending
from devfactory.store.runs_table import RunRow

RUN_IDS = ["20261121-051500-a1b2c3", "20261124-235959-ffffff"]
LONG = "A multi-tenant URL shortener with click analytics, rate limits and an admin UI " * 2


@dataclass
class Row:
    run_id: str
    shown_status: str = "PAUSED (governance approval)"
    project: str = "a-rather-long-project-name"
    pipeline: str = "full"
    created_at: datetime = datetime(2026, 11, 21, 5, 15, tzinfo=UTC)
    requirement: str = LONG


def rendered(table: Table, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    return text


def test_the_pending_table_shows_each_run_id_and_question_id_whole_at_80_columns() -> None:
    pause = Pause(
        kind="clarification",
        title=LONG,
        question="q",
        team="business-analysis",
        actions=("answer",),
        roles=("approver", "operator", "admin"),
    )
    items = [Pending(run_id, f"3f9a2c7{n}d4e8b0a6", pause) for n, run_id in enumerate(RUN_IDS)]
    text = rendered(pending_table(items))
    for n, run_id in enumerate(RUN_IDS):
        assert run_id in text, text
        assert f"3f9a2c7{n}" in text, text


def test_the_runs_table_shows_each_run_id_and_its_date_whole_at_80_columns() -> None:
    text = rendered(runs_table([Row(run_id) for run_id in RUN_IDS]))
    for run_id in RUN_IDS:
        assert run_id in text, text
    assert text.count("2026-11-21 05:15") == len(RUN_IDS), text


def test_devfactory_list_shows_each_run_id_whole_at_80_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = datetime(2026, 11, 21, 5, 15, tzinfo=UTC)
    rows = [
        RunRow(run_id, LONG, "full", status, "", f"/data/runs/{run_id}", None, None, at, at)
        for run_id, status in zip(RUN_IDS, ("COMPLETED", "PAUSED"), strict=True)
    ]
    asked: list[int] = []

    class Listing:
        def list_runs(self, limit: int) -> list[RunRow]:
            asked.append(limit)
            return rows

    @contextmanager
    def reading() -> Iterator[Listing]:
        yield Listing()

    monkeypatch.setattr(common, "reading", reading)
    monkeypatch.setattr(common, "console", SafeConsole(width=80, color_system=None))
    result = CliRunner().invoke(cli.app, ["list", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert asked == [5]
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    for run_id in RUN_IDS:
        assert run_id in result.stdout, result.stdout
    assert result.stdout.count("2026-11-21 05:15") == len(RUN_IDS), result.stdout
