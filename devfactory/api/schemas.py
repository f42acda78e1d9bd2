"""The API's request and response bodies (Pydantic), with the examples OpenAPI shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from devfactory.control.budget import Caps
from devfactory.control.ceilings import MAX_ANSWER_CHARS, MAX_PROJECT_CHARS, MAX_REQUIREMENT_CHARS
from devfactory.control.hitl import DecisionAction
from devfactory.control.lifecycle import Transition
from devfactory.repos.repository import check_ref, check_source
from devfactory.runfiles import MAX_DEPTH
from devfactory.shown import name_problem
from devfactory.store.runs_table import RunRow

RUN_ID = "20261123-051244-f67a09"


def one_line_name(value: str) -> str:
    """Return a name given in a request, refusing (422) a control or invisible character."""
    problem = name_problem(value, "it")
    if problem is not None:
        raise ValueError(problem)
    return value


PlainName = Annotated[str, AfterValidator(one_line_name)]
"""A name a person gives (a project, a pipeline, a branch, an id, a filter): one line of text."""


def examples(*shown: dict[str, Any], extra: Literal["forbid"] | None = None) -> ConfigDict:
    """Return a model's config: ``shown`` are the examples OpenAPI shows; ``extra`` if given."""
    config = ConfigDict(json_schema_extra={"examples": list(shown)})
    if extra is not None:
        config["extra"] = extra
    return config


class RunRequest(BaseModel):
    """A run to queue for the workers."""

    model_config = examples(
        {
            "requirement": "A command-line tool that counts words in text files.",
            "pipeline": "mvp",
            "project": "tools",
            "budget_tokens": 200000,
        },
        extra="forbid",
    )

    requirement: str = Field(
        min_length=1, max_length=MAX_REQUIREMENT_CHARS, description="What to build."
    )
    pipeline: PlainName = Field(default="mvp", max_length=60, description="mvp, lean or full.")
    project: PlainName = Field(default="default", min_length=1, max_length=MAX_PROJECT_CHARS)
    budget_tokens: int | None = Field(default=None, ge=1, le=100_000_000)
    budget_cost_usd: float | None = Field(default=None, gt=0, le=100_000)
    unattended: bool | None = Field(
        default=None, description="Answer every pause by the policy's rules (default: setting)."
    )
    repo: str | None = Field(
        default=None,
        max_length=2000,
        description="Deliver into this existing repository (a URL git can reach, or a path "
        "under the repo_local_roots setting) on a new branch devfactory/<run-id>.",
    )
    base: PlainName | None = Field(
        default=None,
        max_length=200,
        description="The repository's branch to start from (default: its HEAD branch).",
    )

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str | None) -> str | None:
        return None if value is None else check_source(value)

    @field_validator("base")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        return None if value is None else check_ref(value)

    @model_validator(mode="after")
    def _base_needs_repo(self) -> RunRequest:
        if self.base is not None and self.repo is None:
            raise ValueError("base names a branch of repo; give repo too")
        return self


class RunSummary(BaseModel):
    """A run as listed."""

    model_config = examples(
        {
            "run_id": RUN_ID,
            "status": "QUEUED",
            "reason": "",
            "pipeline": "mvp",
            "project": "tools",
            "owner": "ann",
            "requirement": "A command-line tool that counts words in text files.",
            "created_at": "2026-11-23T05:12:44Z",
            "updated_at": "2026-11-23T05:12:44Z",
        }
    )

    run_id: str
    status: str = Field(description="The lifecycle phase, or QUEUED / INTERRUPTED.")
    reason: str
    pipeline: str
    project: str
    owner: str
    requirement: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RunRow) -> RunSummary:
        """Describe a run's row."""
        return cls(
            run_id=row.run_id,
            status=row.shown_status,
            reason=row.reason,
            pipeline=row.pipeline,
            project=row.project,
            owner=row.owner,
            requirement=row.requirement[:2000],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class RunPage(BaseModel):
    """One page of runs, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    runs: list[RunSummary]
    next_cursor: str | None = None


class PendingQuestion(BaseModel):
    """A question a paused run waits on, and who may answer it how."""

    model_config = examples(
        {
            "run_id": RUN_ID,
            "id": "2f6c0d0e9a8b4c1d",
            "kind": "governance",
            "title": "Risk HIGH: approval needed",
            "question": "Approve, reject or modify the requirement?",
            "team": None,
            "actions": ["approve", "reject", "modify"],
            "roles": ["approver", "admin"],
            "priority": "HIGH",
            "deadline": "2026-11-25T04:00:00+00:00",
            "expired": False,
            "rule": "governance-high",
            "alternatives": [
                {
                    "id": "narrow_scope",
                    "kind": "narrow_scope",
                    "title": "continue with a narrowed requirement",
                    "pros": ["leaves out what raised the risk"],
                    "cons": ["the run builds less than was asked"],
                    "estimated_cost_usd": 0.12,
                }
            ],
        }
    )

    run_id: str
    id: str = Field(description="The interrupt id: name it in an answer.")
    kind: str
    title: str
    question: str
    error_line: str = Field(
        default="",
        description="The question's line that says what went wrong (a traceback's error), "
        "shown first; empty where it holds none.",
    )
    team: str | None
    actions: list[str]
    roles: list[str]
    priority: str = Field(default="MEDIUM", description="LOW, MEDIUM, HIGH or CRITICAL.")
    deadline: datetime | None = Field(
        default=None, description="When the request expires and its rule's on_expiry applies."
    )
    expired: bool = False
    rule: str = Field(default="", description="The approval rule that decides it.")
    reasoning: str = Field(
        default="", description="Why the run asks, where the question does not say it already."
    )
    sources: list[str] = Field(default_factory=list, description="Stage records and files.")
    estimate: dict[str, Any] | None = Field(
        default=None, description="The estimated cost to finish (an estimate, with its basis)."
    )
    risk_factors: list[str] = Field(default_factory=list)
    confidence: float | None = None
    alternatives: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Other courses a person may pick: answer with their id as `alternative`.",
    )
    refused_alternatives: list[str] = Field(
        default_factory=list, description="Proposed alternatives the policy removed, and why."
    )


class RunDetail(RunSummary):
    """A run in full: its lifecycle, stages, usage and what it waits on."""

    out_dir: str
    transitions: list[Transition]
    stages: list[dict[str, Any]]
    usage: dict[str, Any]
    build: dict[str, Any] | None
    pending: list[PendingQuestion]
    trace_url: str | None = None  # its Langfuse trace, when tracing is configured


class Accepted(BaseModel):
    """The request was taken; the run goes on in a worker."""

    model_config = examples({"run_id": RUN_ID, "status": "QUEUED", "message": ""})

    run_id: str
    status: str
    message: str = ""


class AnswerRequest(BaseModel):
    """A person's answer to what a paused run waits on."""

    model_config = examples(
        {"action": "approve", "text": "", "id": "2f6c0d0e"},
        {"action": "answer", "text": "Use UTC timestamps.", "id": "9b1e44a7"},
        {"action": "approve", "caps": {"tokens": 400000}, "id": "51d0c3e2", "kind": "budget"},
        extra="forbid",
    )

    action: DecisionAction
    text: str = Field(default="", max_length=MAX_ANSWER_CHARS)
    id: PlainName = Field(
        min_length=6,
        max_length=64,
        description="The question's id (GET /pending), or an unambiguous prefix of 6+ characters.",
    )
    kind: PlainName | None = Field(
        default=None, max_length=40, description="The question's kind, checked when given."
    )
    caps: Caps | None = Field(default=None, description="New run caps (budget pauses only).")
    alternative: PlainName | None = Field(
        default=None,
        max_length=120,
        description="The id of one of the question's alternatives to take instead (with "
        "approve, or answer where the question takes no approve); narrow_scope takes the "
        "narrowed requirement as text.",
    )


class TeamSummary(BaseModel):
    """A team as listed."""

    slug: str
    name: str
    cluster: str
    description: str
    model: str
    may_ask: list[str]


class Health(BaseModel):
    """Liveness, or readiness with each check."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class ModelHealthOut(BaseModel):
    """A model's health merged over the processes that call it (``store/health_snapshots.py``)."""

    label: str
    breaker: Literal["closed", "open", "half_open"]
    standing: Literal["healthy", "degraded", "blocked"]
    score: float = Field(ge=0, le=1)
    calls: int
    errors: int
    timeouts: int
    failures: int = Field(description="Failed calls in a row now.")
    p50_ms: int | None = Field(description="Median latency of the recent calls.")
    retry_in_s: float | None = Field(description="While open: seconds until its trial call.")
    last_error: str
    processes: int = Field(description="Processes whose fresh snapshots were merged.")
    at: datetime


class ModelLinkOut(BaseModel):
    """One link of an alias's chain: where a call now tries it, its price and its health."""

    alias: str
    model: str
    available: bool
    usd_per_mtok: float = Field(description="The dearer of its input and output prices.")
    over_ceiling: bool = Field(description="Priced above the alias's ceiling: never used.")
    prefer: Literal["order", "cheapest"]
    order: int | None = Field(description="1 is tried first; None: not tried now.")
    health: ModelHealthOut | None = Field(description="None: no call recorded yet.")


class ModelsOut(BaseModel):
    """The model routing with each provider's health."""

    models_factory: str | None = Field(
        default=None, description="A models_factory serves every alias (no routing, no health)."
    )
    ollama: str
    models: list[ModelLinkOut]


class RunFile(BaseModel):
    """One regular file of a run's folder."""

    path: str = Field(description="Its path inside the run's folder, '/'-separated.")
    bytes: int = Field(description="Its size.")


class RunFilesLeftOut(BaseModel):
    """What a listing of a run's files did not list, counted: the files listed are not all."""

    deep_folders: int = Field(
        description=f"Folders deeper than {MAX_DEPTH} below the run's folder: never entered, "
        "so nothing in them is listed."
    )
    not_regular: int = Field(
        description="Links, FIFOs, sockets and devices: no files of the run, never served."
    )
    unsafe_names: int = Field(
        description="Files whose path holds a control or invisible character (a newline, a "
        "bidirectional control) or bytes that are not UTF-8: never served, so not listed."
    )


class RunFiles(BaseModel):
    """A run's regular files, and what the listing left out."""

    run_id: str
    files: list[RunFile]
    more: bool = Field(
        description="The walk stopped at the run_files_listed setting's entries: there are "
        "more than listed."
    )
    left_out: RunFilesLeftOut
