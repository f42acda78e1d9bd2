"""Run events: one type per kind of thing that happens while a run is driven.

Graph nodes write them with LangGraph's stream writer (``graph/emit.py``); the
runner writes its own (a run started or finished, a person's decision). The
``RunRecorder`` maps each type to what records it (runs table, audit log,
artifacts), and consumers (the CLI's progress, the chat's run view, the audit
view, the Langfuse trace) dispatch on the type through a table of handlers.
Every table names every kind, a kind it leaves alone too (a handler that does
nothing, or a set of kinds shown as stored), so none is passed over unseen.
Adding a kind of event is adding a class here and to ``RunEvent``, then its
entry in each table: ``tests/unit/test_event_handlers.py`` names the tables
that lack it.

``model_dump()`` is the wire form: a flat JSON object whose ``event`` key names
the kind (the audit log stores it without that key, under ``kind``), and
``parse_event`` reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter

from devfactory.contracts import Escalation, StageRecord


class Event(BaseModel):
    """What every run event shares: frozen, and dumped by its wire names."""

    model_config = ConfigDict(frozen=True, extra="forbid", serialize_by_alias=True)

    event: str

    def body(self) -> dict[str, Any]:
        """Return the event as the audit log keeps it: the wire form without ``event``."""
        return self.model_dump(mode="json", exclude={"event"})


class RunCreated(Event):
    """A run was created: what it was asked to build, its caps, and whether anyone attends it."""

    event: Literal["run_created"] = "run_created"
    requirement: str
    pipeline: str
    project: str
    budget: dict[str, Any]
    unattended: bool = False  # its pauses are answered by the policy's rules
    # the repository it delivers into (source as shown, base, base_commit, branch); None: none
    repository: dict[str, str] | None = None


class RunStarted(Event):
    """A process began (or resumed) driving a run."""

    event: Literal["run_started"] = "run_started"
    run_id: str
    pipeline: str
    out_dir: str
    resumed: bool


class RunFinished(Event):
    """A drive ended: the run finished, or waits for a person."""

    event: Literal["run_finished"] = "run_finished"
    run_id: str
    status: str
    reason: str


class RunError(Event):
    """A drive stopped on an unexpected error (the run can be resumed)."""

    event: Literal["error"] = "error"
    run_id: str
    message: str


class PhaseChanged(Event):
    """The run moved between lifecycle phases.

    ``key`` makes a node's move idempotent across re-runs; moves the runner
    records itself (PAUSED and back) carry none.
    """

    event: Literal["transition"] = "transition"
    key: str = ""
    from_phase: str = Field(
        validation_alias=AliasChoices("from_phase", "from"), serialization_alias="from"
    )
    to_phase: str = Field(validation_alias=AliasChoices("to_phase", "to"), serialization_alias="to")
    actor: str = "factory"  # the audit log keeps it in its own column
    reason: str


class GovernanceAssessed(Event):
    """Governance rated the requirement and the policy decided what happens."""

    event: Literal["governance"] = "governance"
    risk: str
    action: str
    reasons: list[str]
    risk_factors: list[str]
    model_risk: str | None = None
    round: int
    model: str
    problem: str
    confidence: float | None = None


class Notice(Event):
    """A notification (MEDIUM risk) or a warning (a team over its soft cap)."""

    event: Literal["notice"] = "notice"
    kind: str
    team: str
    message: str


class StageStarted(Event):
    """A stage began an attempt."""

    event: Literal["stage_started"] = "stage_started"
    team: str
    model: str
    attempt: int
    because: list[str] = Field(default_factory=list)  # why it runs again: the gate's feedback


class StageFinished(Event):
    """A stage ended: passed, blocked or skipped, with its record."""

    event: Literal["stage_finished"] = "stage_finished"
    record: StageRecord


class Recalled(Event):
    """A stage recalled memories before its first attempt."""

    event: Literal["recalled"] = "recalled"
    team: str
    memories: int


class DraftSaved(Event):
    """The build loop kept a better version of a module, written to the run's folder at once.

    A run stopped in the middle of a stage (killed, out of time) still leaves
    its best version so far; the stage's end writes and commits its own.
    """

    event: Literal["draft_saved"] = "draft_saved"
    team: str
    path: str
    content: str
    written: int  # the units written so far
    units: int  # the module's units


class ClarificationRouted(Event, Escalation):
    """A team's question went to the broker: answered, or escalated to a person.

    Its fields are an escalation's (``contracts.Escalation``): the ledger's entry.
    """

    event: Literal["clarification"] = "clarification"


class FactsExtracted(Event):
    """mem0 extracted a passed stage's new facts (or said why it did not)."""

    event: Literal["facts"] = "facts"
    team: str
    added: list[str]
    model: str = ""
    problem: str = ""
    seconds: float | None = None


class DecisionRecorded(Event):
    """A person answered a pause (recorded before the run resumes), or a policy's rule did.

    A rule answers inside a node, with no interrupt: ``key`` (the node's task
    namespace and the rule, not part of the wire form) keeps it once in the
    audit log when the node runs again.
    """

    event: Literal["decision"] = "decision"
    key: str = Field(default="", exclude=True)
    pause: str
    team: str | None
    question: str
    interrupts: list[str]
    action: str
    text: str
    by: str
    role: str
    caps: dict[str, Any] | None
    at: str
    alternative: str | None = None  # the alternative a person (or an expiry rule) picked


class TaskResultRecorded(Event):
    """A finished stage's TaskResult, as the audit log keeps it."""

    event: Literal["task_result"] = "task_result"
    team: str
    outcome: str
    reason: str
    attempts: int
    result: dict[str, Any] | None


class UsageRecorded(Event):
    """What a finished stage's model calls used."""

    event: Literal["usage"] = "usage"
    team: str
    model: str
    input_tokens: int
    output_tokens: int
    calls: int
    cost_usd: float
    seconds: float


RunEvent = Annotated[
    RunCreated
    | RunStarted
    | RunFinished
    | RunError
    | PhaseChanged
    | GovernanceAssessed
    | Notice
    | StageStarted
    | StageFinished
    | Recalled
    | DraftSaved
    | ClarificationRouted
    | FactsExtracted
    | DecisionRecorded
    | TaskResultRecorded
    | UsageRecorded,
    Field(discriminator="event"),
]
_ADAPTER: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)
EVENT_TYPES: Final[tuple[type[Event], ...]] = get_args(get_args(RunEvent)[0])
"""Every kind of run event, in the order of ``RunEvent``."""


def parse_event(data: Mapping[str, Any]) -> Event:
    """Read an event from its wire form (raises ``pydantic.ValidationError``)."""
    event: Event = _ADAPTER.validate_python(dict(data))
    return event


def stage_records(record: StageRecord) -> tuple[TaskResultRecorded, UsageRecorded]:
    """Return what the audit log keeps of a finished stage: its result and its usage."""
    result = TaskResultRecorded(
        team=record.team,
        outcome=record.outcome.value,
        reason=record.reason,
        attempts=record.attempts,
        result=record.result.model_dump(mode="json") if record.result else None,
    )
    usage = UsageRecorded(
        team=record.team,
        model=record.model,
        **record.usage.model_dump(),
        cost_usd=record.cost_usd,
        seconds=record.seconds,
    )
    return result, usage
