"""Ctrl-C while a run is driven names the run and says how to go on (exit 130)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common
from devfactory.events import GovernanceAssessed, RunStarted
from devfactory.factory.intake import StartRequest


class InterruptedFactory:
    """Starts run ``r-42``, gets as far as ``events`` say, then is interrupted (Ctrl-C)."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def start(self, asked: StartRequest, *, on_event: Any, **kwargs: Any) -> Any:
        for event in self.events:
            on_event(event)
        raise KeyboardInterrupt

    def close(self) -> None:
        pass


STARTED = RunStarted(run_id="r-42", pipeline="mvp", out_dir="/tmp/o", resumed=False)
GOVERNANCE = GovernanceAssessed(
    risk="HIGH", action="approve", reasons=[], risk_factors=[], round=1, model="m", problem=""
)


@pytest.mark.parametrize("events", [[STARTED], [STARTED, GOVERNANCE]], ids=["start", "governance"])
def test_an_interrupted_run_prints_its_id_and_how_to_resume_it(
    monkeypatch: pytest.MonkeyPatch, events: list[Any]
) -> None:
    monkeypatch.setattr(common, "open_factory", lambda settings: InterruptedFactory(events))
    result = CliRunner().invoke(cli.app, ["run", "A todo API", "--no-input"])
    assert result.exit_code == 130, result.output
    assert "interrupted run r-42; continue it with `devfactory resume r-42`" in result.output


def test_an_interrupt_before_the_run_started_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "open_factory", lambda settings: InterruptedFactory([]))
    result = CliRunner().invoke(cli.app, ["run", "A todo API", "--no-input"])
    assert result.exit_code == 130, result.output
    assert "interrupted before the run started" in result.output
    assert "<run-id>" not in result.output


def test_an_interrupt_while_asking_inline_points_at_the_pending_question() -> None:
    from devfactory.cli.driving import interrupted

    said = interrupted("r-42", waiting=True)
    assert "waits for a person" in said and "devfactory pending r-42" in said
    assert "resume" not in said  # resume refuses a run that waits for a person
