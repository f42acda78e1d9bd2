"""A real run's folder is a git history: a commit per passed stage, then `devfactory diff`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common
from devfactory.control.hitl import Decision
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.repos.workspace import Workspace
from devfactory.settings import Settings
from tests.fakes import ScriptedModels, answer_pending

REQ = "A REST API for a personal todo list"
MVP = [
    "business-analysis",
    "solution-architecture",
    "backend-engineering",
    "qa-engineering",
    "documentation",
]


def test_a_revised_run_keeps_one_history_and_diff_shows_each_stage(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = pg_settings.with_overrides(review_required=True)
    out = tmp_path / "out"
    with Factory(settings, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(REQ, out_dir=out)).run_id
        paused = Workspace(out).log()
        revise = Decision(action="revise", text="Add paging", by="bob", role="reviewer")
        answer_pending(factory, run_id, revise)
        approve = Decision(action="approve", text="", by="bob", role="reviewer")
        report = answer_pending(factory, run_id, approve)
    assert report.status == "COMPLETED"

    history = Workspace(out).log()
    teams = [c.author.split("<")[1].split("@")[0] for c in reversed(history)]
    # round 1: one commit per stage in pipeline order, then the summary at the review pause
    assert teams[:6] == [*MVP, "factory"]
    assert [c.sha for c in history[-len(paused) :]] == [c.sha for c in paused]  # same history
    # the scripted teams write the same files again, so round 2 commits only summaries
    assert all(c.subject == "devfactory: run summary" for c in history[: -len(paused)])
    first = history[-1]
    assert first.subject.startswith("Business Analysis: ")
    assert "outcome: PASSED" in first.body and "model: scripted:fake" in first.body
    clean = subprocess.run(
        ["git", "status", "--porcelain"], cwd=out, capture_output=True, text=True, check=True
    )
    assert clean.stdout == ""  # every file the run wrote is committed

    monkeypatch.setattr(common, "open_factory", lambda s: Factory(settings))
    shown = CliRunner().invoke(cli.app, ["diff", run_id, "backend-engineering"])
    assert shown.exit_code == 0, shown.output
    changed = {line[6:] for line in shown.stdout.splitlines() if line.startswith("+++ b/")}
    [backend] = [c for c in history if "<backend-engineering@" in c.author]
    assert changed == set(backend.files)
    missing = CliRunner().invoke(cli.app, ["diff", "no-such-run"])
    assert missing.exit_code == cli.EXIT_NOT_FOUND
