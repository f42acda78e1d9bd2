"""Incidents on real Postgres: each trigger pauses its project and records; people decide."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devfactory.contracts import CheckRun, FinalChecks, StageOutcome, StageRecord, Usage
from devfactory.control.incidents import IncidentError, StageFact, Trigger
from devfactory.control.overrides import OperationsRefusedError
from devfactory.factory.facade import Factory
from devfactory.factory.incidents_file import project_folder
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.store.controls import HaltedError
from devfactory.store.incidents_table import Incident
from devfactory.store.lease import new_driver
from devfactory.store.runs_table import RunRow
from tests.fakes import Call, ScriptedModels, always_good

TODO = "A REST API for a personal todo list"


def seed(factory: Factory, project: str, fact: StageFact, n: int = 3) -> None:
    """Give ``project`` a history of ``n`` stages like ``fact``."""
    for i in range(n):
        factory.switchboard.incidents.add_stage(project, "seed", fact, key=f"{project}:seed:{i}")


def settings_for(pg_settings: Settings, **changes: object) -> Settings:
    return pg_settings.with_overrides(
        memory_enabled=False,
        incident_min_samples=2,
        incident_min_calls=1,  # these runs make a call or two a stage
        incident_baseline_calls=1,
        **changes,
    )


def only_open(factory: Factory, project: str) -> Incident:
    (incident,) = factory.switchboard.incidents.open_for(project)
    return incident


def test_a_budget_spike_pauses_the_project_halts_its_run_and_records_the_incident(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = settings_for(pg_settings)
    with Factory(settings, models=ScriptedModels()) as factory:
        ops = factory.switchboard
        seed(factory, "shop", StageFact(team="business-analysis", tokens=1, seconds=1.0, calls=1))
        # the person who started it is told why it stopped
        with pytest.raises(HaltedError, match="held by incident:1: budget_spike"):
            factory.start(
                StartRequest(TODO, project="shop", out_dir=tmp_path / "a", run_id="r-spike")
            )
        report = factory.report("r-spike")
        incident = only_open(factory, "shop")
        assert (incident.trigger, incident.run_id) == ("budget_spike", report.run_id)
        assert "business-analysis" in incident.summary and "median of its 3" in incident.summary
        assert incident.spend["since_last_gate"]["tokens"] > 0
        assert [a["kind"] for a in incident.last_actions][-1] == "usage"
        # the project is held: its run halted after that stage and waits in the queue
        assert ops.controls.read().projects["shop"].incident == incident.id
        row = factory.get(report.run_id)
        assert row.queued and row.status == "IN_PROGRESS"
        finished = [e for e in factory.feed.since(report.run_id) if e.kind == "stage_finished"]
        assert len(finished) == 1
        notices = [e.body for e in factory.feed.since(report.run_id) if e.kind == "notice"]
        assert any(n["kind"] == "incident" for n in notices)
        assert [e.kind for e in factory.audit.events("project:shop")] == ["incident"]
        assert "incident" in [e.kind for e in factory.audit_events(report.run_id)]
        written = (project_folder(settings, "shop") / "INCIDENTS.md").read_text()
        assert f"## Incident {incident.id}: budget_spike" in written
        assert "Spend since the last gate" in written
        # its new runs queue and are not claimed; other projects' runs are
        waiting = factory.submit(StartRequest(TODO, project="shop", out_dir=tmp_path / "b"))
        other = factory.submit(StartRequest(TODO, project="elsewhere", out_dir=tmp_path / "c"))
        claimed = factory.queue.claim(new_driver(), 60)
        assert claimed is not None and claimed.run_id == other.run_id
        assert factory.queue.claim(new_driver(), 60) is None
        assert waiting.queued

        with pytest.raises(OperationsRefusedError):
            factory.interventions.decide_incident(incident.id, "resume", by="olly", role="operator")
        decided = factory.interventions.decide_incident(
            incident.id, "resume", by="ann", role="admin", text="ok"
        )
        assert (decided.status, decided.decided_by) == ("resumed", "ann (admin)")
        assert "resume by ann (admin): ok" in decided.decision
        assert "shop" not in ops.controls.read().projects
        with pytest.raises(IncidentError, match="resumed already"):
            factory.interventions.decide_incident(incident.id, "close", by="ann", role="admin")
        # its runs go on: the workers may claim them again
        assert factory.queue.claim(new_driver(), 60) is not None
        assert [e.kind for e in factory.audit.events("project:shop")] == [
            "incident",
            "incident_decided",
        ]
        assert (
            "### Incident 1 resumed"
            in (project_folder(settings, "shop") / "INCIDENTS.md").read_text()
        )


def slow(call: Call) -> str:
    time.sleep(0.01)  # each call takes a measurable time
    return always_good(call)


def test_anomalous_model_latency_pauses_the_project_and_closing_resumes_it(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = settings_for(pg_settings)
    with Factory(settings, models=ScriptedModels(slow)) as factory:
        # a project whose calls took a microsecond each (and spent a lot: no spike)
        seed(
            factory,
            "fast",
            StageFact(team="business-analysis", tokens=10**9, seconds=1e-6, calls=1),
        )
        with pytest.raises(HaltedError, match="model_latency"):
            factory.start(
                StartRequest(TODO, project="fast", out_dir=tmp_path / "a", run_id="r-slow")
            )
        report = factory.report("r-slow")
        incident = only_open(factory, "fast")
        assert incident.trigger == "model_latency"
        assert factory.get(report.run_id).queued
        closed = factory.interventions.decide_incident(
            incident.id, "close", by="ann", role="admin", text="a slow host, fixed"
        )
        assert closed.status == "closed"
        assert factory.switchboard.controls.read().projects == {}
        assert factory.switchboard.list_incidents(status="closed")[0].id == incident.id


def queued_run(factory: Factory, project: str, tmp_path: Path) -> RunRow:
    return factory.submit(StartRequest(TODO, project=project, out_dir=tmp_path / project))


def test_anomalous_model_cost_pauses_the_project(pg_settings: Settings, tmp_path: Path) -> None:
    with Factory(settings_for(pg_settings), models=ScriptedModels()) as factory:
        seed(
            factory,
            "dear",
            StageFact(team="backend-engineering", tokens=100, cost_usd=0.01, seconds=10, calls=10),
        )
        row = queued_run(factory, "dear", tmp_path)
        record = StageRecord(
            team="backend-engineering",
            outcome=StageOutcome.PASSED,
            usage=Usage(input_tokens=50, output_tokens=50, calls=2),
            cost_usd=0.02,  # twice the usual stage, but ten times the usual call
            seconds=2.0,
        )
        factory.switchboard.watch(row).stage(record)
        incident = only_open(factory, "dear")
        assert incident.trigger == "model_cost" and incident.run_id == row.run_id
        assert incident.spend["since_last_gate"]["cost_usd"] == 0.02
        assert "dear" in factory.switchboard.controls.read().projects
        assert factory.queue.claim(new_driver(), 60) is None


def test_a_sandbox_violation_pauses_the_project_and_a_rollback_cancels_its_run(
    pg_settings: Settings, tmp_path: Path
) -> None:
    with Factory(settings_for(pg_settings), models=ScriptedModels()) as factory:
        row = queued_run(factory, "lab", tmp_path)
        bomb = CheckRun(
            name="smoke",
            command="python -m app",
            summary="killed by SIGKILL; processes limit reached in 1.2 s",
        )
        record = StageRecord(
            team="backend-engineering", outcome=StageOutcome.BLOCKED, checks=[bomb]
        )
        watch = factory.switchboard.watch(row)
        watch.stage(record)
        watch.stage(record)  # the same stage seen again opens nothing more
        incident = only_open(factory, "lab")
        assert incident.trigger == "sandbox_violation" and "fork bomb" in incident.summary
        assert "lab" in factory.switchboard.controls.read().projects
        rolled = factory.interventions.decide_incident(
            incident.id, "rollback", by="ann", role="admin", text="unsafe code"
        )
        assert rolled.status == "rolled_back"
        assert f"run {row.run_id} cancelled" in rolled.decision
        assert factory.get(row.run_id).status == "CANCELLED"
        assert "lab" not in factory.switchboard.controls.read().projects


def test_failing_tests_in_runs_in_a_row_pause_the_project(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = settings_for(pg_settings, incident_failing_runs=2)
    failed = FinalChecks(
        checks=[
            CheckRun(
                name="tests",
                command="pytest -q",
                exit_code=1,
                passed=3,
                failed=1,
                summary="exit 1; 3 passed, 1 failed",
            )
        ]
    )
    with Factory(settings, models=ScriptedModels()) as factory:
        first = factory.submit(StartRequest(TODO, project="red", out_dir=tmp_path / "1"))
        second = factory.submit(StartRequest(TODO, project="red", out_dir=tmp_path / "2"))
        factory.switchboard.watch(first).ended("FAILED", failed)
        assert factory.switchboard.incidents.open_for("red") == []  # one run is no streak
        factory.switchboard.watch(first).ended("FAILED", failed)  # the same run counts once
        assert factory.switchboard.incidents.open_for("red") == []
        factory.switchboard.watch(second).ended("FAILED", failed)
        incident = only_open(factory, "red")
        assert incident.trigger == "failing_tests" and "2 runs" in incident.summary
        assert "red" in factory.switchboard.controls.read().projects


def test_a_rollback_sends_a_run_at_its_review_back_with_revise(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = settings_for(pg_settings, review_required=True)
    with Factory(settings, models=ScriptedModels()) as factory:
        report = factory.start(StartRequest(TODO, project="rev", out_dir=tmp_path / "a"))
        assert [p.pause.kind for p in factory.pending(report.run_id)] == ["review"]
        row = factory.get(report.run_id)
        incident = factory.switchboard.open_incident(
            row, Trigger("budget_spike", "a spike at the end"), {}
        )
        assert incident is not None
        rolled = factory.interventions.decide_incident(
            incident.id, "rollback", by="ann", role="admin", text="too dear"
        )
        assert f"run {row.run_id} sent back with revise" in rolled.decision
        assert factory.pending(report.run_id) == []
        assert factory.get(report.run_id).queued  # the revision waits for a worker
        decisions = [e.payload for e in factory.audit_events(report.run_id) if e.kind == "decision"]
        assert (decisions[-1]["action"], decisions[-1]["by"]) == ("revise", "ann")
        assert "too dear" in decisions[-1]["text"]


def test_each_team_is_compared_with_its_own_stages_not_the_project_s_others(
    pg_settings: Settings, tmp_path: Path
) -> None:
    with Factory(settings_for(pg_settings), models=ScriptedModels()) as factory:
        # a team that always spends one token: business-analysis is not held to it
        seed(factory, "calm", StageFact(team="api-design", tokens=1, seconds=1.0, calls=1))
        report = factory.start(StartRequest(TODO, project="calm", out_dir=tmp_path / "a"))
        assert report.status == "COMPLETED"
        assert factory.switchboard.list_incidents() == []
        facts = factory.switchboard.incidents.recent_stages("calm", "business-analysis", 10)
        assert len(facts) == 1 and facts[0].tokens > 5
