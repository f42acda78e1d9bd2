"""The run state's models survive the checkpointer's serializer as themselves."""

from __future__ import annotations

import json
from base64 import b64decode
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import CheckpointTuple, empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel, ValidationError

from devfactory.contracts import (
    MAX_ARTIFACT_CHARS,
    Artifact,
    ArtifactKind,
    CheckRun,
    Delivery,
    Escalation,
    FinalChecks,
    GateVerdict,
    Hop,
    Repository,
    RunOutcome,
    StageOutcome,
    StageRecord,
    Status,
    TaskResult,
    Usage,
)
from devfactory.control.budget import Caps, Spend, SpendEntry
from devfactory.control.hitl import Decision, DecisionRecord
from devfactory.control.policy import GovernanceRecord, Match, Risk, ScopeChange, Screen
from devfactory.graph.checkpoints import (
    STATE_MODELS,
    dumped,
    serializer,
    upgrade,
    upgrade_value,
    upgraded,
)
from devfactory.graph.state import RESET
from devfactory.software.plan import BuildPlan, FileRole, PlannedFile, SoftwareKind
from devfactory.software.proposed import RunFacts, StatedExample, digest_of
from devfactory.software.requirement import Function, RequirementFacts

RESULT = TaskResult(
    status=Status.COMPLETE,
    confidence=0.9,
    reasoning="done",
    artifacts=[Artifact(path="docs/a.md", kind=ArtifactKind.MARKDOWN, content="# A")],
)


class Stray(BaseModel):
    """A model the state never holds: importable, but not registered."""

    name: str


CHECK = CheckRun(name="tests", command="pytest -q", exit_code=0, passed=2)

HOP = Hop(
    asker="qa-engineering",
    target="api-design",
    question="Which status code?",
    outcome="cannot_answer",
    reason="api-design cannot answer: not in the spec",
    confidence=0.4,
    model="factory/fast",
)

SAMPLES: dict[type[BaseModel], BaseModel] = {
    Artifact: RESULT.artifacts[0],
    BuildPlan: BuildPlan(
        kind=SoftwareKind.LIBRARY,
        summary="a library",
        files=[
            PlannedFile(path="lib.py", role=FileRole.CODE, owner="backend-engineering", purpose="x")
        ],
    ),
    Caps: Caps(tokens=1000, cost_usd=0.5),
    CheckRun: CHECK,
    Escalation: Escalation(
        key="r0:qa-engineering:q1",
        asker="qa-engineering",
        target="api-design",
        question="Which status code?",
        attempt=1,
        outcome="escalated",
        hops=[HOP],
    ),
    GateVerdict: GateVerdict(reason="gate failed 3 of 3 attempts"),
    DecisionRecord: DecisionRecord.of(
        "governance",
        Decision(action="approve", by="alice", role="approver", caps=Caps(tokens=10)),
        ScopeChange(
            source="review feedback from bob",
            text="also export CSV",
            risk=Risk.MEDIUM,
            action="approve",
            reasons=["new data"],
            risk_factors=["exports data"],
        ),
    ),
    Repository: Repository(
        run_id="r1",
        source="/src/lib",
        local=True,
        base="main",
        base_commit="0" * 40,
        branch="devfactory/r1",
        folder="/runs/r1",
        paths=["lib.py"],
    ),
    Hop: HOP,
    GovernanceRecord: GovernanceRecord(
        risk=Risk.MEDIUM,
        action="notify",
        reasons=["stores personal data"],
        risk_factors=["personal data"],
        model_risk=Risk.LOW,
        model="factory/fast",
        confidence=0.8,
        screen=Screen(
            embedder="e",
            intents=(Match(intent="i", factor="f", level=Risk.LOW, probability=0.2, part="p"),),
        ),
    ),
    FinalChecks: FinalChecks(checks=[CHECK], score=1.0, criteria={"AC-1": "passed"}),
    Spend: Spend(input_tokens=3, output_tokens=4, calls=1, cost_usd=0.01),
    SpendEntry: SpendEntry(team="qa-engineering", model="embedded", calls=1, seconds=0.5),
    RunOutcome: RunOutcome.failed("stage qa BLOCKED", blocked=["qa-engineering"]),
    StageRecord: StageRecord(
        team="qa-engineering",
        outcome=StageOutcome.PASSED,
        result=RESULT,
        usage=Usage(input_tokens=3, output_tokens=4, calls=1),
        checks=[CHECK],
    ),
    TaskResult: RESULT,
    Usage: Usage(input_tokens=1, output_tokens=2, calls=1),
    RunFacts: RunFacts(
        digest=digest_of("A library named gauge with a function level."),
        facts=RequirementFacts(
            module="gauge",
            functions=(Function("level", "reading: int", "str", ("a function level",)),),
            sentences=("A library named gauge with a function level.",),
        ),
        examples=(StatedExample(call="level(3)", expected="'low'", quote="3 reads low"),),
        proposed=3,
        kept=2,
        notes=("dropped function spin: 'spin' not in the requirement",),
        calls=1,
    ),
}


def _round_trip(value: Any) -> Any:
    serde = serializer()
    return serde.loads_typed(serde.dumps_typed(value))


def test_every_state_model_has_a_sample() -> None:
    assert set(SAMPLES) == set(STATE_MODELS)


@pytest.mark.parametrize("model", STATE_MODELS, ids=lambda m: m.__name__)
def test_a_state_holding_a_model_gets_it_back_as_its_class(model: type[BaseModel]) -> None:
    sample = SAMPLES[model]
    state = {"value": sample, "keyed": {"a": sample}, "listed": [sample]}

    back = _round_trip(state)

    for value in (back["value"], back["keyed"]["a"], back["listed"][0]):
        assert type(value) is model
        assert value == sample


def test_a_model_nobody_registered_comes_back_as_a_dict() -> None:
    permissive = JsonPlusSerializer()
    assert type(permissive.loads_typed(permissive.dumps_typed(Stray(name="x")))) is Stray

    back = _round_trip({"value": Stray(name="x")})

    assert back["value"] == {"name": "x"}  # the allow-list is in force: no class imported


def test_the_enums_inside_a_model_come_back_as_enums(caplog: pytest.LogCaptureFixture) -> None:
    back = _round_trip({"record": SAMPLES[StageRecord]})["record"]

    assert not [r for r in caplog.records if "deserializ" in r.getMessage().lower()]

    assert back.outcome is StageOutcome.PASSED
    assert back.result.status is Status.COMPLETE


def test_a_file_rewritten_within_the_cap_comes_back_as_a_file() -> None:
    rewritten = RESULT.artifacts[0].with_content("x" * MAX_ARTIFACT_CHARS)

    back = _round_trip({"artifact": rewritten})["artifact"]

    assert isinstance(back, Artifact)
    assert (back.path, back.kind, len(back.content)) == ("docs/a.md", ArtifactKind.MARKDOWN, 12000)


def test_a_rewrite_past_the_cap_is_refused_where_it_is_made() -> None:
    """``model_copy`` would take it, and the checkpoint would read it back as a dict."""
    with pytest.raises(ValidationError, match="12000 characters"):
        RESULT.artifacts[0].with_content("x" * (MAX_ARTIFACT_CHARS + 1))


FIXTURE = Path(__file__).resolve().parents[1] / "data" / "checkpoint_40f3527.json"


def _stored(saved: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, Any]]]:
    """Return a stored checkpoint's channel values and pending writes, as the serializer reads."""
    serde = serializer()
    values = dict(saved["checkpoint"].get("channel_values") or {})
    for blob in saved["blobs"]:
        values[blob["channel"]] = serde.loads_typed((blob["type"], b64decode(blob["blob"] or "")))
    writes = [
        (w["task_id"], w["channel"], serde.loads_typed((w["type"], b64decode(w["blob"] or ""))))
        for w in saved["writes"]
    ]
    return values, writes


def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


@pytest.fixture
def paused_root() -> dict[str, Any]:
    return _stored(_fixture()["paused"]["root"])[0]


@pytest.fixture
def paused_stage() -> dict[str, Any]:
    return _stored(_fixture()["paused"]["stage"])[0]


@pytest.fixture
def completed() -> dict[str, Any]:
    return _stored(_fixture()["completed"]["root"])[0]


def test_the_fixture_is_a_real_run_of_the_earlier_version() -> None:
    doc = _fixture()
    assert doc["commit"] == "40f3527"
    values, writes = _stored(doc["paused"]["root"])
    assert values["phase"] == "IN_PROGRESS"  # paused inside a stage (the runs table says PAUSED)
    assert [channel for _, channel, _ in writes] == ["__interrupt__"]


def test_upgrade_keeps_every_key_and_reads_today_s_state_as_it_is(
    paused_root: dict[str, Any], paused_stage: dict[str, Any], completed: dict[str, Any]
) -> None:
    for values in (paused_root, paused_stage, completed):
        once = upgrade(values)
        assert set(once) == set(values)
        assert upgrade(once) == once


def test_a_checkpoint_read_back_has_its_values_and_pending_writes_upgraded(
    completed: dict[str, Any],
) -> None:
    record = completed["stages"]["documentation"]
    found = CheckpointTuple(
        config={"configurable": {"thread_id": "t"}},
        checkpoint={**empty_checkpoint(), "channel_values": dict(completed)},
        metadata={},
        parent_config=None,
        pending_writes=[("task", "stages", {"documentation": record}), ("task", "phase", "X")],
    )

    back = upgraded(found)

    assert back.checkpoint["channel_values"] == upgrade(completed)
    assert back.pending_writes == [
        ("task", "stages", upgrade_value("stages", {"documentation": record})),
        ("task", "phase", "X"),
    ]


def test_a_reset_of_a_keyed_value_keeps_its_mark() -> None:
    assert upgrade_value("stages", {RESET: True}) == {RESET: True}
    assert upgrade_value("phase", {RESET: True}) == {RESET: True}


def test_the_earlier_version_s_stage_records_are_read_as_records(completed: dict[str, Any]) -> None:
    stages = upgrade(completed)["stages"]

    assert list(stages) == [
        "business-analysis",
        "solution-architecture",
        "backend-engineering",
        "qa-engineering",
        "documentation",
    ]
    assert all(type(r) is StageRecord for r in stages.values())
    analysis = stages["business-analysis"]
    assert analysis.outcome is StageOutcome.PASSED and analysis.attempts == 4
    assert analysis.result is not None and analysis.result.artifacts
    earlier = completed["stages"]["business-analysis"]
    assert analysis.model_dump(mode="json") == {**earlier, "handed": [], "earlier_repairs": []}


def test_the_earlier_version_s_stage_state_is_read_as_models(paused_stage: dict[str, Any]) -> None:
    state = upgrade(paused_stage)

    assert type(state["candidate"]) is TaskResult
    assert state["candidate"].confidence == paused_stage["candidate"]["confidence"]
    assert type(state["verdict"]) is GateVerdict
    assert state["verdict"].reason == paused_stage["verdict"]["reason"]
    assert state["verdict"].reason.startswith("gate failed 3 of 3 attempts")


def test_a_cleared_escalation_of_the_earlier_version_is_none() -> None:
    assert upgrade({"escalation": {}}) == {"escalation": None}


def test_the_earlier_version_s_governance_is_read_as_a_record(completed: dict[str, Any]) -> None:
    governance = upgrade(completed)["governance"]

    assert type(governance) is GovernanceRecord
    assert governance.risk is Risk.LOW and governance.round == 1 and governance.screen is not None
    assert governance.model_dump(mode="json") == completed["governance"]


def test_the_earlier_version_s_outcome_and_plan_are_read_as_models(
    completed: dict[str, Any], paused_stage: dict[str, Any]
) -> None:
    state = upgrade(completed)

    assert type(state["outcome"]) is RunOutcome and state["outcome"].status == "COMPLETED"
    assert type(state["build_plan"]) is BuildPlan
    assert state["build_plan"].model_dump(mode="json") == completed["build_plan"]
    assert state["final_checks"] is None  # the run did not run its code
    assert paused_stage["build_plan"] == {} and upgrade(paused_stage)["build_plan"] is None


def test_the_earlier_version_s_caps_are_read_as_caps(completed: dict[str, Any]) -> None:
    state = upgrade(completed)

    assert state["budget"] == {"run": Caps(tokens=2000000, cost_usd=5.0), "project": Caps()}
    team_caps = state["stage_plan"]["team_caps"]
    assert set(team_caps) == set(completed["stages"])
    assert all(type(c) is Caps for c in team_caps.values())
    assert team_caps["documentation"].tokens == 181818


def test_an_earlier_version_s_repository_is_read_as_a_delivery() -> None:
    stored = {
        "run_id": "r1",
        "source": "https://example.org/lib.git",
        "local": False,
        "base": "main",
        "base_commit": "0" * 40,
        "branch": "devfactory/r1",
        "folder": "/runs/r1",
        "map": "lib/\n  core.py",
        "tests": ["tests/test_core.py"],
        "paths": ["lib/core.py", "tests/test_core.py"],
    }

    repository = upgrade({"repository": stored})["repository"]

    assert type(repository) is Repository and isinstance(repository, Delivery)
    assert repository.branch == "devfactory/r1" and repository.paths == stored["paths"]
    # what it did not record reads as unconfined, with no identity to hold the source to
    assert repository.model_dump() == stored | {"confined": False, "identity": ""}


def test_the_earlier_version_s_drafts_checks_and_usage_are_read_as_models(
    paused_stage: dict[str, Any],
) -> None:
    state = upgrade(paused_stage)

    assert [type(d) for d in state["drafts"]] == [Artifact] * len(paused_stage["drafts"])
    assert [d.path for d in state["drafts"]] == [d["path"] for d in paused_stage["drafts"]]
    assert state["checks"] == []
    assert type(state["usage"]) is Spend
    assert state["usage"].input_tokens == paused_stage["usage"]["input_tokens"] > 0


def test_the_earlier_version_s_spend_ledger_is_read_as_entries(completed: dict[str, Any]) -> None:
    ledger = upgrade(completed)["spend"]

    assert set(ledger) == set(completed["spend"])
    assert all(type(e) is SpendEntry for e in ledger.values())
    assert {e.team for e in ledger.values()} == {"governance", *completed["stages"]}
    assert [e.model_dump() for e in ledger.values()] == list(completed["spend"].values())


def test_the_earlier_version_s_decisions_are_read_as_records(completed: dict[str, Any]) -> None:
    decisions = upgrade(completed)["decisions"]

    assert set(decisions) == set(completed["decisions"])
    [record] = decisions.values()
    assert type(record) is DecisionRecord and record.kind == "blocked" and record.scope is None
    assert record.by == "alice" and record.action == "answer"
    assert dumped(decisions) == completed["decisions"]  # the ledger's JSON shape is kept


# A hop as the earlier version's broker kept it in the state: its dataclass's fields, as a dict.
EARLIER_HOP = {
    "asker": "backend-engineering",
    "target": "api-design",
    "question": "Which timestamp format?",
    "outcome": "answered",
    "answer": "UTC, ISO 8601",
    "reason": "",
    "confidence": 0.8,
    "model": "embedded",
}


def test_the_earlier_version_s_hops_are_read_as_hops() -> None:
    entry = {
        "asker": "backend-engineering",
        "target": "api-design",
        "question": "Which timestamp format?",
        "attempt": 1,
        "outcome": "escalated",
        "reason": "api-design could not answer",
        "hops": [EARLIER_HOP],
        "answered_by": "",
    }
    answered = {**entry, "key": "r0:backend-engineering:q1", "outcome": "answered_by_person"}
    earlier = {
        "clarifications": {"r0:backend-engineering:q1": answered},
        "escalation": {**entry, "key": "r0:backend-engineering:q1"},
    }

    state = upgrade(earlier)

    [kept] = state["clarifications"].values()
    assert [type(h) for h in kept["hops"]] == [Hop]
    assert kept["hops"][0].answer == "UTC, ISO 8601" and kept["hops"][0].confidence == 0.8
    assert kept["key"] == "r0:backend-engineering:q1"  # the person's answer keeps its key
    assert type(state["escalation"]) is Escalation
    assert state["escalation"].hops == [Hop.model_validate(EARLIER_HOP)]
    assert dumped(state) == earlier  # the ledger's JSON shape is kept
    assert upgrade(state) == state
