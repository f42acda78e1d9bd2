"""A paused team on real Postgres: its stage waits, a sibling stage of the same step goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from devfactory.control.hitl import Decision, DecisionError
from devfactory.control.overrides import OperationsRefusedError, UnknownTeamError
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.worker import Worker
from tests.fakes import ScriptedModels

TODO = "A REST API for a personal todo list"
HELD = "compliance-legal"  # in full, it runs in one step beside business-analysis
SIBLING = "business-analysis"


def test_a_paused_team_holds_its_stage_while_the_sibling_stage_goes_on_until_resumed(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(memory_enabled=False)
    models = ScriptedModels()
    with Factory(settings, models=models) as factory:
        ops = factory.switchboard
        with pytest.raises(OperationsRefusedError):
            ops.pause_team(HELD, by="olly", role="operator")
        with pytest.raises(UnknownTeamError, match="no team"):
            ops.pause_team("no-such-team", by="ann", role="admin")
        assert ops.pause_team(HELD, by="ann", role="admin", reason="legal review") is not None
        report = factory.start(StartRequest(TODO, pipeline="full", out_dir=tmp_path / "out"))
        assert report.status == "PAUSED"
        (hold,) = factory.pending(report.run_id)
        assert (hold.pause.kind, hold.pause.team, hold.pause.roles) == ("hold", HELD, ("admin",))
        assert "legal review" in hold.pause.question
        # the sibling of the same step finished its work; the held stage never began its own
        finished = [
            e.body["record"]["team"]
            for e in factory.feed.since(report.run_id)
            if e.kind == "stage_finished"
        ]
        assert SIBLING in finished and HELD not in finished
        assert models.chat.count(SIBLING, "report") == 1
        assert models.chat.count(HELD) == 0
        # only an admin may let it go on by hand; people may not sign as the factory's rule
        with pytest.raises(DecisionError):
            factory.check_answer(
                report.run_id,
                Decision(action="approve", by="olly", role="operator"),
                interrupt_id=hold.interrupt_id,
            )

        went_on = factory.interventions.resume_team(HELD, by="ann", role="admin")
        assert went_on == [report.run_id]
        assert factory.get(report.run_id).queued  # back to the workers
        assert Worker(factory).run(idle_exit_s=0) == 1
        done = factory.report(report.run_id)
        assert done.status == "COMPLETED", done.reason
        assert {r.team: r.outcome for r in done.records}[HELD] == "PASSED"
        # the sibling's work was kept through the pause, not done again
        assert models.chat.count(SIBLING, "report") == 1
        assert models.chat.count(HELD, "report") == 1
        decided = [e for e in factory.audit_events(report.run_id) if e.kind == "decision"]
        assert [e.payload["by"] for e in decided] == ["policy:operations"]
        assert decided[0].payload["pause"] == "hold"
        kinds = [(e.kind, e.actor) for e in factory.audit.events("factory:operations")]
    assert kinds == [("team_paused", "ann (admin)"), ("team_resumed", "ann (admin)")]


def test_a_held_team_s_stage_may_be_let_go_by_an_admin_while_the_team_stays_paused(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(memory_enabled=False)
    with Factory(settings, models=ScriptedModels()) as factory:
        factory.switchboard.pause_team(HELD, by="ann", role="admin")
        report = factory.start(StartRequest(TODO, pipeline="full", out_dir=tmp_path / "out"))
        (hold,) = factory.pending(report.run_id)
        done = factory.answer(
            report.run_id,
            Decision(action="approve", text="go on", by="ann", role="admin"),
            interrupt_id=hold.interrupt_id,
        )
        assert done.status == "COMPLETED", done.reason
        assert factory.switchboard.controls.read().teams[HELD].by == "ann (admin)"
