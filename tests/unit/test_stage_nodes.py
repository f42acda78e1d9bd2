"""Stage nodes are top-level functions: each one runs alone, with a runtime and a setup."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from devfactory.contracts import Artifact, StageOutcome, TaskResult
from devfactory.events import Event, StageFinished
from devfactory.graph.checkpoints import upgrade
from devfactory.graph.context import Context
from devfactory.graph.stage import StageSetup
from devfactory.graph.stage.routes import gate
from devfactory.graph.stage.work import draft
from devfactory.settings import Settings
from devfactory.teams import load_teams
from tests.fakes import ScriptedModels, good_report, sample_content

TEAMS = load_teams()
BA = "business-analysis"


def runtime(settings: Settings, events: list[Event]) -> Runtime[Context]:
    context = Context(settings=settings, models=ScriptedModels())
    return Runtime(context=context, stream_writer=events.append)


def candidate(confidence: float) -> TaskResult:
    spec = TEAMS[BA]
    files = [
        Artifact(path=d.path, kind=d.kind, content=sample_content(spec, d.path))
        for d in spec.deliverables
    ]
    report = {**good_report(spec, confidence=confidence), "artifacts": files}
    return TaskResult.model_validate(report)


def test_the_gate_passes_a_good_report_and_tells_the_runner(settings: Settings) -> None:
    events: list[Event] = []
    setup = StageSetup.of(TEAMS[BA], needs=(), teams=TEAMS)
    state: Any = {"candidate": candidate(0.95), "attempt": 1, "stages": {}, "model": "m"}
    command = gate(state, runtime(settings, events), setup)
    assert command.goto == "retain"
    [finished] = events
    assert isinstance(finished, StageFinished)
    assert finished.record.outcome is StageOutcome.PASSED and finished.record.model == "m"
    assert command.update["stages"][BA].outcome == "PASSED"


def test_the_gate_sends_a_report_under_the_threshold_back_with_the_problem(
    settings: Settings,
) -> None:
    events: list[Event] = []
    setup = StageSetup.of(TEAMS[BA], needs=(), teams=TEAMS)
    state: Any = {"candidate": candidate(0.3), "attempt": 1, "stages": {}}
    command = gate(state, runtime(settings, events), setup)
    assert command.goto == "draft" and events == []
    assert "confidence 0.30 is below the team's threshold 0.65" in command.update["feedback"][0]
    assert command.update["history"][0].startswith("attempt 1: confidence 0.30")


def test_a_stage_after_one_that_did_not_pass_is_skipped_without_a_model_call(
    settings: Settings,
) -> None:
    events: list[Event] = []
    models = ScriptedModels()
    setup = StageSetup.of(TEAMS["solution-architecture"], needs=(BA,), teams=TEAMS)
    state: Any = upgrade({"stages": {BA: {"team": BA, "outcome": "BLOCKED"}}, "requirement": "r"})
    context = Context(settings=settings, models=models)
    command = draft(state, Runtime(context=context, stream_writer=events.append), setup)
    assert command.goto == "retain" and models.chat.calls == []
    [finished] = events
    assert isinstance(finished, StageFinished)
    assert finished.record.outcome is StageOutcome.SKIPPED
    assert finished.record.reason == f"not started: stage {BA} did not pass"
