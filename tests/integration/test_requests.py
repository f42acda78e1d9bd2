"""Requests for a person on real Postgres: expiry by the rule, the queue's order, alternatives."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from devfactory.api.run_routes import question
from devfactory.control.hitl import Decision, DecisionError
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.worker import Worker, sweep
from tests.fakes import ScriptedModels

TODO = "A REST API for a personal todo list"
MEDICAL = "A REST API to store patient medical records"  # the policy rates it HIGH


def policy_file(tmp_path: Path, *rules: dict[str, Any]) -> Path:
    """Write the packaged policy with ``rules`` first among its approval rules."""
    data = yaml.safe_load((files("devfactory.config") / "policy.yaml").read_text("utf-8"))
    data["approval_rules"] = [*rules, *data["approval_rules"]]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_an_expired_request_takes_its_rules_on_expiry_not_the_unattended_rule(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    rule = {"name": "review-fast", "action": "review", "deadline_s": 60, "on_expiry": "reject"}
    settings = pg_settings.with_overrides(
        review_required=True, policy_file=policy_file(tmp_path, rule)
    )  # pause_expiry_s stays 0: only the rule's deadline expires it
    with Factory(settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        Worker(factory).run(idle_exit_s=0)
        [waiting] = factory.pending(run_id)
        assert (waiting.pause.kind, waiting.pause.rule, waiting.pause.deadline_s) == (
            "review",
            "review-fast",
            60,
        )
        assert waiting.deadline is not None and waiting.paused_at is not None
        assert sweep(factory).expired == ()  # it has not waited long enough yet
        # it waits a minute more on the record, not on the clock: a loaded machine may
        # take longer than a short deadline between two steps of the test
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE devfactory_transitions SET at = at - interval '61 seconds'"
                " WHERE run_id = %s AND to_phase = 'PAUSED'",
                (run_id,),
            )
        assert factory.pending(run_id)[0].expired()  # EXPIRED, as the queue shows it
        assert sweep(factory).expired == (run_id,)
        Worker(factory).run(idle_exit_s=0)
        row = factory.get(run_id)
        # the rule rejects (the unattended review rule would have approved)
        assert row.status == "FAILED" and "review rejected" in row.reason, row.reason
        decisions = [e for e in factory.audit_events(run_id) if e.kind == "decision"]
        assert [d.actor for d in decisions] == ["policy:expiry (reviewer)"]
        assert "EXPIRED (rule review-fast: on_expiry reject)" in decisions[0].body


def test_the_queue_puts_priority_before_age_and_shows_each_requests_deadline(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(review_required=True, pause_expiry_s=3600)
    with Factory(settings, models=ScriptedModels()) as factory:
        high = factory.submit(
            StartRequest(MEDICAL, out_dir=tmp_path / "a")
        ).run_id  # governance-high: HIGH
        Worker(factory).run(idle_exit_s=0)
        review = factory.submit(
            StartRequest(TODO, out_dir=tmp_path / "b")
        ).run_id  # review: MEDIUM, newer
        Worker(factory).run(idle_exit_s=0)
        queue = factory.pending()
        assert [(p.run_id, p.pause.priority) for p in queue] == [
            (high, "HIGH"),
            (review, "MEDIUM"),
        ]
        shown = question(queue[0])  # what GET /pending returns for it
        assert (shown.priority, shown.rule, shown.expired) == ("HIGH", "governance-high", False)
        assert shown.deadline is not None and [a["id"] for a in shown.alternatives] == [
            "narrow_scope"
        ]
        assert shown.sources[:1] == ["requirement"] and shown.risk_factors


def test_an_answer_naming_an_alternative_not_offered_is_refused_before_the_run_moves(
    pg_settings: Settings, tmp_path: Path
) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(MEDICAL, out_dir=tmp_path / "out")).run_id
        Worker(factory).run(idle_exit_s=0)
        [waiting] = factory.pending(run_id)
        wrong = Decision(action="approve", by="al", role="approver", alternative="cheaper_model")
        with pytest.raises(DecisionError, match="offers no alternative 'cheaper_model'"):
            factory.answer(run_id, wrong, interrupt_id=waiting.interrupt_id, queue=True)
        assert factory.get(run_id).status == "PAUSED"
        narrowed = Decision(
            action="approve", text=TODO, by="al", role="approver", alternative="narrow_scope"
        )
        factory.answer(run_id, narrowed, interrupt_id=waiting.interrupt_id, queue=True)
        Worker(factory).run(idle_exit_s=0)
        row = factory.get(run_id)
        assert row.status == "COMPLETED", row.reason
        decisions = [e for e in factory.audit_events(run_id) if e.kind == "decision"]
        assert decisions[0].actor == "al (approver)" and "narrow_scope" in decisions[0].body
