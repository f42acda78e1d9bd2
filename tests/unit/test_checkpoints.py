"""The run state's models survive the checkpointer's serializer as themselves."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

from devfactory.contracts import (
    Artifact,
    ArtifactKind,
    CheckRun,
    FinalChecks,
    RunOutcome,
    StageOutcome,
    StageRecord,
    Status,
    TaskResult,
    Usage,
)
from devfactory.control.budget import Caps
from devfactory.graph.checkpoints import STATE_MODELS, serializer
from devfactory.software.plan import BuildPlan, FileRole, PlannedFile, SoftwareKind

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
    FinalChecks: FinalChecks(checks=[CHECK], score=1.0, criteria={"AC-1": "passed"}),
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


def test_the_enums_inside_a_model_come_back_as_enums() -> None:
    back = _round_trip({"record": SAMPLES[StageRecord]})["record"]

    assert back.outcome is StageOutcome.PASSED
    assert back.result.status is Status.COMPLETE
