"""A request as people see it: the CLI's table and panel, the chat's text, `--alternative`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from devfactory import cli
from devfactory.chat.view import pause_markdown
from devfactory.cli import common
from devfactory.cli.terminal import pause_panel, pending_table
from devfactory.control.approval_rules import Alternative
from devfactory.control.hitl import Estimate, Pause, check_decision, make_pause
from devfactory.control.policy import load_policy
from devfactory.factory.facade import RunReport
from devfactory.factory.reports import Pending

CHEAPER = Alternative(
    id="cheaper_model",
    kind="cheaper_model",
    title="continue with the cheaper model",
    pros=("costs about 30% of the estimate",),
    cons=("weaker work",),
    estimated_cost_usd=0.03,
)


def budget(**fields: Any) -> Pause:
    base: dict[str, Any] = {
        "title": "budget at 90%",
        "question": "Approve to go on?",
        "team": "backend-engineering",
        "rule": "budget",
        "priority": "HIGH",
        "reasoning": "the run reached the warning line: run tokens near its cap",
        "estimate": Estimate(
            spent_tokens=9000,
            stages_left=2,
            tokens_to_finish=6000,
            cost_to_finish_usd=0.1,
            basis="estimate: 9,000 tokens over 3 finished stages, times 2 left",
        ),
        "risk_factors": ("run tokens near its cap",),
        "sources": ("stage backend-engineering", "spend r0:governance:g1"),
        "alternatives": (CHEAPER,),
    }
    return make_pause(load_policy(), "budget", **(base | fields))


def text_of(renderable: Any, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_the_pending_table_shows_priority_and_deadline_and_marks_the_expired() -> None:
    now = datetime.now(UTC)
    items = [
        Pending("run-a", "aaaaaaaa11", budget(deadline_s=60), now - timedelta(seconds=120)),
        Pending("run-b", "bbbbbbbb22", budget(priority="LOW"), now),
    ]
    text = text_of(pending_table(items), width=160)
    assert "priority" in text and "deadline" in text
    first, second = (line for line in text.splitlines() if "run-" in line)
    assert "HIGH" in first and "EXPIRED" in first
    assert "LOW" in second and "none" in second


def test_the_panel_shows_why_the_estimate_the_sources_and_each_alternative() -> None:
    text = text_of(pause_panel("run-a", "aaaaaaaa11", budget(), deadline=None))
    assert "why: the run reached the warning line" in text
    assert "cost to finish: ~$0.1000, ~6,000 tokens (estimate: 9,000 tokens" in text
    assert "sources: stage backend-engineering, spend r0:governance:g1" in text
    assert "alternative cheaper_model: continue with the cheaper model, ~$0.0300" in text
    assert "+ costs about 30% of the estimate" in text and "- weaker work" in text
    assert "priority: HIGH   deadline: none" in text


def test_the_chat_shows_the_request_and_its_alternatives() -> None:
    text = pause_markdown("run-a", budget(), "approver")
    assert "Priority **HIGH** · rule `budget`" in text
    assert "Cost to finish: ~$0.1000" in text
    assert "- Alternative `cheaper_model`: continue with the cheaper model (~$0.0300)" in text
    assert "pro: costs about 30% of the estimate" in text


class PausedFactory:
    """A factory whose one run waits on a budget request offering the cheaper model."""

    def __init__(self) -> None:
        self.item = Pending("r1", "abcdef0123", budget())
        self.decisions: list[Any] = []

    def get(self, run_id: str) -> Any:
        return type("Row", (), {"pipeline": "mvp"})()

    def pending(self, run_id: str | None = None) -> list[Any]:
        return [self.item]

    def answer(self, run_id: str, decision: Any, **kwargs: Any) -> RunReport:
        check_decision(self.item.pause, decision)
        self.decisions.append(decision)
        return RunReport("r1", "COMPLETED", "", cli.Path("/tmp/o"), [])

    def close(self) -> None:
        """Nothing to close."""


def test_approve_with_an_alternative_sends_it_and_an_unknown_one_exits_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = PausedFactory()
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    args = ["approve", "r1", "--id", "abcdef", "--as", "alice", "--role", "approver"]
    wrong = CliRunner().invoke(cli.app, [*args, "--alternative", "drop_stage:qa"])
    assert wrong.exit_code == 2, wrong.output
    assert "offers no alternative 'drop_stage:qa'" in wrong.output
    assert fake.decisions == []
    ok = CliRunner().invoke(cli.app, [*args, "--alternative", "cheaper_model"])
    assert ok.exit_code == 0, ok.output
    assert (fake.decisions[0].action, fake.decisions[0].alternative) == (
        "approve",
        "cheaper_model",
    )
