"""Graph logic with a scripted model: stages, upstream hand-off, gate caps, halting."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphRecursionError

from devfactory.contracts import StageOutcome, StageRecord
from devfactory.graph import build_graph
from devfactory.graph.checkpoints import dumped
from devfactory.graph.context import Context
from devfactory.graph.stage.work import earlier_repairs
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good, good_report, report_with, run_graph

REQ = "A REST API for a personal todo list"


def run(pipeline: str, models: ScriptedModels, settings: Settings, **config: Any) -> dict:
    if not config:
        return run_graph(pipeline, models, settings, REQ)
    graph = build_graph(pipeline).compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "t"}, **config}
    graph.invoke(
        {"run_id": "t", "requirement": REQ, "pipeline": pipeline},
        cfg,
        context=Context(settings=settings, models=models),
        durability="sync",
    )
    return dumped(graph.get_state(cfg).values)  # as the run's readers read it


def test_mvp_passes_every_stage_and_hands_work_downstream(settings: Settings) -> None:
    models = ScriptedModels()
    state = run("mvp", models, settings)
    assert state["outcome"]["status"] == "COMPLETED"
    assert [r["outcome"] for r in state["stages"].values()] == ["PASSED"] * 5
    # solution-architecture drafted with business-analysis's verified facts and file in view
    sa_draft = next(
        c for c in models.chat.calls if c.team == "solution-architecture" and c.kind == "draft"
    )
    assert "Business Analysis checked the requirement" in sa_draft.prompt
    assert "analysis/requirements.md" in sa_draft.prompt
    assert REQ in sa_draft.prompt
    record = state["stages"]["backend-engineering"]
    assert record["attempts"] == 1
    assert record["usage"]["calls"] == 3  # two drafted files + one report
    assert record["usage"]["input_tokens"] == 300
    assert record["model"] == "scripted:fake"
    assert [a["path"] for a in record["result"]["artifacts"]] == [
        "src/backend/app.py",
        "src/backend/models.py",
    ]


def test_low_confidence_is_retried_exactly_to_the_cap_then_blocks(settings: Settings) -> None:
    low = report_with(lambda c: json.dumps(good_report(c.spec, confidence=0.2)))
    models = ScriptedModels(low)
    state = run("mvp", models, settings)
    ba = state["stages"]["business-analysis"]
    assert ba["outcome"] == "BLOCKED"
    assert ba["attempts"] == settings.generation.max_stage_attempts == 3
    assert models.chat.count("business-analysis", "report") == 3
    assert "gate failed 3 of 3 attempts" in ba["reason"]
    assert "below the team's threshold" in ba["reason"]
    # the retry prompt carried the gate's feedback
    second = [c for c in models.chat.calls if c.kind == "draft"][1]
    assert "The gate rejected your last attempt" in second.prompt
    # nothing downstream ran, and the run says why
    assert {r["outcome"] for t, r in state["stages"].items() if t != "business-analysis"} == {
        "SKIPPED"
    }
    assert {c.team for c in models.chat.calls} == {"governance", "business-analysis"}
    assert state["outcome"]["status"] == "FAILED"
    assert state["outcome"]["reason"].startswith("stage business-analysis BLOCKED")


def test_a_retry_that_fixes_the_problem_passes(settings: Settings) -> None:
    def improving(call: Call) -> str:
        if call.kind != "report":
            return always_good(call)
        return json.dumps(good_report(call.spec, confidence=0.3 if call.n == 0 else 0.9))

    models = ScriptedModels(improving)
    state = run("mvp", models, settings)
    assert state["outcome"]["status"] == "COMPLETED"
    assert all(r["attempts"] == 2 for r in state["stages"].values())


def test_a_stage_records_the_repairs_of_its_earlier_attempts_apart_from_its_last(
    settings: Settings,
) -> None:
    # the first report's confidence is written as a percentage (repaired, and under the
    # threshold: asked again); the second needs no repair
    def improving(call: Call) -> str:
        if call.kind != "report":
            return always_good(call)
        return json.dumps(good_report(call.spec, confidence=30 if call.n == 0 else 0.9))

    state = run("mvp", ScriptedModels(improving), settings)
    assert state["outcome"]["status"] == "COMPLETED"
    record = state["stages"]["business-analysis"]
    assert record["attempts"] == 2
    assert not any("[confidence]" in r for r in record["repairs"])
    [earlier] = [r for r in record["earlier_repairs"] if "[confidence]" in r]
    assert earlier.startswith("attempt 1: report: confidence 30 read as a percentage")


def test_a_fix_round_keeps_the_notes_of_the_round_that_built_the_code() -> None:
    # the build loop's choice of the code is noted in the round before the fix round
    team = "backend-engineering"
    built = StageRecord(
        team=team,
        outcome=StageOutcome.PASSED,
        repairs=["a.py: f: kept candidate 2"],
        earlier_repairs=["attempt 1: a.py: f: 0 behaviour test(s)"],
    )
    first: Any = {"fix_round": 1, "kept_stages": {team: built}}
    assert earlier_repairs(first, team) == [
        "before fix round 1: attempt 1: a.py: f: 0 behaviour test(s)",
        "before fix round 1: a.py: f: kept candidate 2",
    ]
    again = built.model_copy(
        update={"earlier_repairs": earlier_repairs(first, team), "repairs": ["a.py: redrawn"]}
    )
    second: Any = {"fix_round": 2, "kept_stages": {team: again}}
    assert earlier_repairs(second, team) == [
        "before fix round 1: attempt 1: a.py: f: 0 behaviour test(s)",
        "before fix round 1: a.py: f: kept candidate 2",
        "before fix round 2: a.py: redrawn",
    ]
    assert earlier_repairs({"kept_stages": {team: built}}, team) == []  # no fix round
    assert earlier_repairs({"fix_round": 1, "kept_stages": {}}, team) == []  # no record
    later: Any = {**first, "attempt": 1, "repairs": ["b"], "earlier_repairs": ["x"]}
    assert earlier_repairs(later, team) == ["x", "attempt 1: b"]  # within a round, as before


def test_malformed_reports_block_the_stage_not_the_run(settings: Settings) -> None:
    models = ScriptedModels(
        report_with(lambda c: "{not json" if c.team == "qa-engineering" else always_good(c))
    )
    state = run("mvp", models, settings.with_overrides(max_stage_attempts=1))
    qa = state["stages"]["qa-engineering"]
    assert qa["outcome"] == "BLOCKED"
    assert "not a valid TaskResult after 3 tries" in qa["reason"]
    assert models.chat.count("qa-engineering", "report") == 3  # 1 + max_parse_retries
    assert state["stages"]["documentation"]["outcome"] == "SKIPPED"
    assert state["outcome"]["status"] == "FAILED"


def test_full_pipeline_joins_parallel_branches_once(settings: Settings) -> None:
    models = ScriptedModels()
    state = run("full", models, settings)
    assert state["outcome"]["status"] == "COMPLETED"
    assert len(state["stages"]) == 17
    assert all(models.chat.count(t, "report") == 1 for t in state["stages"])
    feature = next(
        c for c in models.chat.calls if c.team == "feature-engineering" and c.kind == "draft"
    )
    for upstream in ("frontend/src/app.tsx", "src/backend/app.py", "db/schema.sql"):
        assert upstream in feature.prompt
    order = [c.team for c in models.chat.calls if c.kind == "report"]
    for team in ("frontend-engineering", "backend-engineering", "database-engineering"):
        assert order.index("api-design") < order.index(team) < order.index("feature-engineering")


def test_a_blocked_branch_stops_later_stages_but_not_running_siblings(settings: Settings) -> None:
    bad = report_with(
        lambda c: json.dumps(
            good_report(c.spec, confidence=0.1 if c.team == "backend-engineering" else 0.95)
        )
    )
    models = ScriptedModels(bad)
    state = run("full", models, settings.with_overrides(max_stage_attempts=1))
    outcomes = {t: r["outcome"] for t, r in state["stages"].items()}
    assert outcomes["backend-engineering"] == "BLOCKED"
    # siblings in the same superstep finish; nothing after it starts
    assert outcomes["frontend-engineering"] == outcomes["database-engineering"] == "PASSED"
    for later in (
        "feature-engineering",
        "devops-infrastructure",
        "qa-engineering",
        "sre-operations",
        "documentation",
    ):
        assert outcomes[later] == "SKIPPED"
        assert models.chat.count(later) == 0
    assert state["outcome"]["blocked"] == ["backend-engineering"]


def test_recursion_limit_is_enforced_at_the_cap(settings: Settings) -> None:
    with pytest.raises(GraphRecursionError):
        run("mvp", ScriptedModels(), settings, recursion_limit=4)


def test_unavailable_model_blocks_with_the_reason(settings: Settings) -> None:
    from devfactory.models.router import ModelUnavailableError

    class OnlyGovernance:
        """Serve the risk assessment, then nothing."""

        def __init__(self) -> None:
            self.scripted = ScriptedModels()
            self.served = 0

        def resolve(self, alias: str):
            self.served += 1
            if self.served > 1:
                raise ModelUnavailableError(f"no model can serve {alias!r}")
            return self.scripted.resolve(alias)

    state = run("mvp", OnlyGovernance(), settings)  # type: ignore[arg-type]
    ba = state["stages"]["business-analysis"]
    assert ba["outcome"] == "BLOCKED"
    assert "no model can serve 'factory/architect'" in ba["reason"]
