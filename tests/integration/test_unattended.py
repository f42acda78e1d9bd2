"""Unattended runs and project pre-approvals on real Postgres: kept, audited, applied."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from devfactory.control.budget import Caps
from devfactory.control.hitl import Decision, DecisionError
from devfactory.control.unattended import ACTOR
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import ScriptedModels, answer_pending

MEDICAL = "Store patient medical records for a clinic"


def test_only_an_approver_may_pre_approve_a_project_and_each_change_is_kept_and_audited(
    pg_settings: Settings, database_url: str
) -> None:
    with Factory(pg_settings) as factory:
        for by, role in (("bob", "operator"), ("carol", "reviewer"), (ACTOR, "approver")):
            with pytest.raises(DecisionError):
                factory.approve_project("clinic", by=by, role=role)
        assert factory.approvals.current("clinic") is None
        kept = factory.approve_project("clinic", by="alice", role="approver", note="DPO signed")
        assert factory.approvals.current("clinic") == kept
        assert factory.approvals.current("elsewhere") is None
        factory.approve_project("clinic", by="root", role="admin", revoke=True)
        assert factory.approvals.current("clinic") is None
        events = factory.audit.events("project:clinic")
        assert factory.audit.verify("project:clinic").ok
        # the factory's own role may add rows, never change them
        with factory.pool.connection() as conn, pytest.raises(psycopg.Error):
            conn.execute("UPDATE devfactory_project_approvals SET role = 'admin'")
    assert [(e.kind, e.actor, e.payload["action"]) for e in events] == [
        ("pre_approval", "alice (approver)", "approve"),
        ("pre_approval", "root (admin)", "revoke"),
    ]
    assert events[0].payload["note"] == "DPO signed"
    with psycopg.connect(database_url, autocommit=True) as owner:  # not even the owner
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            owner.execute("DELETE FROM devfactory_project_approvals")


@pytest.mark.parametrize("table", ["devfactory_project_approvals", "devfactory_project_caps"])
def test_the_project_tables_refuse_update_delete_and_truncate_even_to_their_owner(
    pg_settings: Settings, database_url: str, table: str
) -> None:
    with Factory(pg_settings) as factory:  # a row in each (row triggers need one)
        factory.approve_project("kept", by="alice", role="approver")
        factory.set_project_caps("kept", {"project": Caps(tokens=10)}, by="ann", role="admin")
    with psycopg.connect(database_url, autocommit=True) as owner:
        triggers = owner.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass ORDER BY tgname", (table,)
        ).fetchall()
        assert [name for (name,) in triggers] == [f"{table}_no_change", f"{table}_no_truncate"]
        for statement in (f"UPDATE {table} SET role = 'x'", f"DELETE FROM {table}"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                owner.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="TRUNCATE refused"):
            owner.execute(f"TRUNCATE {table}")


def test_a_pre_approved_projects_high_risk_run_completes_unattended_and_is_audited(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(review_required=True)
    with Factory(settings, models=ScriptedModels()) as factory:
        factory.approve_project("clinic", by="alice", role="approver", note="DPO signed")
        report = factory.start(
            StartRequest(MEDICAL, project="clinic", unattended=True, out_dir=tmp_path / "out")
        )
        steps = factory.transitions(report.run_id)
        events = factory.audit.events(report.run_id)
        verified = factory.audit.verify(report.run_id)
    assert report.status == "COMPLETED" and report.pending == ()
    assert report.shown.governance.risk == "HIGH"
    actors = {(t.from_phase.value, t.to_phase.value): t.actor for t in steps}
    assert actors[("GOVERNANCE_ANALYSIS", "APPROVED")] == ACTOR
    assert actors[("AWAITING_REVIEW", "COMPLETED")] == ACTOR
    assert "PAUSED" not in {t.to_phase.value for t in steps}
    assert "pre-approved for project clinic by alice (approver)" in steps[1].reason
    assert events[0].kind == "run_created" and events[0].payload["unattended"] is True
    decisions = [e for e in events if e.kind == "decision"]
    assert [(e.actor, e.payload["pause"], e.payload["action"]) for e in decisions] == [
        (ACTOR, "governance", "approve"),
        (ACTOR, "review", "approve"),
    ]
    assert verified.ok


def test_the_setting_makes_runs_unattended_and_high_risk_still_waits_for_an_approver(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(review_required=True, unattended=True)
    with Factory(settings, models=ScriptedModels()) as factory:
        paused = factory.start(StartRequest(MEDICAL, out_dir=tmp_path / "out"))
        assert paused.status == "PAUSED"
        [waiting] = paused.pending
        assert waiting.pause.kind == "governance"
        posing = Decision(action="approve", by=ACTOR, role="approver")
        with pytest.raises(DecisionError, match="the factory's own"):
            answer_pending(factory, paused.run_id, posing)
        alice = Decision(action="approve", text="consent on file", by="alice", role="approver")
        report = answer_pending(factory, paused.run_id, alice)
        steps = [
            (t.from_phase.value, t.to_phase.value, t.actor)
            for t in factory.transitions(paused.run_id)
        ]
    assert report.status == "COMPLETED" and report.shown.unattended is True
    assert ("PAUSED", "GOVERNANCE_ANALYSIS", "alice (approver)") in steps
    assert steps[-1] == ("AWAITING_REVIEW", "COMPLETED", ACTOR)
    assert [t[1] for t in steps].count("PAUSED") == 1  # only the governance pause
