"""Thresholds changed at run time: the gate and the budget check read them at the next attempt."""

from __future__ import annotations

from pathlib import Path

from devfactory.control.budget import Caps
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.worker import Worker
from tests.fakes import ScriptedModels

TODO = "A REST API for a personal todo list"


def test_a_team_s_threshold_set_by_an_admin_is_the_one_its_gate_applies(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(memory_enabled=False)
    with Factory(settings, models=ScriptedModels()) as factory:  # reports say 0.95
        factory.switchboard.set_threshold("business-analysis", 0.99, by="ann", role="admin")
        report = factory.start(StartRequest(TODO, out_dir=tmp_path / "a"))
        assert report.status == "PAUSED"
        (asked,) = factory.pending(report.run_id)
        assert (asked.pause.kind, asked.pause.team) == ("blocked", "business-analysis")
        assert "below the team's threshold 0.99" in asked.pause.question
        kinds = [e.kind for e in factory.audit.events("factory:operations")]
        assert kinds == ["threshold"]
        body = factory.audit.events("factory:operations")[0].payload
        assert (body["team"], body["confidence"], body["before"]) == (
            "business-analysis",
            0.99,
            None,
        )


def test_project_caps_set_while_a_run_waits_hold_at_its_next_attempt(
    pg_settings: Settings, tmp_path: Path
) -> None:
    # read at once (a process may reuse what it read for operations_cache_s)
    settings = pg_settings.with_overrides(memory_enabled=False, operations_cache_s=0)
    with Factory(settings, models=ScriptedModels()) as factory:
        ops = factory.switchboard
        ops.pause_team("solution-architecture", by="ann", role="admin")
        report = factory.start(StartRequest(TODO, project="tight", out_dir=tmp_path / "a"))
        assert [p.pause.kind for p in factory.pending(report.run_id)] == ["hold"]
        # the run has spent tokens on its first stage; the admin now caps the project below that
        factory.set_project_caps("tight", {"project": Caps(tokens=10)}, by="ann", role="admin")
        factory.interventions.resume_team("solution-architecture", by="ann", role="admin")
        Worker(factory).run(idle_exit_s=0)
        done = factory.report(report.run_id)
        assert done.status == "FAILED"
        stopped = {r.team: r for r in done.records}["solution-architecture"]
        assert stopped.stopped_by == "budget" and "project" in stopped.reason
