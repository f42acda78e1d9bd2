"""``devfactory demo`` (what ``make demo`` runs): it ends on its own and says what ran.

The scripted model stands in for the embedded one here (graph logic); that the demo's
requirement completes on the embedded model is ``tests/e2e/test_demo.py``'s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common, demo
from devfactory.factory.facade import Factory
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good, good_report


def test_the_demos_requirement_is_a_ticket_in_prose_with_an_option_and_input() -> None:
    text = demo.demo_requirement()
    assert "`" not in text  # written as a person writes a ticket: no code spans
    assert "--algorithm" in text and "standard input" in text
    cases = (Path(__file__).parents[2] / "eval" / "cases").glob("*/requirement.md")
    assert not [c.parent.name for c in cases if "checksum" in c.read_text(encoding="utf-8")]


def _run_demo(
    settings: Settings, script: object, monkeypatch: pytest.MonkeyPatch, out: Path
) -> object:
    monkeypatch.setattr(demo, "get_settings", lambda: settings)
    monkeypatch.setattr(
        common, "open_factory", lambda _s: Factory(settings, models=ScriptedModels(script))
    )
    return CliRunner().invoke(cli.app, ["demo", "--out", str(out)])


def test_a_completed_demo_shows_the_folder_the_checks_and_the_console(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shown = _run_demo(pg_settings, always_good, monkeypatch, out)
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert "The requirement" in text and "checksum" in text
    # piped, lines are whole but no wider than what they hold (no panel 100,000 columns wide)
    assert max(len(line) for line in text.splitlines()) < 400
    assert f"The run's folder: {out}" in text
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "COMPLETED" and run["pipeline"] == "lean"
    # every check of the run is a row: with code execution off here, each says not run
    checks = [(s["team"], c["name"]) for s in run["stages"] for c in s["checks"]]
    assert checks and "Checks run on the code" in text
    assert all(team in text for team, _ in checks)
    assert text.count("not run") >= len(checks)
    assert f"console#/run/{run['run_id']}" in text
    assert "did not complete" not in text


def _never_sure(call: Call) -> str:
    if call.kind == "report":
        return json.dumps(good_report(call.spec, confidence=0.05))
    return always_good(call)


def test_a_demo_that_does_not_complete_exits_non_zero_saying_why(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shown = _run_demo(pg_settings, _never_sure, monkeypatch, out)
    assert shown.exit_code == 1, shown.output  # FAILED: unattended, nobody is asked
    assert "The demo did not complete" in shown.stdout
    assert "FAILED" in shown.stdout and "reason: stage " in shown.stdout
